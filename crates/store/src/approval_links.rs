//! Approval links: which candidate of which train each one decides, until
//! when, and whether it was used.

use super::instant::MaybeInstant;
use super::{Conn, DbError};
use railyard_domain::time::Instant;

/// A link handed out in a notification.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ApprovalLink {
    pub id: String,
    pub train_id: String,
    pub artifact_id: String,
    #[sqlx(try_from = "i64")]
    pub expires_at: Instant,
    #[sqlx(try_from = "i64")]
    pub created_at: Instant,
    #[sqlx(try_from = "MaybeInstant")]
    pub used_at: Option<Instant>,
    pub used_by: Option<String>,
}

/// Records a new link.
#[tracing::instrument(skip_all)]
pub async fn insert(conn: &mut Conn, link: &ApprovalLink) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO approval_links (id, train_id, artifact_id, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&link.id)
    .bind(&link.train_id)
    .bind(&link.artifact_id)
    .bind(link.expires_at.ms())
    .bind(link.created_at.ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// The link `id`, if any.
#[tracing::instrument(skip_all)]
pub async fn by_id(conn: &mut Conn, id: &str) -> Result<Option<ApprovalLink>, DbError> {
    Ok(sqlx::query_as(
        "SELECT id, train_id, artifact_id, expires_at, created_at, used_at, used_by FROM approval_links WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?)
}

/// Marks the link used by `by`; false when it already was (it can be used once).
#[tracing::instrument(skip_all)]
pub async fn use_once(conn: &mut Conn, id: &str, by: &str, now: Instant) -> Result<bool, DbError> {
    let done = sqlx::query("UPDATE approval_links SET used_at = $2, used_by = $3 WHERE id = $1 AND used_at IS NULL")
        .bind(id)
        .bind(now.ms())
        .bind(by)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}
