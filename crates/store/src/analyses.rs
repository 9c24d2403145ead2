//! Canary analyses with their evidence, one per judge effect.

use super::{Conn, DbError};
use railyard_domain::time::Instant;

/// A stored analysis; `report` is the JSON of `analysis::report::AnalysisReport`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredAnalysis {
    pub effect_key: String,
    pub train_id: String,
    pub step: i64,
    pub verdict: String,
    pub detail: String,
    pub report: String,
    #[sqlx(try_from = "i64")]
    pub at: Instant,
}

/// Stores an analysis; a retried judge effect replaces its earlier attempt.
#[tracing::instrument(skip_all)]
pub async fn record(conn: &mut Conn, analysis: &StoredAnalysis) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO canary_analyses (effect_key, train_id, step, verdict, detail, report, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (effect_key) DO UPDATE SET verdict = excluded.verdict, \
         detail = excluded.detail, report = excluded.report, at = excluded.at",
    )
    .bind(&analysis.effect_key)
    .bind(&analysis.train_id)
    .bind(analysis.step)
    .bind(&analysis.verdict)
    .bind(&analysis.detail)
    .bind(&analysis.report)
    .bind(analysis.at.ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// A train's analyses, oldest first.
#[tracing::instrument(skip_all)]
pub async fn of_train(conn: &mut Conn, train_id: &str) -> Result<Vec<StoredAnalysis>, DbError> {
    Ok(sqlx::query_as(
        "SELECT effect_key, train_id, step, verdict, detail, report, at FROM canary_analyses \
         WHERE train_id = $1 ORDER BY at, step",
    )
    .bind(train_id)
    .fetch_all(conn)
    .await?)
}
