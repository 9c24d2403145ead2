//! Digests environments report running, against what trains shipped (seed M12).

use super::{Conn, DbError};
use railyard_domain::engine::Environment;
use railyard_domain::time::Instant;

/// One report.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DigestReport {
    pub train_id: String,
    pub step: i64,
    pub service: String,
    #[sqlx(try_from = "String")]
    pub environment: Environment,
    pub expected_digest: String,
    pub running_digest: String,
    #[sqlx(try_from = "i64")]
    pub reported_at: Instant,
}

/// Records a report; a repeated report for the same step and service replaces the earlier one.
#[tracing::instrument(skip_all)]
pub async fn record(conn: &mut Conn, report: &DigestReport) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO digest_reports (train_id, step, service, environment, expected_digest, running_digest, reported_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (train_id, step, service) DO UPDATE SET \
         running_digest = excluded.running_digest, reported_at = excluded.reported_at",
    )
    .bind(&report.train_id)
    .bind(report.step)
    .bind(&report.service)
    .bind(report.environment.as_str())
    .bind(&report.expected_digest)
    .bind(&report.running_digest)
    .bind(report.reported_at.ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// A train's reports, by step and service.
#[tracing::instrument(skip_all)]
pub async fn of_train(conn: &mut Conn, train_id: &str) -> Result<Vec<DigestReport>, DbError> {
    Ok(sqlx::query_as(
        "SELECT train_id, step, service, environment, expected_digest, running_digest, reported_at FROM digest_reports \
         WHERE train_id = $1 ORDER BY step, service",
    )
    .bind(train_id)
    .fetch_all(conn)
    .await?)
}

/// (matching reports, all reports).
#[tracing::instrument(skip_all)]
pub async fn reproducibility(conn: &mut Conn) -> Result<(i64, i64), DbError> {
    Ok(sqlx::query_as(
        "SELECT COALESCE(SUM(CASE WHEN running_digest = expected_digest THEN 1 ELSE 0 END), 0), COUNT(*) FROM digest_reports",
    )
    .fetch_one(conn)
    .await?)
}
