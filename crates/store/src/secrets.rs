//! Server-wide keys and the embed origin allow-list.

use super::{Conn, DbError};
use railyard_domain::time::Instant;

/// The key called `name`, created from `fresh` on first use (later calls
/// only read). Every replica ends up with the same value: the first insert
/// wins, the rest read it.
#[tracing::instrument(skip_all)]
pub async fn key(conn: &mut Conn, name: &str, fresh: &str, now: Instant) -> Result<String, DbError> {
    let stored: Option<String> = sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut *conn)
        .await?;
    if let Some(value) = stored {
        return Ok(value);
    }
    sqlx::query(
        "INSERT INTO server_secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(fresh)
    .bind(now.ms())
    .execute(&mut *conn)
    .await?;
    Ok(sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = $1").bind(name).fetch_one(conn).await?)
}

/// Origins allowed to frame embeds.
#[tracing::instrument(skip_all)]
pub async fn embed_origins(conn: &mut Conn) -> Result<Vec<String>, DbError> {
    Ok(sqlx::query_scalar("SELECT origin FROM embed_origins ORDER BY origin").fetch_all(conn).await?)
}

/// Allows `origin` to frame embeds; false when it already was.
#[tracing::instrument(skip_all)]
pub async fn add_embed_origin(conn: &mut Conn, origin: &str, by: &str, now: Instant) -> Result<bool, DbError> {
    let done = sqlx::query(
        "INSERT INTO embed_origins (origin, added_by, added_at) VALUES ($1, $2, $3) ON CONFLICT (origin) DO NOTHING",
    )
    .bind(origin)
    .bind(by)
    .bind(now.ms())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Stops allowing `origin`; false when it was not allowed.
#[tracing::instrument(skip_all)]
pub async fn remove_embed_origin(conn: &mut Conn, origin: &str) -> Result<bool, DbError> {
    let done = sqlx::query("DELETE FROM embed_origins WHERE origin = $1").bind(origin).execute(conn).await?;
    Ok(done.rows_affected() == 1)
}
