//! The calendar feed (`/calendar.ics`): every train's cutover window and
//! every freeze in iCalendar, with stable UIDs so subscribed calendars update
//! an event instead of adding a second one.

use crate::auth::{Caller, Permission};
use crate::ics::{render, CalendarEvent};
use crate::service::{Ctx, ServiceError};
use crate::store;
use crate::train_kind::TrainKind;

const DAY_MS: i64 = 86_400_000;
/// The feed covers trains and freezes from this long ago …
const PAST_MS: i64 = 30 * DAY_MS;
/// … to this far ahead.
const AHEAD_MS: i64 = 180 * DAY_MS;

/// The feed for `asked` (a domain's name, or every domain), as `caller` may read it.
/// A token limited to one domain gets that domain's feed without asking.
pub async fn feed(ctx: Ctx<'_>, caller: &Caller, asked: Option<&str>) -> Result<String, ServiceError> {
    let only = caller.principal.limited_to().filter(|domains| domains.len() == 1).map(|domains| domains[0].clone());
    let domain = asked.filter(|d| !d.is_empty()).or(only.as_deref());
    caller.require(Permission::ReadFeed, domain)?;
    let now = ctx.now();
    let (from, to) = (now - PAST_MS, now + AHEAD_MS);
    let mut conn = ctx.db.acquire().await?;
    let domains = store::domains::list(&mut conn).await?;
    let domain_id = match domain {
        None => None,
        Some(name) => Some(
            domains
                .iter()
                .find(|d| d.name == name)
                .map(|d| d.id.clone())
                .ok_or_else(|| ServiceError::NotFound(format!("no domain is called \"{name}\"")))?,
        ),
    };
    let mut events: Vec<CalendarEvent> = store::trains::cutting_over_between(&mut conn, from, to, domain)
        .await?
        .into_iter()
        .map(|train| {
            let mark = if train.kind == TrainKind::Regular {
                String::new()
            } else {
                format!("{} ", train.kind.as_str().to_uppercase())
            };
            let mut description = format!("{} train of {}; state: {}", train.definition, train.domain, train.state);
            if !train.reason.is_empty() {
                description.push_str(&format!("\nreason: {}", train.reason));
            }
            CalendarEvent {
                uid: format!("train-{}@railyard", train.id),
                start: train.cutover_at.ms(),
                end: train.cutover_closes_at.ms(),
                summary: format!("{mark}{} cutover ({})", train.definition, train.domain),
                description,
                categories: vec![train.domain.clone(), "release train".into(), format!("{} train", train.kind)],
                cancelled: matches!(train.state.as_str(), "skipped" | "aborted"),
            }
        })
        .collect();
    for freeze in store::freezes::list(&mut conn).await? {
        if domain_id.is_some() && freeze.domain_id.is_some() && freeze.domain_id != domain_id {
            continue;
        }
        let scope = match &freeze.domain_id {
            None => "every domain".to_owned(),
            Some(id) => domains.iter().find(|d| &d.id == id).map(|d| d.name.clone()).unwrap_or_default(),
        };
        for window in freeze.windows(from, to) {
            events.push(CalendarEvent {
                // One UID per occurrence: a recurring freeze's windows are separate events.
                uid: format!("freeze-{}-{}@railyard", freeze.id, window.start.ms()),
                start: window.start.ms(),
                end: window.end.ms(),
                summary: format!("Freeze: {} ({scope})", freeze.name),
                description: freeze.reason.clone(),
                categories: vec!["freeze".into()],
                cancelled: false,
            });
        }
    }
    events.sort_by(|a, b| (a.start, &a.uid).cmp(&(b.start, &b.uid)));
    let name = match domain {
        Some(name) => format!("Railyard: {name}"),
        None => "Railyard release trains".to_owned(),
    };
    Ok(render(&name, &events, now))
}
