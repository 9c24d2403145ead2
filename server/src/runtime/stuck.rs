//! The stuck-train detector (Spinnaker calls them zombies): a train in a
//! running phase with nothing pending in the outbox — no effect, no timer —
//! and no change for longer than a threshold will not move by itself.
//! Held and suspended trains wait on people or freezes and are not stuck.

use std::time::Duration;

use serde::Serialize;

use crate::store::{Conn, Db, DbError};
use crate::train_state::TrainState;

/// The phases in which a train should always have something pending.
const RUNNING: [TrainState; 7] = [
    TrainState::Planning,
    TrainState::Assembling,
    TrainState::Preflight,
    TrainState::Staging,
    TrainState::Canary,
    TrainState::Cutover,
    TrainState::Monitoring,
];

/// A train that is not moving.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct StuckTrain {
    pub train_id: String,
    pub state: String,
    /// When its engine state last changed.
    pub since: i64,
}

/// Trains running without anything pending and unchanged since `now - threshold`.
#[tracing::instrument(skip_all)]
pub async fn find(conn: &mut Conn, now: i64, threshold: Duration) -> Result<Vec<StuckTrain>, DbError> {
    let running = RUNNING.iter().map(|state| format!("'{}'", state.as_str())).collect::<Vec<_>>().join(", ");
    let threshold_ms = i64::try_from(threshold.as_millis()).unwrap_or(i64::MAX / 4);
    Ok(sqlx::query_as(&format!(
        "SELECT t.id AS train_id, t.state, r.updated_at AS since FROM trains t JOIN train_runs r ON r.train_id = t.id \
         WHERE t.state IN ({running}) AND r.updated_at <= $1 \
         AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.train_id = t.id AND o.status = 'pending') \
         ORDER BY r.updated_at"
    ))
    .bind(now.saturating_sub(threshold_ms))
    .fetch_all(conn)
    .await?)
}

/// Logs every stuck train each `interval` until `shutdown` (the count is
/// also exported by `/metrics` as `railyard_stuck_trains`).
pub async fn watch(
    db: Db,
    clock: std::sync::Arc<dyn crate::clock::Clock>,
    threshold: Duration,
    interval: Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let now = crate::time::to_ms(clock.now());
        let found = async {
            let mut conn = db.acquire().await?;
            find(&mut conn, now, threshold).await
        };
        match found.await {
            Ok(stuck) => {
                for train in stuck {
                    tracing::warn!(
                        train = %train.train_id,
                        state = %train.state,
                        since = %crate::time::rfc3339(train.since),
                        "train is stuck: running with no pending effect or timer"
                    );
                }
            }
            Err(error) => tracing::warn!(%error, "looking for stuck trains failed; will try again"),
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            break;
        }
    }
}
