//! The demo fleet (`--demo`): the bundled trains-as-code file, applied
//! through the ordinary path. On a fresh store it is applied as of
//! [`HISTORY`] ago, so that [`crate::demo_history`] can replay its past.

use chrono::{DateTime, Duration, Utc};

use super::{apply, parse, ApplyError, ApplySummary};
use crate::demo_history::HISTORY;
use crate::scheduler::parse_cadence;
use crate::store::{self, Db};
use crate::time::Instant;
use crate::train_kind::TrainKind;

/// The bundled demo file.
pub const DEMO_FLEET: &str = include_str!("demo.toml");

/// What seeding did.
#[derive(Debug)]
pub struct Seeded {
    pub summary: ApplySummary,
    /// The store was empty: the demo's past is still to be replayed.
    pub fresh: bool,
}

/// Applies the demo fleet (as of [`HISTORY`] ago on a fresh store) and its
/// next rehearsal; running it again changes nothing.
pub async fn seed(db: &Db, now: DateTime<Utc>) -> Result<Seeded, ApplyError> {
    let fleet = parse("demo fleet", DEMO_FLEET).map_err(ApplyError::Invalid)?;
    let fresh = {
        let mut conn = db.acquire().await?;
        store::trains::count(&mut conn).await? == 0 && store::definitions::list(&mut conn).await?.is_empty()
    };
    let summary = apply(db, &fleet, if fresh { now - HISTORY } else { now }).await?;
    seed_rehearsals(db, now).await?;
    Ok(Seeded { summary, fresh })
}

/// The definition the demo rehearses, a day before its cutovers.
const REHEARSED: &str = "payments-weekly";

/// A rehearsal of the payments train the day before its next cutover
/// (scheduled: it runs on staging when its day comes; the past one is replayed).
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
    if let Some(cutover) = cadence.occurrences(now + Duration::days(2), now + Duration::days(10)).into_iter().next() {
        let cutover_at = Instant::from_utc(cutover) - day;
        let window = (cutover_at, cutover_at + definition.cutover_window_ms);
        let reason = "demo: game day ahead of the payments train (staging and canary analysis only)";
        let opens = cutover_at - hours(2);
        store::trains::insert_on_demand(&mut tx, &definition.id, TrainKind::Rehearsal, &[], reason, window, opens)
            .await?;
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
