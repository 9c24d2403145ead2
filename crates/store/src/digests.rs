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
    /// The step's region; empty without one.
    pub region: String,
    pub expected_digest: String,
    pub running_digest: String,
    #[sqlx(try_from = "i64")]
    pub reported_at: Instant,
}

/// Records a report; a repeated report for the same step and service replaces the earlier one.
#[tracing::instrument(skip_all)]
pub async fn record(conn: &mut Conn, report: &DigestReport) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO digest_reports (train_id, step, service, environment, region, expected_digest, running_digest, reported_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (train_id, step, service) DO UPDATE SET \
         running_digest = excluded.running_digest, reported_at = excluded.reported_at",
    )
    .bind(&report.train_id)
    .bind(report.step)
    .bind(&report.service)
    .bind(report.environment.as_str())
    .bind(&report.region)
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
        "SELECT train_id, step, service, environment, region, expected_digest, running_digest, reported_at FROM digest_reports \
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

/// The newest report for `service` in `environment` and `region` (empty: none), from any train.
#[tracing::instrument(skip_all)]
pub async fn latest(
    conn: &mut Conn,
    service: &str,
    environment: Environment,
    region: &str,
) -> Result<Option<DigestReport>, DbError> {
    Ok(sqlx::query_as(
        "SELECT train_id, step, service, environment, region, expected_digest, running_digest, reported_at FROM digest_reports \
         WHERE service = $1 AND environment = $2 AND region = $3 ORDER BY reported_at DESC, step DESC LIMIT 1",
    )
    .bind(service)
    .bind(environment.as_str())
    .bind(region)
    .fetch_optional(conn)
    .await?)
}

/// The newest report per service, environment and region (drift is a newest report that does not match).
#[tracing::instrument(skip_all)]
pub async fn newest_per_target(conn: &mut Conn) -> Result<Vec<DigestReport>, DbError> {
    let reports: Vec<DigestReport> = sqlx::query_as(
        "SELECT train_id, step, service, environment, region, expected_digest, running_digest, reported_at FROM digest_reports \
         ORDER BY service, environment, region, reported_at DESC, step DESC",
    )
    .fetch_all(conn)
    .await?;
    let mut newest: Vec<DigestReport> = Vec::new();
    for report in reports {
        let seen = newest.last().is_some_and(|n| {
            n.service == report.service && n.environment == report.environment && n.region == report.region
        });
        if !seen {
            newest.push(report);
        }
    }
    Ok(newest)
}

impl DigestReport {
    /// Whether it reports something other than what shipped.
    pub fn drifted(&self) -> bool {
        self.running_digest != self.expected_digest
    }
}
