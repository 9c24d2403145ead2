//! Domains: the business areas trains belong to (payments, search, …).

use super::{Conn, DbError};
use railyard_domain::time::Instant;

/// A stored domain.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Domain {
    pub id: String,
    pub name: String,
    pub description: String,
    pub colour: String,
    /// The environment variable holding the domain's incoming-webhook URL (empty: no notifications).
    pub notify_webhook_env: String,
    /// JSON array of the notices the domain wants.
    pub notify_on: String,
}

/// The domain called `name`, if any.
#[tracing::instrument(skip_all)]
pub async fn by_name(conn: &mut Conn, name: &str) -> Result<Option<Domain>, DbError> {
    Ok(sqlx::query_as(
        "SELECT id, name, description, colour, notify_webhook_env, notify_on FROM domains WHERE name = $1",
    )
    .bind(name)
    .fetch_optional(conn)
    .await?)
}

/// Every domain, by name.
#[tracing::instrument(skip_all)]
pub async fn list(conn: &mut Conn) -> Result<Vec<Domain>, DbError> {
    Ok(sqlx::query_as("SELECT id, name, description, colour, notify_webhook_env, notify_on FROM domains ORDER BY name")
        .fetch_all(conn)
        .await?)
}

/// Inserts a new domain.
#[tracing::instrument(skip_all)]
pub async fn insert(conn: &mut Conn, domain: &Domain, now: Instant) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO domains (id, name, description, colour, notify_webhook_env, notify_on, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
    )
    .bind(&domain.id)
    .bind(&domain.name)
    .bind(&domain.description)
    .bind(&domain.colour)
    .bind(&domain.notify_webhook_env)
    .bind(&domain.notify_on)
    .bind(now.ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// Overwrites a domain's attributes.
#[tracing::instrument(skip_all)]
pub async fn update(conn: &mut Conn, domain: &Domain, now: Instant) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE domains SET description = $2, colour = $3, notify_webhook_env = $4, notify_on = $5, updated_at = $6 \
         WHERE id = $1",
    )
    .bind(&domain.id)
    .bind(&domain.description)
    .bind(&domain.colour)
    .bind(&domain.notify_webhook_env)
    .bind(&domain.notify_on)
    .bind(now.ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// The name of the domain `service_id` belongs to.
#[tracing::instrument(skip_all)]
pub async fn of_service(conn: &mut Conn, service_id: &str) -> Result<Option<String>, DbError> {
    Ok(sqlx::query_scalar("SELECT d.name FROM services s JOIN domains d ON d.id = s.domain_id WHERE s.id = $1")
        .bind(service_id)
        .fetch_optional(conn)
        .await?)
}

/// The id of the domain service `service_id` belongs to.
#[tracing::instrument(skip_all)]
pub async fn id_of_service(conn: &mut Conn, service_id: &str) -> Result<String, DbError> {
    Ok(sqlx::query_scalar("SELECT domain_id FROM services WHERE id = $1").bind(service_id).fetch_one(conn).await?)
}

/// The name of the domain train `train_id` runs for.
#[tracing::instrument(skip_all)]
pub async fn of_train(conn: &mut Conn, train_id: &str) -> Result<Option<String>, DbError> {
    Ok(sqlx::query_scalar(
        "SELECT d.name FROM trains t JOIN train_definitions td ON td.id = t.definition_id \
         JOIN domains d ON d.id = td.domain_id WHERE t.id = $1",
    )
    .bind(train_id)
    .fetch_optional(conn)
    .await?)
}

/// The name of the domain train definition `definition_id` belongs to.
#[tracing::instrument(skip_all)]
pub async fn of_definition(conn: &mut Conn, definition_id: &str) -> Result<Option<String>, DbError> {
    Ok(sqlx::query_scalar(
        "SELECT d.name FROM train_definitions td JOIN domains d ON d.id = td.domain_id WHERE td.id = $1",
    )
    .bind(definition_id)
    .fetch_optional(conn)
    .await?)
}
