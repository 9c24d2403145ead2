//! Incidents and the trains they are attributed to.

use super::{Conn, DbError};
use railyard_domain::time::Instant;

/// A stored incident.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Incident {
    pub id: String,
    pub service_id: String,
    pub severity: String,
    pub title: String,
    pub link: String,
    #[sqlx(try_from = "i64")]
    pub started_at: Instant,
    pub train_id: Option<String>,
    #[sqlx(try_from = "i64")]
    pub reported_at: Instant,
}

/// How long after a train's cutover an incident is attributed to it.
pub const ATTRIBUTION_WINDOW_MS: i64 = 24 * 3600 * 1000;

/// The train that most recently cut over with a change to `service_id`
/// (boarded, shipped or rolled back) in the 24 hours before `at`.
#[tracing::instrument(skip_all)]
pub async fn attributable_train(conn: &mut Conn, service_id: &str, at: Instant) -> Result<Option<String>, DbError> {
    let found: Option<(String,)> = sqlx::query_as(
        "SELECT t.id FROM trains t JOIN train_candidates c ON c.train_id = t.id JOIN artifacts a ON a.id = c.artifact_id \
         WHERE a.service_id = $1 AND c.status <> 'missed' AND t.cutover_at <= $2 AND t.cutover_at >= $3 \
         ORDER BY t.cutover_at DESC LIMIT 1",
    )
    .bind(service_id)
    .bind(at.ms())
    .bind((at - ATTRIBUTION_WINDOW_MS).ms())
    .fetch_optional(conn)
    .await?;
    Ok(found.map(|(id,)| id))
}

/// Records an incident.
#[tracing::instrument(skip_all)]
pub async fn insert(conn: &mut Conn, incident: &Incident) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO incidents (id, service_id, severity, title, link, started_at, train_id, reported_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&incident.id)
    .bind(&incident.service_id)
    .bind(&incident.severity)
    .bind(&incident.title)
    .bind(&incident.link)
    .bind(incident.started_at.ms())
    .bind(&incident.train_id)
    .bind(incident.reported_at.ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// Incidents attributed to a train, oldest first.
#[tracing::instrument(skip_all)]
pub async fn of_train(conn: &mut Conn, train_id: &str) -> Result<Vec<Incident>, DbError> {
    Ok(sqlx::query_as(
        "SELECT id, service_id, severity, title, link, started_at, train_id, reported_at FROM incidents \
         WHERE train_id = $1 ORDER BY started_at, id",
    )
    .bind(train_id)
    .fetch_all(conn)
    .await?)
}
