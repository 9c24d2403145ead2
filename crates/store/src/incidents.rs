//! Incidents and the trains they are attributed to.

use super::instant::{nullable, MaybeInstant};
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
    /// When service was restored; `None` while the incident is open.
    #[sqlx(try_from = "MaybeInstant")]
    pub resolved_at: Option<Instant>,
    /// Where it came from, for finding it again (`alertmanager:<fingerprint>@<start>`); `None` when reported by hand.
    pub source_key: Option<String>,
}

const COLUMNS: &str =
    "id, service_id, severity, title, link, started_at, train_id, reported_at, resolved_at, source_key";

/// How long after a train's cutover an incident is attributed to it.
pub const ATTRIBUTION_WINDOW_MS: i64 = 24 * 3600 * 1000;

/// The train that most recently cut over with a change to `service_id`
/// (boarded, shipped or rolled back) in the 24 hours before `at`; rehearsals change nothing.
#[tracing::instrument(skip_all)]
pub async fn attributable_train(conn: &mut Conn, service_id: &str, at: Instant) -> Result<Option<String>, DbError> {
    let found: Option<(String,)> = sqlx::query_as(
        "SELECT t.id FROM trains t JOIN train_candidates c ON c.train_id = t.id JOIN artifacts a ON a.id = c.artifact_id \
         WHERE a.service_id = $1 AND c.status <> 'missed' AND t.cutover_at <= $2 AND t.cutover_at >= $3 \
         AND t.kind <> 'rehearsal' \
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
        "INSERT INTO incidents (id, service_id, severity, title, link, started_at, train_id, reported_at, \
         resolved_at, source_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&incident.id)
    .bind(&incident.service_id)
    .bind(&incident.severity)
    .bind(&incident.title)
    .bind(&incident.link)
    .bind(incident.started_at.ms())
    .bind(&incident.train_id)
    .bind(incident.reported_at.ms())
    .bind(nullable(incident.resolved_at))
    .bind(&incident.source_key)
    .execute(conn)
    .await?;
    Ok(())
}

/// Incidents attributed to a train, oldest first.
#[tracing::instrument(skip_all)]
pub async fn of_train(conn: &mut Conn, train_id: &str) -> Result<Vec<Incident>, DbError> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM incidents WHERE train_id = $1 ORDER BY started_at, id"))
        .bind(train_id)
        .fetch_all(conn)
        .await?)
}

/// The incident `id`.
#[tracing::instrument(skip_all)]
pub async fn by_id(conn: &mut Conn, id: &str) -> Result<Option<Incident>, DbError> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM incidents WHERE id = $1")).bind(id).fetch_optional(conn).await?)
}

/// The incident opened from `source_key`.
#[tracing::instrument(skip_all)]
pub async fn by_source(conn: &mut Conn, source_key: &str) -> Result<Option<Incident>, DbError> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM incidents WHERE source_key = $1"))
        .bind(source_key)
        .fetch_optional(conn)
        .await?)
}

/// Incidents open now or started at or after `since`, newest first.
#[tracing::instrument(skip_all)]
pub async fn open_or_since(conn: &mut Conn, since: Instant) -> Result<Vec<Incident>, DbError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM incidents WHERE resolved_at IS NULL OR started_at >= $1 ORDER BY started_at DESC, id"
    ))
    .bind(since.ms())
    .fetch_all(conn)
    .await?)
}

/// Marks an open incident resolved at `at`; answers whether it was open.
#[tracing::instrument(skip_all)]
pub async fn resolve(conn: &mut Conn, id: &str, at: Instant) -> Result<bool, DbError> {
    let done = sqlx::query("UPDATE incidents SET resolved_at = $2 WHERE id = $1 AND resolved_at IS NULL")
        .bind(id)
        .bind(at.ms())
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Resolved incidents' (started, resolved) times, for time to restore.
#[tracing::instrument(skip_all)]
pub async fn restore_times(conn: &mut Conn) -> Result<Vec<(Instant, Instant)>, DbError> {
    let rows: Vec<(i64, i64)> =
        sqlx::query_as("SELECT started_at, resolved_at FROM incidents WHERE resolved_at IS NOT NULL")
            .fetch_all(conn)
            .await?;
    Ok(rows.into_iter().map(|(s, r)| (Instant::from_ms(s), Instant::from_ms(r))).collect())
}
