//! The alerts Railyard raised (the ledger the alerter diffs each pass
//! against) and the Alertmanager silences it created for trains.

use std::collections::BTreeMap;

use railyard_domain::time::Instant;

use super::instant::MaybeInstant;
use super::json_text::JsonText;
use super::{Conn, DbError};

/// A raised alert, active while `ends_at` is `None`.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct StoredAlert {
    pub fingerprint: String,
    /// The `alertname` label.
    pub name: String,
    /// `page` or `ticket`.
    pub severity: String,
    pub train_id: String,
    #[sqlx(try_from = "String")]
    pub labels: JsonText<BTreeMap<String, String>>,
    #[sqlx(try_from = "String")]
    pub annotations: JsonText<BTreeMap<String, String>>,
    #[sqlx(try_from = "i64")]
    pub starts_at: Instant,
    #[sqlx(try_from = "MaybeInstant")]
    pub ends_at: Option<Instant>,
}

const COLUMNS: &str = "fingerprint, name, severity, train_id, labels, annotations, starts_at, ends_at";

/// Alerts still active, oldest first.
#[tracing::instrument(skip_all)]
pub async fn active(conn: &mut Conn) -> Result<Vec<StoredAlert>, DbError> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM alerts WHERE ends_at IS NULL ORDER BY starts_at, fingerprint"))
        .fetch_all(conn)
        .await?)
}

/// Resolved alerts Alertmanager has not been told about yet.
#[tracing::instrument(skip_all)]
pub async fn unsent_resolutions(conn: &mut Conn) -> Result<Vec<StoredAlert>, DbError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM alerts WHERE ends_at IS NOT NULL AND resolved_sent = 0 ORDER BY ends_at, fingerprint"
    ))
    .fetch_all(conn)
    .await?)
}

/// Alerts that were active at some point in `[from, to]`, newest first (for people to read).
#[tracing::instrument(skip_all)]
pub async fn between(conn: &mut Conn, from: Instant, to: Instant) -> Result<Vec<StoredAlert>, DbError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM alerts WHERE starts_at <= $2 AND (ends_at IS NULL OR ends_at >= $1) \
         ORDER BY starts_at DESC, fingerprint"
    ))
    .bind(from.ms())
    .bind(to.ms())
    .fetch_all(conn)
    .await?)
}

/// Raises `alert` (again, when it fired before and was resolved: a new occurrence).
#[tracing::instrument(skip_all)]
pub async fn raise(conn: &mut Conn, alert: &StoredAlert) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO alerts (fingerprint, name, severity, train_id, labels, annotations, starts_at, ends_at, resolved_sent) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, 0) ON CONFLICT (fingerprint) DO UPDATE SET \
         annotations = excluded.annotations, starts_at = excluded.starts_at, ends_at = NULL, resolved_sent = 0",
    )
    .bind(&alert.fingerprint)
    .bind(&alert.name)
    .bind(&alert.severity)
    .bind(&alert.train_id)
    .bind(alert.labels.text()?)
    .bind(alert.annotations.text()?)
    .bind(alert.starts_at.ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// Replaces an active alert's annotations (its description may change while it lasts).
#[tracing::instrument(skip_all)]
pub async fn annotate(
    conn: &mut Conn,
    fingerprint: &str,
    annotations: &JsonText<BTreeMap<String, String>>,
) -> Result<(), DbError> {
    sqlx::query("UPDATE alerts SET annotations = $2 WHERE fingerprint = $1 AND ends_at IS NULL")
        .bind(fingerprint)
        .bind(annotations.text()?)
        .execute(conn)
        .await?;
    Ok(())
}

/// Resolves an active alert at `now`.
#[tracing::instrument(skip_all)]
pub async fn resolve(conn: &mut Conn, fingerprint: &str, now: Instant) -> Result<(), DbError> {
    sqlx::query("UPDATE alerts SET ends_at = $2, resolved_sent = 0 WHERE fingerprint = $1 AND ends_at IS NULL")
        .bind(fingerprint)
        .bind(now.ms())
        .execute(conn)
        .await?;
    Ok(())
}

/// Notes that Alertmanager was told an alert resolved at `ends_at`.
#[tracing::instrument(skip_all)]
pub async fn resolution_sent(conn: &mut Conn, fingerprint: &str, ends_at: Instant) -> Result<(), DbError> {
    sqlx::query("UPDATE alerts SET resolved_sent = 1 WHERE fingerprint = $1 AND ends_at = $2")
        .bind(fingerprint)
        .bind(ends_at.ms())
        .execute(conn)
        .await?;
    Ok(())
}

/// A silence Railyard created in Alertmanager for a train's expected alerts.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TrainSilence {
    pub train_id: String,
    /// Which of the definition's `expected_alerts`.
    pub position: i64,
    pub silence_id: String,
    #[sqlx(try_from = "i64")]
    pub ends_at: Instant,
}

/// Every silence Railyard holds, by train.
#[tracing::instrument(skip_all)]
pub async fn silences(conn: &mut Conn) -> Result<Vec<TrainSilence>, DbError> {
    Ok(sqlx::query_as("SELECT train_id, position, silence_id, ends_at FROM alert_silences ORDER BY train_id, position")
        .fetch_all(conn)
        .await?)
}

/// Records (or replaces) a train's silence.
#[tracing::instrument(skip_all)]
pub async fn keep_silence(conn: &mut Conn, silence: &TrainSilence) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO alert_silences (train_id, position, silence_id, ends_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (train_id, position) DO UPDATE SET silence_id = excluded.silence_id, ends_at = excluded.ends_at",
    )
    .bind(&silence.train_id)
    .bind(silence.position)
    .bind(&silence.silence_id)
    .bind(silence.ends_at.ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// Forgets a silence once Alertmanager has expired it.
#[tracing::instrument(skip_all)]
pub async fn forget_silence(conn: &mut Conn, train_id: &str, position: i64) -> Result<(), DbError> {
    sqlx::query("DELETE FROM alert_silences WHERE train_id = $1 AND position = $2")
        .bind(train_id)
        .bind(position)
        .execute(conn)
        .await?;
    Ok(())
}
