//! Freezes: windows in which no train may cut over.

use super::{Conn, DbError};

/// A stored freeze, one-off or recurring.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Freeze {
    pub id: String,
    pub name: String,
    /// `None` freezes every domain.
    pub domain_id: Option<String>,
    pub reason: String,
    pub time_zone: String,
    /// RRULE for a recurring freeze; `None` for a one-off starting at `starts_at`.
    pub cadence: Option<String>,
    /// `YYYY-MM-DD`: the one-off's first day, or the day a recurrence counts from.
    pub starts_on: String,
    pub starts_at: i64,
    pub duration_ms: i64,
}

const COLUMNS: &str = "id, name, domain_id, reason, time_zone, cadence, starts_on, starts_at, duration_ms";

/// The freeze called `name`, if any.
#[tracing::instrument(skip_all)]
pub async fn by_name(conn: &mut Conn, name: &str) -> Result<Option<Freeze>, DbError> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM freezes WHERE name = $1"))
        .bind(name)
        .fetch_optional(conn)
        .await?)
}

/// Every freeze, by name.
#[tracing::instrument(skip_all)]
pub async fn list(conn: &mut Conn) -> Result<Vec<Freeze>, DbError> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM freezes ORDER BY name")).fetch_all(conn).await?)
}

/// Inserts a new freeze.
#[tracing::instrument(skip_all)]
pub async fn insert(conn: &mut Conn, freeze: &Freeze, now: i64) -> Result<(), DbError> {
    sqlx::query(&format!(
        "INSERT INTO freezes ({COLUMNS}, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)"
    ))
    .bind(&freeze.id)
    .bind(&freeze.name)
    .bind(&freeze.domain_id)
    .bind(&freeze.reason)
    .bind(&freeze.time_zone)
    .bind(&freeze.cadence)
    .bind(&freeze.starts_on)
    .bind(freeze.starts_at)
    .bind(freeze.duration_ms)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Overwrites a freeze's attributes.
#[tracing::instrument(skip_all)]
pub async fn update(conn: &mut Conn, freeze: &Freeze, now: i64) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE freezes SET domain_id = $2, reason = $3, time_zone = $4, cadence = $5, starts_on = $6, \
         starts_at = $7, duration_ms = $8, updated_at = $9 WHERE id = $1",
    )
    .bind(&freeze.id)
    .bind(&freeze.domain_id)
    .bind(&freeze.reason)
    .bind(&freeze.time_zone)
    .bind(&freeze.cadence)
    .bind(&freeze.starts_on)
    .bind(freeze.starts_at)
    .bind(freeze.duration_ms)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}
