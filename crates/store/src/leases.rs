//! Leases with fencing terms. A lease is held until it expires or is
//! released; whoever takes it over gets the next term, and a write fenced by
//! an older term is refused (see [`hold`]).

use railyard_domain::time::Instant;
use serde::Serialize;

use super::{Conn, DbError};

/// Who holds a lease, and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Lease {
    pub name: String,
    pub holder: String,
    pub term: i64,
    #[sqlx(try_from = "i64")]
    pub acquired_at: Instant,
    #[sqlx(try_from = "i64")]
    pub expires_at: Instant,
}

/// Takes the lease `name` for `holder` if nobody holds it or its holder let
/// it expire; returns the new term. A holder taking its own expired lease
/// again gets a new term too, so anything it started under the old one stays fenced.
#[tracing::instrument(skip_all, fields(name))]
pub async fn try_acquire(
    conn: &mut Conn,
    name: &str,
    holder: &str,
    now: Instant,
    ttl_ms: i64,
) -> Result<Option<i64>, DbError> {
    let created = sqlx::query(
        "INSERT INTO leases (name, holder, term, acquired_at, expires_at) VALUES ($1, $2, 1, $3, $4) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(holder)
    .bind(now.ms())
    .bind((now + ttl_ms).ms())
    .execute(&mut *conn)
    .await?;
    if created.rows_affected() == 1 {
        return Ok(Some(1));
    }
    let taken: Option<(i64,)> = sqlx::query_as(
        "UPDATE leases SET holder = $2, term = term + 1, acquired_at = $3, expires_at = $4 \
         WHERE name = $1 AND expires_at <= $3 RETURNING term",
    )
    .bind(name)
    .bind(holder)
    .bind(now.ms())
    .bind((now + ttl_ms).ms())
    .fetch_optional(&mut *conn)
    .await?;
    Ok(taken.map(|(term,)| term))
}

/// Takes the lease for `holder` whether or not someone holds it, with the
/// next term. Safe because of the fence: the previous holder's writes are
/// refused from this moment on.
#[tracing::instrument(skip_all, fields(name))]
pub async fn take_over(conn: &mut Conn, name: &str, holder: &str, now: Instant, ttl_ms: i64) -> Result<i64, DbError> {
    if let Some(term) = try_acquire(conn, name, holder, now, ttl_ms).await? {
        return Ok(term);
    }
    let (term,): (i64,) = sqlx::query_as(
        "UPDATE leases SET holder = $2, term = term + 1, acquired_at = $3, expires_at = $4 WHERE name = $1 RETURNING term",
    )
    .bind(name)
    .bind(holder)
    .bind(now.ms())
    .bind((now + ttl_ms).ms())
    .fetch_one(&mut *conn)
    .await?;
    Ok(term)
}

/// Extends the lease while `holder` still holds it under `term`; false when
/// it was taken over. Renewing after expiry works if nobody took over.
#[tracing::instrument(skip_all, fields(name, term))]
pub async fn renew(
    conn: &mut Conn,
    name: &str,
    holder: &str,
    term: i64,
    now: Instant,
    ttl_ms: i64,
) -> Result<bool, DbError> {
    let renewed = sqlx::query("UPDATE leases SET expires_at = $4 WHERE name = $1 AND holder = $2 AND term = $3")
        .bind(name)
        .bind(holder)
        .bind(term)
        .bind((now + ttl_ms).ms())
        .execute(&mut *conn)
        .await?;
    Ok(renewed.rows_affected() == 1)
}

/// Lets the lease go at once (on shutdown) so another replica need not wait for it to expire.
#[tracing::instrument(skip_all, fields(name, term))]
pub async fn release(conn: &mut Conn, name: &str, holder: &str, term: i64) -> Result<bool, DbError> {
    let released = sqlx::query("UPDATE leases SET expires_at = 0 WHERE name = $1 AND holder = $2 AND term = $3")
        .bind(name)
        .bind(holder)
        .bind(term)
        .execute(&mut *conn)
        .await?;
    Ok(released.rows_affected() == 1)
}

/// The fence: succeeds only while `term` is still the lease's current term.
/// It writes the row (to itself), so on PostgreSQL a take-over waits for the
/// caller's transaction to finish, and the caller's writes land before the
/// new term or not at all.
#[tracing::instrument(skip_all, fields(name, term))]
pub async fn hold(conn: &mut Conn, name: &str, term: i64) -> Result<(), DbError> {
    let held = sqlx::query("UPDATE leases SET term = term WHERE name = $1 AND term = $2")
        .bind(name)
        .bind(term)
        .execute(&mut *conn)
        .await?;
    if held.rows_affected() == 1 {
        Ok(())
    } else {
        Err(DbError::StaleTerm(term))
    }
}

/// The lease `name` as stored.
#[tracing::instrument(skip_all, fields(name))]
pub async fn get(conn: &mut Conn, name: &str) -> Result<Option<Lease>, DbError> {
    Ok(sqlx::query_as("SELECT name, holder, term, acquired_at, expires_at FROM leases WHERE name = $1")
        .bind(name)
        .fetch_optional(conn)
        .await?)
}
