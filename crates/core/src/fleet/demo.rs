//! The demo fleet (`--demo`): the bundled trains-as-code file, applied
//! through the ordinary path, plus a few weeks of simulated past trains so
//! the calendar is not empty. The history is labelled as demo data.

use chrono::{DateTime, Duration, Utc};

use super::{apply, parse, ApplyError, ApplySummary};
use crate::scheduler::parse_cadence;
use crate::store::{self, trains::NewTrain, trains::Transition, Db};
use crate::time::Instant;
use crate::train_kind::TrainKind;
use crate::train_state::TrainState;

/// The bundled demo file.
pub const DEMO_FLEET: &str = include_str!("demo.toml");

/// How far back the simulated history goes.
const HISTORY: Duration = Duration::days(42);

/// Applies the demo fleet and its history; running it again changes nothing.
pub async fn seed(db: &Db, now: DateTime<Utc>) -> Result<ApplySummary, ApplyError> {
    let fleet = parse("demo fleet", DEMO_FLEET).map_err(ApplyError::Invalid)?;
    let summary = apply(db, &fleet, now).await?;
    seed_history(db).await?;
    seed_rehearsals(db, now).await?;
    Ok(summary)
}

/// The definition the demo rehearses, a day before its cutovers.
const REHEARSED: &str = "payments-weekly";

/// A rehearsal of the payments train the day before its last cutover (done)
/// and before its next one (scheduled: it runs on staging when its day comes).
async fn seed_rehearsals(db: &Db, now: DateTime<Utc>) -> Result<(), ApplyError> {
    let mut tx = db.begin().await?;
    let Some(definition) = store::definitions::by_name(&mut tx, REHEARSED).await? else { return Ok(()) };
    let existing = store::trains::rehearsal_count(&mut tx, &definition.id).await?;
    let Ok(cadence) = parse_cadence(&definition) else { return Ok(()) };
    if existing > 0 {
        return Ok(());
    }
    let day = Duration::days(1).num_milliseconds();
    let hours = |n: i64| Duration::hours(n).num_milliseconds();
    let last = cadence.occurrences(now - Duration::days(8), now).into_iter().last();
    let next = cadence.occurrences(now + Duration::days(2), now + Duration::days(10)).into_iter().next();
    for (cutover, done) in [(last, true), (next, false)] {
        let Some(cutover) = cutover else { continue };
        let cutover_at = Instant::from_utc(cutover) - day;
        let window = (cutover_at, cutover_at + definition.cutover_window_ms);
        let reason = "demo: game day ahead of the payments train (staging and canary analysis only)";
        let opens = cutover_at - hours(2);
        let id =
            store::trains::insert_on_demand(&mut tx, &definition.id, TrainKind::Rehearsal, &[], reason, window, opens)
                .await?;
        if done {
            let steps = [
                (TrainState::Scheduled, TrainState::Planning, opens, "scheduler", "rehearsal opened"),
                (TrainState::Planning, TrainState::Completed, window.1, "demo", "demo history: rehearsed on staging"),
            ];
            for (from, to, at, actor, reason) in steps {
                store::trains::transition(&mut tx, &id, Transition { from, to, at, actor, reason }).await?;
            }
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Past trains of every definition, from `HISTORY` before it became active:
/// mostly completed, with the occasional rollback to make the calendar honest.
async fn seed_history(db: &Db) -> Result<(), ApplyError> {
    let definitions = {
        let mut conn = db.acquire().await?;
        store::definitions::list(&mut conn).await?
    };
    let freezes = {
        let mut conn = db.acquire().await?;
        store::freezes::list(&mut conn).await?
    };
    let mut tx = db.begin().await?;
    for definition in definitions {
        let Ok(cadence) = parse_cadence(&definition) else { continue };
        let active_from = definition.active_from.to_utc();
        let past = cadence.occurrences(active_from - HISTORY, active_from);
        for (index, cutover) in past.into_iter().enumerate() {
            let cutover_at = Instant::from_utc(cutover);
            let closes = cutover_at + definition.cutover_window_ms;
            if closes > definition.active_from {
                continue;
            }
            let train = NewTrain {
                definition_id: definition.id.clone(),
                state: TrainState::Scheduled,
                planning_opens_at: cutover_at - definition.planning_window_ms,
                cutover_at,
                cutover_closes_at: closes,
            };
            let Some(id) = store::trains::insert_if_absent(&mut tx, &train, definition.active_from).await? else {
                continue;
            };
            let freeze = freezes.iter().find(|f| f.holds(&definition.domain_id, cutover_at));
            let (outcome, reason) = match freeze {
                Some(freeze) => {
                    (TrainState::Skipped, format!("demo history: cutover fell in the {} freeze", freeze.name))
                }
                None if (index + definition.name.len()) % 5 == 3 => {
                    (TrainState::RolledBack, "demo history: simulated rollback".to_owned())
                }
                None => (TrainState::Completed, "demo history: simulated outcome".to_owned()),
            };
            let opened = (
                TrainState::Scheduled,
                TrainState::Planning,
                train.planning_opens_at,
                "scheduler",
                "planning window opened",
            );
            let steps = [opened, (TrainState::Planning, outcome, closes, "demo", reason.as_str())];
            for (from, to, at, actor, reason) in steps {
                store::trains::transition(&mut tx, &id, Transition { from, to, at, actor, reason }).await?;
            }
        }
    }
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_file_is_valid() {
        let fleet = parse("demo fleet", DEMO_FLEET).expect("demo file parses");
        assert_eq!(fleet.domains.len(), 4);
        assert_eq!(fleet.services.len(), 12);
        assert!(fleet.freezes.len() >= 2);
        let payments = fleet.trains.iter().find(|t| t.name == REHEARSED).expect("the rehearsed train");
        assert_eq!(payments.groups.len(), 1, "the demo shows an atomic group");
    }
}
