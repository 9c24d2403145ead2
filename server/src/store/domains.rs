//! Domains: the business areas trains belong to (payments, search, …).

use super::{Conn, DbError};

/// A stored domain.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Domain {
    pub id: String,
    pub name: String,
    pub description: String,
    pub colour: String,
}

/// The domain called `name`, if any.
#[tracing::instrument(skip_all)]
pub async fn by_name(conn: &mut Conn, name: &str) -> Result<Option<Domain>, DbError> {
    Ok(sqlx::query_as("SELECT id, name, description, colour FROM domains WHERE name = $1")
        .bind(name)
        .fetch_optional(conn)
        .await?)
}

/// Every domain, by name.
#[tracing::instrument(skip_all)]
pub async fn list(conn: &mut Conn) -> Result<Vec<Domain>, DbError> {
    Ok(sqlx::query_as("SELECT id, name, description, colour FROM domains ORDER BY name").fetch_all(conn).await?)
}

/// Inserts a new domain.
#[tracing::instrument(skip_all)]
pub async fn insert(conn: &mut Conn, domain: &Domain, now: i64) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO domains (id, name, description, colour, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)",
    )
    .bind(&domain.id)
    .bind(&domain.name)
    .bind(&domain.description)
    .bind(&domain.colour)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Overwrites a domain's attributes.
#[tracing::instrument(skip_all)]
pub async fn update(conn: &mut Conn, domain: &Domain, now: i64) -> Result<(), DbError> {
    sqlx::query("UPDATE domains SET description = $2, colour = $3, updated_at = $4 WHERE id = $1")
        .bind(&domain.id)
        .bind(&domain.description)
        .bind(&domain.colour)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}
