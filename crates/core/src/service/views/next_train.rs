//! "Which train can carry a change?": the first regular train of a domain,
//! real or projected, still taking candidates when a change is ready, with
//! its cutover in the viewer's zone and its own, and the freezes in the way.

use std::str::FromStr;

use chrono::{NaiveDate, TimeZone};
use chrono_tz::Tz;
use railyard_views::dashboard::{NextTrainAnswer, PlannedTrain};

use super::plan::{between, Cutover, MAX_DAYS};
use super::train_list::Audience;
use crate::cadence::{resolve_local, FreezeEffect};
use crate::service::{Ctx, ServiceError};
use crate::store::{self, definitions::Definition};
use crate::time::Instant;
use crate::train_kind::TrainKind;

/// "When is the next train that can carry a change of `domain` that is ready
/// on `ready_on` (`YYYY-MM-DD`)?", read in `zone` (the viewer's IANA zone, or
/// UTC). A change ready on a day is ready by its end; it boards the first
/// regular train, real or projected, still taking candidates then.
pub async fn next_train(
    ctx: Ctx<'_>,
    domain: &str,
    ready_on: &str,
    zone: Option<&str>,
) -> Result<NextTrainAnswer, ServiceError> {
    let now = ctx.now();
    let (viewer, day, ready_at) = ready(ready_on, zone, now)?;
    let until = now + MAX_DAYS * DAY_MS;
    let mut conn = ctx.db.acquire().await?;
    let domains = store::domains::list(&mut conn).await?;
    let Some(owner) = domains.iter().find(|d| d.name == domain) else {
        return Err(ServiceError::NotFound(format!("no domain is called \"{domain}\"")));
    };
    let definitions = store::definitions::list(&mut conn).await?;
    let freezes = store::freezes::list(&mut conn).await?;
    drop(conn);
    let cutovers = between(ctx, &Audience::Everyone, ready_at, until, Some(domain)).await?;
    let boards = |c: &Cutover| -> Option<(Instant, &Definition)> {
        let definition = definitions.iter().find(|d| d.name == c.definition)?;
        let closes = c.cutover_at - definition.preflight_ms;
        let open = c.train.as_ref().is_none_or(|t| t.kind == TrainKind::Regular && t.state.boarding());
        (open && closes >= ready_at).then_some((closes, definition))
    };
    let found = cutovers.iter().find_map(|c| boards(c).map(|(closes, definition)| (c, closes, definition)));
    let train = found.map(|(cutover, closes, definition)| {
        let own = Tz::from_str(&definition.time_zone).unwrap_or(Tz::UTC);
        PlannedTrain {
            definition: cutover.definition.clone(),
            train_id: cutover.train.as_ref().map(|t| t.id.to_string()),
            state: cutover.train.as_ref().map_or_else(|| "projected".to_owned(), |t| t.state.to_string()),
            cutover_viewer: in_words(cutover.cutover_at, viewer),
            cutover_own: in_words(cutover.cutover_at, own),
            boarding_closes: in_words(closes, viewer),
            freeze: cutover.freeze.as_ref().map(|hold| match hold.effect {
                FreezeEffect::Moved => {
                    format!("freeze \"{}\" moves this cutover to its end, {}", hold.name, in_words(hold.until, viewer))
                }
                FreezeEffect::Suspended => format!(
                    "freeze \"{}\" holds its production steps until {}",
                    hold.name,
                    in_words(hold.until, viewer)
                ),
            }),
        }
    });
    let last = found.map_or(until, |(cutover, _, _)| cutover.cutover_closes_at);
    let mut in_the_way: Vec<(Instant, String)> = freezes
        .iter()
        .filter(|f| f.domain_id.as_deref().is_none_or(|d| d == owner.id))
        .flat_map(|freeze| {
            freeze.windows(ready_at, last).into_iter().map(move |window| {
                (
                    window.start,
                    format!("{}: {} to {}", freeze.name, in_words(window.start, viewer), in_words(window.end, viewer)),
                )
            })
        })
        .collect();
    in_the_way.sort();
    Ok(NextTrainAnswer {
        domain: domain.to_owned(),
        ready: format!("by the end of {} ({})", day.format("%A %-d %B %Y"), viewer.name()),
        train,
        freezes: in_the_way.into_iter().map(|(_, words)| words).collect(),
    })
}

/// The viewer's zone, the day, and when a change ready that day is ready:
/// the end of the day in the zone (or now, for a day already past).
fn ready(ready_on: &str, zone: Option<&str>, now: Instant) -> Result<(Tz, NaiveDate, Instant), ServiceError> {
    let viewer = match zone.map(str::trim).filter(|z| !z.is_empty()) {
        None => Tz::UTC,
        Some(name) => Tz::from_str(name)
            .map_err(|_| ServiceError::Invalid(format!("\"{name}\" is not a time zone name like \"Europe/Berlin\"")))?,
    };
    let day = NaiveDate::parse_from_str(ready_on.trim(), "%Y-%m-%d").map_err(|_| {
        ServiceError::Invalid(format!("\"{ready_on}\" is not a day like 2027-03-15; pick the day the change is ready"))
    })?;
    let end_of_day = day.succ_opt().and_then(|next| next.and_hms_opt(0, 0, 0)).unwrap_or_default();
    let ready_at = Instant::from_utc(resolve_local(viewer, end_of_day)).max(now);
    if ready_at >= now + MAX_DAYS * DAY_MS {
        return Err(ServiceError::Invalid(format!(
            "{day} is more than {MAX_DAYS} days ahead; Railyard plans {MAX_DAYS} days ahead"
        )));
    }
    Ok((viewer, day, ready_at))
}

const DAY_MS: i64 = 86_400_000;

/// "Tue 12 Jan 2027 03:00 CET (Europe/Berlin)".
fn in_words(at: Instant, zone: Tz) -> String {
    let local = zone.from_utc_datetime(&at.to_utc().naive_utc());
    format!("{} ({})", local.format("%a %-d %b %Y %H:%M %Z"), zone.name())
}
