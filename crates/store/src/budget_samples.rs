//! Error-budget samples per service: budget left over the SLO window and
//! the burn rate of the hour before, on a fixed time grid.

use railyard_domain::time::Instant;
use serde::Serialize;

use super::{Conn, DbError};

/// One service's budget at one instant.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct BudgetSample {
    pub service: String,
    #[sqlx(try_from = "i64")]
    pub at: Instant,
    /// 1 untouched, 0 spent, below 0 overspent.
    pub remaining: f64,
    /// Error ratio ÷ allowance over the hour before `at`; `None` without traffic.
    pub burn_rate: Option<f64>,
}

/// Stores `samples`; sampling an instant again replaces it.
#[tracing::instrument(skip_all)]
pub async fn record(conn: &mut Conn, samples: &[BudgetSample]) -> Result<(), DbError> {
    for sample in samples {
        sqlx::query(
            "INSERT INTO budget_samples (service, at, remaining, burn_rate) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (service, at) DO UPDATE SET remaining = excluded.remaining, burn_rate = excluded.burn_rate",
        )
        .bind(&sample.service)
        .bind(sample.at.ms())
        .bind(sample.remaining)
        .bind(sample.burn_rate)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The instants sampled for `service` since `since`, oldest first.
#[tracing::instrument(skip_all)]
pub async fn instants(conn: &mut Conn, service: &str, since: Instant) -> Result<Vec<Instant>, DbError> {
    let rows: Vec<(i64,)> = sqlx::query_as("SELECT at FROM budget_samples WHERE service = $1 AND at >= $2 ORDER BY at")
        .bind(service)
        .bind(since.ms())
        .fetch_all(conn)
        .await?;
    Ok(rows.into_iter().map(|(at,)| Instant::from_ms(at)).collect())
}

/// The samples of `service` since `since`, oldest first.
#[tracing::instrument(skip_all)]
pub async fn of_service(conn: &mut Conn, service: &str, since: Instant) -> Result<Vec<BudgetSample>, DbError> {
    Ok(sqlx::query_as(
        "SELECT service, at, remaining, burn_rate FROM budget_samples WHERE service = $1 AND at >= $2 ORDER BY at",
    )
    .bind(service)
    .bind(since.ms())
    .fetch_all(conn)
    .await?)
}

/// The newest sample of every service.
#[tracing::instrument(skip_all)]
pub async fn latest(conn: &mut Conn) -> Result<Vec<BudgetSample>, DbError> {
    Ok(sqlx::query_as(
        "SELECT s.service, s.at, s.remaining, s.burn_rate FROM budget_samples s \
         JOIN (SELECT service, MAX(at) AS at FROM budget_samples GROUP BY service) newest \
         ON newest.service = s.service AND newest.at = s.at ORDER BY s.service",
    )
    .fetch_all(conn)
    .await?)
}
