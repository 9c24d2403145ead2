//! The embed links handed out: listed and revoked one by one.

use super::instant::MaybeInstant;
use super::{Conn, DbError};
use railyard_domain::time::Instant;

/// One link as stored (never its token).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct EmbedLink {
    pub id: String,
    pub panel: String,
    /// JSON object of the panel's parameters.
    pub params: String,
    pub audience: String,
    pub created_by: String,
    #[sqlx(try_from = "i64")]
    pub created_at: Instant,
    #[sqlx(try_from = "i64")]
    pub expires_at: Instant,
    #[sqlx(try_from = "MaybeInstant")]
    pub revoked_at: Option<Instant>,
    pub revoked_by: String,
}

const COLUMNS: &str = "id, panel, params, audience, created_by, created_at, expires_at, revoked_at, revoked_by";

/// Records a new link.
#[tracing::instrument(skip_all)]
pub async fn insert(conn: &mut Conn, link: &EmbedLink) -> Result<(), DbError> {
    sqlx::query(&format!("INSERT INTO embed_links ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, '')"))
        .bind(&link.id)
        .bind(&link.panel)
        .bind(&link.params)
        .bind(&link.audience)
        .bind(&link.created_by)
        .bind(link.created_at.ms())
        .bind(link.expires_at.ms())
        .execute(conn)
        .await?;
    Ok(())
}

/// The link `id`, if any.
#[tracing::instrument(skip_all)]
pub async fn by_id(conn: &mut Conn, id: &str) -> Result<Option<EmbedLink>, DbError> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM embed_links WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await?)
}

/// Links created by `creator` (every link when `None`), newest first.
#[tracing::instrument(skip_all)]
pub async fn list(conn: &mut Conn, creator: Option<&str>) -> Result<Vec<EmbedLink>, DbError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM embed_links WHERE ($1 = '' OR created_by = $1) ORDER BY created_at DESC, id DESC"
    ))
    .bind(creator.unwrap_or(""))
    .fetch_all(conn)
    .await?)
}

/// Revokes link `id`; false if it was already revoked or does not exist.
#[tracing::instrument(skip_all)]
pub async fn revoke(conn: &mut Conn, id: &str, by: &str, now: Instant) -> Result<bool, DbError> {
    let done =
        sqlx::query("UPDATE embed_links SET revoked_at = $2, revoked_by = $3 WHERE id = $1 AND revoked_at IS NULL")
            .bind(id)
            .bind(now.ms())
            .bind(by)
            .execute(conn)
            .await?;
    Ok(done.rows_affected() == 1)
}
