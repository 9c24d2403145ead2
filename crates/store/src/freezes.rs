//! Freezes: windows in which no train may cut over.

use chrono::NaiveDate;
use railyard_domain::time::Instant;

use super::{Conn, DbError};
use railyard_domain::cadence::{freeze_windows, Cadence, Window};

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
    #[sqlx(try_from = "i64")]
    pub starts_at: Instant,
    pub duration_ms: i64,
}

impl Freeze {
    /// The windows of this freeze overlapping `[from, to)`.
    pub fn windows(&self, from: Instant, to: Instant) -> Vec<Window> {
        let cadence = match self.cadence.as_deref() {
            None => None,
            Some(rule) => {
                let parsed = NaiveDate::parse_from_str(&self.starts_on, "%Y-%m-%d")
                    .map_err(|e| e.to_string())
                    .and_then(|starts_on| Cadence::parse(rule, &self.time_zone, starts_on).map_err(|e| e.to_string()));
                match parsed {
                    Ok(cadence) => Some(cadence),
                    Err(reason) => {
                        tracing::warn!(freeze = %self.name, %reason, "ignoring a freeze whose cadence no longer parses");
                        return Vec::new();
                    }
                }
            }
        };
        freeze_windows(cadence.as_ref(), self.starts_at, self.duration_ms, from, to)
    }

    /// Whether this freeze holds for `domain_id` at instant `at`.
    pub fn holds(&self, domain_id: &str, at: Instant) -> bool {
        self.domain_id.as_deref().is_none_or(|d| d == domain_id) && !self.windows(at, at + 1).is_empty()
    }
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
pub async fn insert(conn: &mut Conn, freeze: &Freeze, now: Instant) -> Result<(), DbError> {
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
    .bind(freeze.starts_at.ms())
    .bind(freeze.duration_ms)
    .bind(now.ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// Overwrites a freeze's attributes.
#[tracing::instrument(skip_all)]
pub async fn update(conn: &mut Conn, freeze: &Freeze, now: Instant) -> Result<(), DbError> {
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
    .bind(freeze.starts_at.ms())
    .bind(freeze.duration_ms)
    .bind(now.ms())
    .execute(conn)
    .await?;
    Ok(())
}
