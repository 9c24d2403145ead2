//! The regions trains-as-code declares.

use super::{Conn, DbError};
use railyard_domain::manifest::RegionSpec;
use railyard_domain::time::Instant;

/// One declared region.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Region {
    pub name: String,
    pub critical: i64,
    pub description: String,
}

impl Region {
    pub fn is_critical(&self) -> bool {
        self.critical != 0
    }
}

/// Every declared region, in the file's order.
#[tracing::instrument(skip_all)]
pub async fn list(conn: &mut Conn) -> Result<Vec<Region>, DbError> {
    Ok(sqlx::query_as("SELECT name, critical, description FROM regions ORDER BY position, name")
        .fetch_all(conn)
        .await?)
}

/// Makes the stored regions `declared`; answers whether anything changed.
#[tracing::instrument(skip_all)]
pub async fn replace(conn: &mut Conn, declared: &[RegionSpec], now: Instant) -> Result<bool, DbError> {
    let stored = list(&mut *conn).await?;
    let wanted: Vec<Region> = declared
        .iter()
        .map(|r| Region { name: r.name.clone(), critical: i64::from(r.critical), description: r.description.clone() })
        .collect();
    if stored == wanted {
        return Ok(false);
    }
    sqlx::query("DELETE FROM regions").execute(&mut *conn).await?;
    for (position, region) in wanted.iter().enumerate() {
        sqlx::query(
            "INSERT INTO regions (name, critical, description, position, updated_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&region.name)
        .bind(region.critical)
        .bind(&region.description)
        .bind(i64::try_from(position).unwrap_or(i64::MAX))
        .bind(now.ms())
        .execute(&mut *conn)
        .await?;
    }
    Ok(true)
}
