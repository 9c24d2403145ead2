//! Periodic checkpoints: the head's count and hash written to the log output,
//! so a copy kept outside the database can later prove nothing was rewritten
//! (`railyard audit verify --head COUNT:HASH`).

use std::time::Duration;

use tokio::sync::watch;

use crate::store::{self, Db};

/// Logs a checkpoint now and then every `interval` until `stop` turns true.
pub async fn run(db: Db, interval: Duration, mut stop: watch::Receiver<bool>) {
    let mut last = None;
    loop {
        match head(&db).await {
            Ok(head) if last.as_ref() != Some(&head) => {
                tracing::info!(target: "railyard::audit", count = head.0, head = %head.1, "audit checkpoint");
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

async fn head(db: &Db) -> Result<(i64, String), store::DbError> {
    let mut conn = db.acquire().await?;
    store::audit::head(&mut conn).await
}
