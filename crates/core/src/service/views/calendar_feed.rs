//! The calendar feed (`/calendar.ics`): every train's cutover window, each
//! definition's cutovers beyond them as one recurring event that calendar apps
//! expand themselves (freezes applied), and every freeze, with stable UIDs so
//! subscribed calendars update an event instead of adding a second one.

use std::collections::{BTreeMap, BTreeSet};

use super::plan::{self, Cutover, Known};
use crate::auth::{Caller, Permission};
use crate::cadence::{FreezeEffect, IcalTime};
use crate::ics::{render, CalendarEvent, ChangedOccurrence, RecurringEvent};
use crate::scheduler;
use crate::service::{Ctx, ServiceError};
use crate::store::{self, definitions::Definition};
use crate::time::Instant;
use crate::train_kind::TrainKind;

const DAY_MS: i64 = 86_400_000;
/// The feed covers trains and freezes from this long ago …
pub const PAST_MS: i64 = 30 * DAY_MS;
/// … to as far ahead as a plan reaches (recurring events end there; each fetch moves it on).
pub const AHEAD_MS: i64 = plan::MAX_DAYS * DAY_MS;

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
    let trains = store::trains::cutting_over_between(&mut conn, from, to, domain).await?;
    let definitions = store::definitions::list(&mut conn).await?;
    let freezes = store::freezes::list(&mut conn).await?;
    let created: BTreeSet<(String, Instant)> = trains.iter().map(|t| (t.definition.clone(), t.cutover_at)).collect();
    let known = Known { definitions: &definitions, domains: &domains, freezes: &freezes };
    let projected = plan::projected(&known, &created, (now, to), |name| domain.is_none_or(|d| d == name));
    let recurring = recurring_events(&definitions, projected);
    let mut events: Vec<CalendarEvent> = trains
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
    Ok(render(&name, &events, &recurring, now))
}

/// One recurring event per definition holding its projected cutovers, with a
/// changed occurrence for each one a freeze moves or suspends.
fn recurring_events(definitions: &[Definition], projected: Vec<Cutover>) -> Vec<RecurringEvent> {
    let mut by_definition: BTreeMap<String, Vec<Cutover>> = BTreeMap::new();
    for cutover in projected {
        by_definition.entry(cutover.definition.clone()).or_default().push(cutover);
    }
    let mut found = Vec::new();
    for definition in definitions {
        let Some(cutovers) = by_definition.get(&definition.name) else { continue };
        let Ok(cadence) = scheduler::parse_cadence(definition) else { continue };
        let wanted: Vec<_> = cutovers.iter().map(|c| c.cutover_at.to_utc()).collect();
        let Some(recurrence) = cadence.ical(&wanted) else { continue };
        let domain = cutovers.first().map(|c| c.domain.clone()).unwrap_or_default();
        let summary = format!("{} cutover ({domain}), projected", definition.name);
        let description = format!(
            "Projected from {}'s cadence ({} in {}): no train exists yet; the scheduler creates each one \
             ahead of its cutover, and it then appears as its own event.",
            definition.name, definition.cadence, definition.time_zone
        );
        let mut changed: Vec<ChangedOccurrence> = cutovers
            .iter()
            .filter_map(|cutover| {
                let hold = cutover.freeze.as_ref()?;
                let (start, what) = match hold.effect {
                    FreezeEffect::Moved => (hold.until, "moved to the end of"),
                    FreezeEffect::Suspended => (cutover.cutover_at, "suspended by"),
                };
                Some(ChangedOccurrence {
                    original: cadence.ical_time(&recurrence, cutover.cutover_at.to_utc()),
                    start: start.ms(),
                    end: (start + definition.cutover_window_ms).ms(),
                    summary: format!("{summary}: {what} freeze {}", hold.name),
                    description: format!(
                        "Freeze \"{}\" until {}: the cutover is {} the freeze.",
                        hold.name,
                        hold.until.rfc3339(),
                        what
                    ),
                })
            })
            .collect();
        // A wall-clock time that a clock change skips or repeats is given as the instant meant.
        for (local, at) in &recurrence.pinned {
            let original = IcalTime::Local(*local);
            if changed.iter().all(|c| c.original != original) {
                let start = Instant::from_utc(*at);
                changed.push(ChangedOccurrence {
                    original,
                    start: start.ms(),
                    end: (start + definition.cutover_window_ms).ms(),
                    summary: summary.clone(),
                    description: description.clone(),
                });
            }
        }
        found.push(RecurringEvent {
            uid: format!("cadence-{}@railyard", definition.id),
            zone: definition.time_zone.clone(),
            recurrence,
            duration_ms: definition.cutover_window_ms,
            summary,
            description,
            categories: vec![domain, "release train".into(), "projected".into()],
            changed,
        });
    }
    found
}
