//! Failed sign-ins per account, shared by every replica: how many since the
//! last success and when the next attempt may come.

use super::{Conn, DbError};
use railyard_domain::time::Instant;

/// How failures of one key back off: `free` failures cost nothing, each
/// further one doubles the wait from a second, up to `cap_ms`.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub free: u32,
    pub cap_ms: i64,
}

impl Backoff {
    /// How long to wait after the `failures`-th failure.
    pub fn delay_ms(self, failures: u32) -> i64 {
        match failures.checked_sub(self.free) {
            None => 0,
            Some(over) => 1000_i64.saturating_mul(1_i64 << over.min(30)).min(self.cap_ms),
        }
    }
}

/// Rows untouched this long are deleted by [`forget_old`].
const FORGET_AFTER_MS: i64 = 24 * 60 * 60_000;

/// When the next attempt on `account` may come, if it must wait.
#[tracing::instrument(skip_all)]
pub async fn next_attempt_at(conn: &mut Conn, account: &str) -> Result<Option<Instant>, DbError> {
    let row: Option<(i64,)> = sqlx::query_as("SELECT next_at FROM sign_in_backoff WHERE account = $1")
        .bind(account)
        .fetch_optional(conn)
        .await?;
    Ok(row.map(|(next_at,)| Instant::from_ms(next_at)))
}

/// Counts a failure of `account` at `now` and sets its next allowed attempt by `backoff`.
#[tracing::instrument(skip_all)]
pub async fn failed(conn: &mut Conn, account: &str, backoff: Backoff, now: Instant) -> Result<(), DbError> {
    let row: Option<(i64,)> = sqlx::query_as("SELECT failures FROM sign_in_backoff WHERE account = $1")
        .bind(account)
        .fetch_optional(&mut *conn)
        .await?;
    let failures = row.map_or(0, |(n,)| n).saturating_add(1);
    let next_at = now + backoff.delay_ms(u32::try_from(failures).unwrap_or(u32::MAX));
    sqlx::query(
        "INSERT INTO sign_in_backoff (account, failures, next_at, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (account) DO UPDATE SET failures = $2, next_at = $3, updated_at = $4",
    )
    .bind(account)
    .bind(failures)
    .bind(next_at.ms())
    .bind(now.ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// Forgets the failures of `account` (it signed in).
#[tracing::instrument(skip_all)]
pub async fn cleared(conn: &mut Conn, account: &str) -> Result<(), DbError> {
    sqlx::query("DELETE FROM sign_in_backoff WHERE account = $1").bind(account).execute(conn).await?;
    Ok(())
}

/// Deletes rows untouched for a day; answers how many went.
#[tracing::instrument(skip_all)]
pub async fn forget_old(conn: &mut Conn, now: Instant) -> Result<u64, DbError> {
    let gone = sqlx::query("DELETE FROM sign_in_backoff WHERE updated_at < $1")
        .bind((now - FORGET_AFTER_MS).ms())
        .execute(conn)
        .await?
        .rows_affected();
    Ok(gone)
}
