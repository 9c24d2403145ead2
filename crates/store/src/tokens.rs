//! API tokens for CI systems.

use super::instant::MaybeInstant;
use super::{Conn, DbError};
use railyard_domain::time::Instant;

/// A stored token (its secret is never stored, only its digest).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ApiToken {
    pub id: String,
    pub name: String,
    /// Space-separated scopes.
    pub scopes: String,
    /// Space-separated domain names; empty means every domain.
    pub domains: String,
    pub created_by: String,
    #[sqlx(try_from = "i64")]
    pub created_at: Instant,
    #[sqlx(try_from = "MaybeInstant")]
    pub expires_at: Option<Instant>,
    #[sqlx(try_from = "MaybeInstant")]
    pub revoked_at: Option<Instant>,
    #[sqlx(try_from = "MaybeInstant")]
    pub last_used_at: Option<Instant>,
}

const COLUMNS: &str = "id, name, scopes, domains, created_by, created_at, expires_at, revoked_at, last_used_at";

/// Stores a new token.
#[tracing::instrument(skip_all)]
pub async fn insert(conn: &mut Conn, token: &ApiToken, secret_hash: &str) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO api_tokens (id, name, secret_hash, scopes, domains, created_by, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&token.id)
    .bind(&token.name)
    .bind(secret_hash)
    .bind(&token.scopes)
    .bind(&token.domains)
    .bind(&token.created_by)
    .bind(token.created_at.ms())
    .bind(crate::instant::nullable(token.expires_at))
    .execute(conn)
    .await?;
    Ok(())
}

/// The token whose secret digests to `secret_hash`, if it is neither revoked nor expired at `now`.
#[tracing::instrument(skip_all)]
pub async fn live(conn: &mut Conn, secret_hash: &str, now: Instant) -> Result<Option<ApiToken>, DbError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM api_tokens WHERE secret_hash = $1 AND revoked_at IS NULL \
         AND (expires_at IS NULL OR expires_at > $2)"
    ))
    .bind(secret_hash)
    .bind(now.ms())
    .fetch_optional(conn)
    .await?)
}

/// Every token, newest first.
#[tracing::instrument(skip_all)]
pub async fn list(conn: &mut Conn) -> Result<Vec<ApiToken>, DbError> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM api_tokens ORDER BY created_at DESC, id DESC"))
        .fetch_all(conn)
        .await?)
}

/// The token with `id`, if any.
pub async fn by_id(conn: &mut Conn, id: &str) -> Result<Option<ApiToken>, DbError> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM api_tokens WHERE id = $1")).bind(id).fetch_optional(conn).await?)
}

/// Revokes a token; false when it was already revoked or does not exist.
#[tracing::instrument(skip_all)]
pub async fn revoke(conn: &mut Conn, id: &str, now: Instant) -> Result<bool, DbError> {
    let done = sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(now.ms())
        .bind(id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Records use of a token.
pub async fn touch(conn: &mut Conn, id: &str, now: Instant) -> Result<(), DbError> {
    sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2").bind(now.ms()).bind(id).execute(conn).await?;
    Ok(())
}
