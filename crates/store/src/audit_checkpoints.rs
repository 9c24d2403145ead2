//! Signed checkpoints of the audit log's head.

use super::{Conn, DbError};
use railyard_domain::time::Instant;

/// One checkpoint: record `count` carried `head`; `mac` signs both.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Checkpoint {
    pub count: i64,
    pub head: String,
    pub mac: String,
    #[sqlx(try_from = "i64")]
    pub at: Instant,
}

/// Stores a checkpoint (a second one for the same count is ignored).
#[tracing::instrument(skip_all)]
pub async fn record(conn: &mut Conn, checkpoint: &Checkpoint) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO audit_checkpoints (count, head, mac, at) VALUES ($1, $2, $3, $4) ON CONFLICT (count) DO NOTHING",
    )
    .bind(checkpoint.count)
    .bind(&checkpoint.head)
    .bind(&checkpoint.mac)
    .bind(checkpoint.at.ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// Every checkpoint, oldest first.
#[tracing::instrument(skip_all)]
pub async fn all(conn: &mut Conn) -> Result<Vec<Checkpoint>, DbError> {
    Ok(sqlx::query_as("SELECT count, head, mac, at FROM audit_checkpoints ORDER BY count").fetch_all(conn).await?)
}
