//! Periodic checkpoints: the head's count and hash written to the log output,
//! so a copy kept outside the database can later prove nothing was rewritten
//! (`railyard audit verify --head COUNT:HASH`); with the audit key they are
//! also signed and stored, and every verification checks them.

use railyard_domain::time::Instant;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::clock::Clock;
use crate::store::{self, audit_checkpoints::Checkpoint, Db};

/// Logs (and with `key`, signs and stores) a checkpoint now and then every
/// `interval` until `stop` turns true.
pub async fn run(
    db: Db,
    clock: Arc<dyn Clock>,
    interval: Duration,
    key: Option<Arc<[u8]>>,
    mut stop: watch::Receiver<bool>,
) {
    let mut last = None;
    loop {
        match head(&db).await {
            Ok(head) if last.as_ref() != Some(&head) => {
                tracing::info!(target: "railyard::audit", count = head.0, head = %head.1, "audit checkpoint");
                if let Some(key) = &key {
                    if let Err(error) = signed(&db, key, &head, clock.instant()).await {
                        tracing::warn!(error = format!("{error:#}"), "cannot store the signed audit checkpoint");
                    }
                }
                last = Some(head);
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(error = format!("{error:#}"), "cannot read the audit head for a checkpoint"),
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Signs and stores a checkpoint of `head` (nothing for an empty log).
pub async fn signed(db: &Db, key: &[u8], (count, head): &(i64, String), now: Instant) -> Result<(), store::DbError> {
    if *count == 0 {
        return Ok(());
    }
    let checkpoint =
        Checkpoint { count: *count, head: head.clone(), mac: super::keyed::sign(key, *count, head), at: now };
    let mut conn = db.acquire().await?;
    store::audit_checkpoints::record(&mut conn, &checkpoint).await
}

async fn head(db: &Db) -> Result<(i64, String), store::DbError> {
    let mut conn = db.acquire().await?;
    store::audit::head(&mut conn).await
}
