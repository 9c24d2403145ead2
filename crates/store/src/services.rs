//! Services: the deployable units that board trains.

use super::{Conn, DbError};
use railyard_domain::time::Instant;

/// A stored service.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Service {
    pub id: String,
    pub name: String,
    pub domain_id: String,
    pub owner: String,
    pub runbook_url: String,
    /// Who to call during a release (a rota, a channel, a pager alias); empty when not declared.
    pub on_call: String,
    /// JSON of the service's SLO; empty when it has none.
    pub slo: String,
    /// JSON array of the names of the services it calls.
    pub calls: String,
}

impl Service {
    /// The names of the services it calls.
    pub fn callees(&self) -> Vec<String> {
        serde_json::from_str(&self.calls).unwrap_or_default()
    }

    /// Its SLO with the queries that measure it; `None` when it declares none.
    pub fn declared_slo(&self) -> Option<railyard_domain::manifest::ServiceSlo> {
        serde_json::from_str(&self.slo).ok()
    }
}

/// The service called `name`, if any.
#[tracing::instrument(skip_all)]
pub async fn by_name(conn: &mut Conn, name: &str) -> Result<Option<Service>, DbError> {
    Ok(sqlx::query_as(
        "SELECT id, name, domain_id, owner, runbook_url, on_call, slo, calls FROM services WHERE name = $1",
    )
    .bind(name)
    .fetch_optional(conn)
    .await?)
}

/// Every service, by name.
#[tracing::instrument(skip_all)]
pub async fn list(conn: &mut Conn) -> Result<Vec<Service>, DbError> {
    Ok(sqlx::query_as(
        "SELECT id, name, domain_id, owner, runbook_url, on_call, slo, calls FROM services ORDER BY name",
    )
    .fetch_all(conn)
    .await?)
}

/// Inserts a new service.
#[tracing::instrument(skip_all)]
pub async fn insert(conn: &mut Conn, service: &Service, now: Instant) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO services (id, name, domain_id, owner, runbook_url, slo, on_call, calls, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $9, $8, $8)",
    )
    .bind(&service.id)
    .bind(&service.name)
    .bind(&service.domain_id)
    .bind(&service.owner)
    .bind(&service.runbook_url)
    .bind(&service.slo)
    .bind(&service.on_call)
    .bind(now.ms())
    .bind(&service.calls)
    .execute(conn)
    .await?;
    Ok(())
}

/// Overwrites a service's attributes.
#[tracing::instrument(skip_all)]
pub async fn update(conn: &mut Conn, service: &Service, now: Instant) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE services SET domain_id = $2, owner = $3, runbook_url = $4, slo = $5, on_call = $6, updated_at = $7, \
         calls = $8 WHERE id = $1",
    )
    .bind(&service.id)
    .bind(&service.domain_id)
    .bind(&service.owner)
    .bind(&service.runbook_url)
    .bind(&service.slo)
    .bind(&service.on_call)
    .bind(now.ms())
    .bind(&service.calls)
    .execute(conn)
    .await?;
    Ok(())
}

/// Locks the rows of the services called `names` until the transaction
/// ends, so that replicas deciding whether a step over those services may
/// start take turns (PostgreSQL; SQLite's writers already queue).
#[tracing::instrument(skip_all)]
pub async fn lock_for_rollout(conn: &mut Conn, names: &[&str]) -> Result<(), DbError> {
    if names.is_empty() || conn.backend_name() != "PostgreSQL" {
        return Ok(());
    }
    let placeholders: Vec<String> = (1..=names.len()).map(|i| format!("${i}")).collect();
    // Rows are locked in name order, so two transactions never wait on each other in a circle.
    let sql = format!("SELECT id FROM services WHERE name IN ({}) ORDER BY name FOR UPDATE", placeholders.join(", "));
    let mut query = sqlx::query(&sql);
    for name in names {
        query = query.bind(*name);
    }
    query.fetch_all(conn).await?;
    Ok(())
}
