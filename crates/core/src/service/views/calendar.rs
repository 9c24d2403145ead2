//! The executive calendar: reads trains, freezes and domains from the
//! store and lays them out with the app's view model.

use std::collections::HashMap;
use std::str::FromStr;

use chrono::{Duration, NaiveDate};
use chrono_tz::Tz;
use railyard_views::calendar::{
    build_month, CalendarMonth, DatedTrain, DomainKey, ExceptionNote, FreezeNote, TrainChip, YearMonth,
};

use super::plan::{self, Cutover, Known};
use crate::cadence::Window;
use crate::store::{self, freezes::Freeze, Db};
use crate::time::Instant;
use crate::train_kind::TrainKind;

/// The calendar of `month`, with `today` marked, for one domain or all.
pub async fn month(db: &Db, today: NaiveDate, month: YearMonth, domain: Option<&str>) -> anyhow::Result<CalendarMonth> {
    let (first, last) = month.grid();
    // Wider than the grid by a day on each side: a train's local date can differ from its UTC date.
    let from = Instant::from_utc((first - Duration::days(1)).and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
    let to = Instant::from_utc((last + Duration::days(2)).and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
    let mut conn = db.acquire().await?;
    let domains = store::domains::list(&mut conn).await?;
    if let Some(name) = domain.filter(|name| !domains.iter().any(|d| d.name == *name)) {
        anyhow::bail!(UnknownDomain(name.to_owned()));
    }
    let trains = store::trains::cutting_over_between(&mut conn, from, to, domain).await?;
    let freezes = store::freezes::list(&mut conn).await?;
    let break_glasses = store::approvals::break_glasses(&mut conn).await?;
    // Only definitions whose trains the scheduler has not all created up to `to` can project any.
    let unplanned = store::definitions::needing_plans(&mut conn, to).await?;
    drop(conn);
    let shown = |name: &str| domain.is_none_or(|d| d == name);
    let created = trains.iter().map(|t| (t.definition.clone(), t.cutover_at)).collect();
    let known = Known { definitions: &unplanned, domains: &domains, freezes: &freezes };
    let since_today = Instant::from_utc(today.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()).max(from);
    let projected = plan::projected(&known, &created, (since_today, to), shown);

    let domain_names: HashMap<&str, &str> = domains.iter().map(|d| (d.id.as_str(), d.name.as_str())).collect();
    let windows: Vec<(&Freeze, Option<&str>, Window)> = freezes
        .iter()
        .flat_map(|freeze| {
            let domain = freeze.domain_id.as_deref().and_then(|id| domain_names.get(id).copied());
            freeze.windows(from, to).into_iter().map(move |w| (freeze, domain, w))
        })
        .filter(|(_, freeze_domain, _)| freeze_domain.is_none_or(shown))
        .collect();

    let dated = trains
        .into_iter()
        .filter_map(|train| {
            let tz = Tz::from_str(&train.time_zone).ok()?;
            let local = train.cutover_at.to_utc().with_timezone(&tz);
            let day = local.date_naive();
            let frozen = windows.iter().any(|(_, domain, w)| {
                domain.is_none_or(|d| d == train.domain) && w.overlaps(train.cutover_at, train.cutover_at + 1)
            });
            (first..=last).contains(&day).then(|| DatedTrain {
                day,
                chip: TrainChip {
                    freeze_effect: String::new(),
                    own_time: local.format("%H:%M").to_string(),
                    zone_abbreviation: local.format("%Z").to_string(),
                    id: train.id.into(),
                    name: train.definition,
                    domain: train.domain,
                    colour: train.domain_colour,
                    state: train.state.to_string(),
                    cutover_at: train.cutover_at.ms(),
                    time_zone: train.time_zone,
                    frozen,
                    earlier: 0,
                    kind: train.kind,
                },
            })
        })
        .chain(projected.into_iter().filter_map(|cutover| projected_chip(cutover, &domains, (first, last))))
        .collect();

    let notes = windows
        .iter()
        .filter_map(|(freeze, domain, w)| {
            let tz = Tz::from_str(&freeze.time_zone).ok()?;
            let first_day = w.start.to_utc().with_timezone(&tz).date_naive();
            let last_day = (w.end - 1).to_utc().with_timezone(&tz).date_naive();
            (first_day <= last && last_day >= first).then(|| FreezeNote {
                name: freeze.name.clone(),
                domain: domain.map(str::to_owned),
                reason: freeze.reason.clone(),
                first_day: first_day.format("%Y-%m-%d").to_string(),
                last_day: last_day.format("%Y-%m-%d").to_string(),
            })
        })
        .collect();

    // Granted break-glass exceptions: deploys allowed through a freeze, from the second approval on.
    let exceptions = break_glasses
        .iter()
        .filter(|b| b.rejected_at.is_none() && shown(&b.domain))
        .filter_map(|b| {
            let start = b.second_approved_at?;
            let end = start + b.duration_ms;
            (start < to && end > from).then(|| ExceptionNote {
                domain: b.domain.clone(),
                reason: b.reason.clone(),
                first_day: start.to_utc().date_naive().format("%Y-%m-%d").to_string(),
                last_day: (end - 1).to_utc().date_naive().format("%Y-%m-%d").to_string(),
            })
        })
        .collect();

    let all_domains = domains.iter().map(|d| d.name.clone()).collect();
    let keys =
        domains.into_iter().filter(|d| shown(&d.name)).map(|d| DomainKey { name: d.name, colour: d.colour }).collect();
    Ok(CalendarMonth { all_domains, ..build_month(month, today, dated, notes, exceptions, keys) })
}

/// A projected cutover as a chip on its local day: no train to link to, the
/// state `projected`, and what the freeze in its way does to it.
fn projected_chip(
    cutover: Cutover,
    domains: &[store::domains::Domain],
    (first, last): (NaiveDate, NaiveDate),
) -> Option<DatedTrain> {
    let tz = Tz::from_str(&cutover.time_zone).ok()?;
    let local = cutover.cutover_at.to_utc().with_timezone(&tz);
    let day = local.date_naive();
    let colour = domains.iter().find(|d| d.name == cutover.domain).map(|d| d.colour.clone()).unwrap_or_default();
    (first..=last).contains(&day).then(|| DatedTrain {
        day,
        chip: TrainChip {
            id: String::new(),
            own_time: local.format("%H:%M").to_string(),
            zone_abbreviation: local.format("%Z").to_string(),
            name: cutover.definition,
            domain: cutover.domain,
            colour,
            state: "projected".to_owned(),
            cutover_at: cutover.cutover_at.ms(),
            time_zone: cutover.time_zone,
            frozen: cutover.freeze.is_some(),
            freeze_effect: cutover.freeze.map(|f| format!("{} by {}", f.effect.as_str(), f.name)).unwrap_or_default(),
            earlier: 0,
            kind: TrainKind::Regular,
        },
    })
}

/// A domain filter naming no domain.
#[derive(Debug, thiserror::Error)]
#[error("there is no domain \"{0}\"")]
pub struct UnknownDomain(pub String);
