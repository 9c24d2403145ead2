//! The stuck-train detector (Spinnaker calls them zombies): a train in a
//! running phase with nothing pending in the outbox — no effect, no timer —
//! and no change for longer than a threshold will not move by itself.
//! Held and suspended trains wait on people or freezes and are not stuck.

use std::time::Duration;

pub use crate::store::runs::{stuck as find, StuckTrain};
use crate::store::Db;

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
        let now = clock.instant();
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
                        since = %train.since.rfc3339(),
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
