//! What finished trains cost their services: error budget consumed (seed M7)
//! and p95 latency before and after the rollout (seed M8).

use railyard_domain::time::Instant;
use serde::Serialize;

use super::{Conn, DbError};

/// One service's figures for one train.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Measurement {
    pub train_id: String,
    pub service: String,
    /// The rollout measured: first production deploy to the train's end.
    #[sqlx(try_from = "i64")]
    pub from_at: Instant,
    #[sqlx(try_from = "i64")]
    pub to_at: Instant,
    pub slo_target: f64,
    /// Bad and all events during the rollout.
    pub bad: i64,
    pub total: i64,
    /// Share of the SLO window's budget the rollout spent (target < 0.2).
    pub budget_consumed: f64,
    /// Budget left over the SLO window at the end (1 untouched, below 0 overspent).
    pub budget_remaining: f64,
    /// p95 latency (seconds) over the span before the rollout and over the rollout.
    pub latency_before: Option<f64>,
    pub latency_after: Option<f64>,
    #[sqlx(try_from = "i64")]
    pub measured_at: Instant,
}

const COLUMNS: &str = "train_id, service, from_at, to_at, slo_target, bad, total, budget_consumed, \
                       budget_remaining, latency_before, latency_after, measured_at";

/// Stores a measurement; measuring the same train again replaces it.
#[tracing::instrument(skip_all)]
pub async fn record(conn: &mut Conn, m: &Measurement) -> Result<(), DbError> {
    sqlx::query(&format!(
        "INSERT INTO train_measurements ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT (train_id, service) DO UPDATE SET from_at = excluded.from_at, to_at = excluded.to_at, \
         slo_target = excluded.slo_target, bad = excluded.bad, total = excluded.total, \
         budget_consumed = excluded.budget_consumed, budget_remaining = excluded.budget_remaining, \
         latency_before = excluded.latency_before, latency_after = excluded.latency_after, \
         measured_at = excluded.measured_at"
    ))
    .bind(&m.train_id)
    .bind(&m.service)
    .bind(m.from_at.ms())
    .bind(m.to_at.ms())
    .bind(m.slo_target)
    .bind(m.bad)
    .bind(m.total)
    .bind(m.budget_consumed)
    .bind(m.budget_remaining)
    .bind(m.latency_before)
    .bind(m.latency_after)
    .bind(m.measured_at.ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// A train's measurements, by service.
#[tracing::instrument(skip_all)]
pub async fn of_train(conn: &mut Conn, train_id: &str) -> Result<Vec<Measurement>, DbError> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM train_measurements WHERE train_id = $1 ORDER BY service"))
        .bind(train_id)
        .fetch_all(conn)
        .await?)
}

/// A measurement with its train's domain.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct InDomain {
    pub domain: String,
    #[sqlx(flatten)]
    pub measurement: Measurement,
}

/// Every measurement of a rollout that ended at or after `since`, with its train's domain name.
#[tracing::instrument(skip_all)]
pub async fn with_domain_since(conn: &mut Conn, since: Instant) -> Result<Vec<InDomain>, DbError> {
    let columns: Vec<String> = COLUMNS.split(", ").map(|c| format!("m.{}", c.trim())).collect();
    Ok(sqlx::query_as(&format!(
        "SELECT dm.name AS domain, {} FROM train_measurements m JOIN trains t ON t.id = m.train_id \
         JOIN train_definitions d ON d.id = t.definition_id JOIN domains dm ON dm.id = d.domain_id \
         WHERE m.to_at >= $1",
        columns.join(", ")
    ))
    .bind(since.ms())
    .fetch_all(conn)
    .await?)
}

/// Every measurement of `service` whose rollout ended at or after `since`, oldest first.
#[tracing::instrument(skip_all)]
pub async fn of_service(conn: &mut Conn, service: &str, since: Instant) -> Result<Vec<Measurement>, DbError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM train_measurements WHERE service = $1 AND to_at >= $2 ORDER BY from_at"
    ))
    .bind(service)
    .bind(since.ms())
    .fetch_all(conn)
    .await?)
}
