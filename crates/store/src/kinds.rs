//! The configured policy of each kind of train.

use super::{Conn, DbError};
use railyard_domain::time::Instant;
use railyard_domain::train_kind::{policy_of, KindPolicy, TrainKind};

/// Every configured policy (kinds not configured are absent).
#[tracing::instrument(skip_all)]
pub async fn list(conn: &mut Conn) -> Result<Vec<KindPolicy>, DbError> {
    let rows: Vec<(String,)> = sqlx::query_as("SELECT policy FROM train_kinds ORDER BY kind").fetch_all(conn).await?;
    Ok(rows.into_iter().filter_map(|(text,)| serde_json::from_str(&text).ok()).collect())
}

/// The policy of `kind`: as configured, or its default.
pub async fn policy(conn: &mut Conn, kind: TrainKind) -> Result<KindPolicy, DbError> {
    Ok(policy_of(&list(conn).await?, kind))
}

/// Stores `policy`; whether it changed anything.
#[tracing::instrument(skip_all)]
pub async fn upsert(conn: &mut Conn, policy: &KindPolicy, now: Instant) -> Result<bool, DbError> {
    let text = serde_json::to_string(policy).unwrap_or_default();
    let stored: Option<(String,)> = sqlx::query_as("SELECT policy FROM train_kinds WHERE kind = $1")
        .bind(policy.kind.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    if stored.as_ref().is_some_and(|(current,)| current == &text) {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO train_kinds (kind, policy, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (kind) DO UPDATE SET policy = excluded.policy, updated_at = excluded.updated_at",
    )
    .bind(policy.kind.as_str())
    .bind(&text)
    .bind(now.ms())
    .execute(conn)
    .await?;
    Ok(true)
}
