//! Server-side browser sessions.

use super::{Conn, DbError};
use railyard_domain::time::Instant;

/// A stored session (its secret is never stored, only its digest).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Session {
    pub id: String,
    pub user_id: String,
    #[sqlx(try_from = "i64")]
    pub created_at: Instant,
    #[sqlx(try_from = "i64")]
    pub last_seen_at: Instant,
    #[sqlx(try_from = "i64")]
    pub expires_at: Instant,
    pub ip: String,
    pub user_agent: String,
}

/// The owner of a live session, found by the digest of its cookie.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LiveSession {
    pub id: String,
    pub user_id: String,
    pub user_name: String,
    #[sqlx(try_from = "i64")]
    pub last_seen_at: Instant,
    pub must_change_password: i64,
}

/// Stores a new session.
#[tracing::instrument(skip_all)]
pub async fn insert(conn: &mut Conn, session: &Session, secret_hash: &str) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO sessions (id, secret_hash, user_id, created_at, last_seen_at, expires_at, ip, user_agent) \
         VALUES ($1, $2, $3, $4, $4, $5, $6, $7)",
    )
    .bind(&session.id)
    .bind(secret_hash)
    .bind(&session.user_id)
    .bind(session.created_at.ms())
    .bind(session.expires_at.ms())
    .bind(&session.ip)
    .bind(&session.user_agent)
    .execute(conn)
    .await?;
    Ok(())
}

/// The session whose cookie digests to `secret_hash`, if it is still live at
/// `now` (not ended, not past its absolute expiry, used within `idle_ms`,
/// and its user not disabled).
#[tracing::instrument(skip_all)]
pub async fn live(
    conn: &mut Conn,
    secret_hash: &str,
    now: Instant,
    idle_ms: i64,
) -> Result<Option<LiveSession>, DbError> {
    Ok(sqlx::query_as(
        "SELECT s.id, s.user_id, u.name AS user_name, s.last_seen_at, u.must_change_password FROM sessions s \
         JOIN users u ON u.id = s.user_id \
         WHERE s.secret_hash = $1 AND s.ended_at IS NULL AND s.expires_at > $2 AND s.last_seen_at + $3 > $2 \
         AND u.disabled = 0",
    )
    .bind(secret_hash)
    .bind(now.ms())
    .bind(idle_ms)
    .fetch_optional(conn)
    .await?)
}

/// Records use of a session.
pub async fn touch(conn: &mut Conn, id: &str, now: Instant) -> Result<(), DbError> {
    sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2").bind(now.ms()).bind(id).execute(conn).await?;
    Ok(())
}

/// Ends one session of `user_id`; false when there was no such live session.
#[tracing::instrument(skip_all)]
pub async fn end(conn: &mut Conn, user_id: &str, id: &str, now: Instant) -> Result<bool, DbError> {
    let done = sqlx::query("UPDATE sessions SET ended_at = $1 WHERE id = $2 AND user_id = $3 AND ended_at IS NULL")
        .bind(now.ms())
        .bind(id)
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Ends every session of `user_id` except `keep`; returns how many ended.
#[tracing::instrument(skip_all)]
pub async fn end_all(conn: &mut Conn, user_id: &str, keep: Option<&str>, now: Instant) -> Result<u64, DbError> {
    let done = sqlx::query("UPDATE sessions SET ended_at = $1 WHERE user_id = $2 AND ended_at IS NULL AND id <> $3")
        .bind(now.ms())
        .bind(user_id)
        .bind(keep.unwrap_or(""))
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// The user's sessions that are still live at `now`, newest first.
#[tracing::instrument(skip_all)]
pub async fn of_user(conn: &mut Conn, user_id: &str, now: Instant, idle_ms: i64) -> Result<Vec<Session>, DbError> {
    Ok(sqlx::query_as(
        "SELECT id, user_id, created_at, last_seen_at, expires_at, ip, user_agent FROM sessions \
         WHERE user_id = $1 AND ended_at IS NULL AND expires_at > $2 AND last_seen_at + $3 > $2 \
         ORDER BY created_at DESC",
    )
    .bind(user_id)
    .bind(now.ms())
    .bind(idle_ms)
    .fetch_all(conn)
    .await?)
}
