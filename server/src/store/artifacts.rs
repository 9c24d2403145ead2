//! Registered artifacts and the checks reported on them.

use super::{Conn, DbError};

/// A stored artifact.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Artifact {
    pub id: String,
    pub service_id: String,
    pub service: String,
    pub version: String,
    pub digest: String,
    pub commit_sha: String,
    pub author: String,
    /// JSON array of change entries.
    pub changes: String,
    /// JSON array of declared migrations.
    pub migrations: String,
    pub rejected_at: Option<i64>,
    pub rejected_reason: Option<String>,
    pub created_at: i64,
}

/// A stored check result.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Check {
    pub id: String,
    pub artifact_id: String,
    pub kind: String,
    pub name: String,
    pub status: String,
    pub summary: String,
    pub url: String,
    /// JSON object, e.g. findings per severity.
    pub details: String,
    pub reported_at: i64,
}

const SELECT: &str = "SELECT a.id, a.service_id, s.name AS service, a.version, a.digest, a.commit_sha, a.author, \
     a.changes, a.migrations, a.rejected_at, a.rejected_reason, a.created_at \
     FROM artifacts a JOIN services s ON s.id = a.service_id";

/// Inserts `artifact` unless its service already has that digest; true if inserted.
#[tracing::instrument(skip_all)]
pub async fn insert_if_absent(conn: &mut Conn, artifact: &Artifact) -> Result<bool, DbError> {
    let inserted = sqlx::query(
        "INSERT INTO artifacts (id, service_id, version, digest, commit_sha, author, changes, migrations, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (service_id, digest) DO NOTHING",
    )
    .bind(&artifact.id)
    .bind(&artifact.service_id)
    .bind(&artifact.version)
    .bind(&artifact.digest)
    .bind(&artifact.commit_sha)
    .bind(&artifact.author)
    .bind(&artifact.changes)
    .bind(&artifact.migrations)
    .bind(artifact.created_at)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// The artifact with `id`, if any.
#[tracing::instrument(skip_all)]
pub async fn by_id(conn: &mut Conn, id: &str) -> Result<Option<Artifact>, DbError> {
    Ok(sqlx::query_as(&format!("{SELECT} WHERE a.id = $1")).bind(id).fetch_optional(conn).await?)
}

/// The artifact of `service_id` with `digest`, if any.
#[tracing::instrument(skip_all)]
pub async fn by_digest(conn: &mut Conn, service_id: &str, digest: &str) -> Result<Option<Artifact>, DbError> {
    Ok(sqlx::query_as(&format!("{SELECT} WHERE a.service_id = $1 AND a.digest = $2"))
        .bind(service_id)
        .bind(digest)
        .fetch_optional(conn)
        .await?)
}

/// Records a check result.
#[tracing::instrument(skip_all)]
pub async fn insert_check(conn: &mut Conn, check: &Check) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO artifact_checks (id, artifact_id, kind, name, status, summary, url, details, reported_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&check.id)
    .bind(&check.artifact_id)
    .bind(&check.kind)
    .bind(&check.name)
    .bind(&check.status)
    .bind(&check.summary)
    .bind(&check.url)
    .bind(&check.details)
    .bind(check.reported_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Every check reported on an artifact, oldest first.
#[tracing::instrument(skip_all)]
pub async fn checks(conn: &mut Conn, artifact_id: &str) -> Result<Vec<Check>, DbError> {
    Ok(sqlx::query_as(
        "SELECT id, artifact_id, kind, name, status, summary, url, details, reported_at FROM artifact_checks \
         WHERE artifact_id = $1 ORDER BY reported_at, id",
    )
    .bind(artifact_id)
    .fetch_all(conn)
    .await?)
}
