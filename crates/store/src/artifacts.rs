//! Registered artifacts and the checks reported on them.

use super::instant::MaybeInstant;
use super::{Conn, DbError};
use railyard_domain::candidate::CandidateStatus;
use railyard_domain::ids::ArtifactId;
use railyard_domain::time::Instant;

/// A stored artifact.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Artifact {
    #[sqlx(try_from = "String")]
    pub id: ArtifactId,
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
    /// JSON object of the API contracts it provides and requires.
    pub contracts: String,
    #[sqlx(try_from = "MaybeInstant")]
    pub rejected_at: Option<Instant>,
    pub rejected_reason: Option<String>,
    #[sqlx(try_from = "i64")]
    pub created_at: Instant,
}

/// Records when `id`'s commit was made.
#[tracing::instrument(skip_all)]
pub async fn set_committed_at(conn: &mut Conn, id: &ArtifactId, at: Instant) -> Result<(), DbError> {
    sqlx::query("UPDATE artifacts SET committed_at = $2 WHERE id = $1")
        .bind(id.as_str())
        .bind(at.ms())
        .execute(conn)
        .await?;
    Ok(())
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
    #[sqlx(try_from = "i64")]
    pub reported_at: Instant,
    /// Who reported it: `token:<name>` for CI.
    pub reported_by: String,
}

const CHECK_COLUMNS: &str = "id, artifact_id, kind, name, status, summary, url, details, reported_at, reported_by";

const SELECT: &str = "SELECT a.id, a.service_id, s.name AS service, a.version, a.digest, a.commit_sha, a.author, \
     a.changes, a.migrations, a.contracts, a.rejected_at, a.rejected_reason, a.created_at \
     FROM artifacts a JOIN services s ON s.id = a.service_id";

/// Inserts `artifact` unless its service already has that digest; true if inserted.
#[tracing::instrument(skip_all)]
pub async fn insert_if_absent(conn: &mut Conn, artifact: &Artifact) -> Result<bool, DbError> {
    let inserted = sqlx::query(
        "INSERT INTO artifacts (id, service_id, version, digest, commit_sha, author, changes, migrations, contracts, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (service_id, digest) DO NOTHING",
    )
    .bind(artifact.id.as_str())
    .bind(&artifact.service_id)
    .bind(&artifact.version)
    .bind(&artifact.digest)
    .bind(&artifact.commit_sha)
    .bind(&artifact.author)
    .bind(&artifact.changes)
    .bind(&artifact.migrations)
    .bind(&artifact.contracts)
    .bind(artifact.created_at.ms())
    .execute(conn)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// What production runs: the last shipped artifact of every service.
#[tracing::instrument(skip_all)]
pub async fn in_production(conn: &mut Conn) -> Result<Vec<Artifact>, DbError> {
    let shipped: Vec<Artifact> = sqlx::query_as(&format!(
        "{SELECT} JOIN train_candidates c ON c.artifact_id = a.id WHERE c.status = 'shipped' \
         ORDER BY c.updated_at DESC, a.created_at DESC"
    ))
    .fetch_all(conn)
    .await?;
    let mut newest: Vec<Artifact> = Vec::new();
    for artifact in shipped {
        if !newest.iter().any(|a| a.service_id == artifact.service_id) {
            newest.push(artifact);
        }
    }
    Ok(newest)
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
    sqlx::query(&format!(
        "INSERT INTO artifact_checks ({CHECK_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    ))
    .bind(&check.id)
    .bind(&check.artifact_id)
    .bind(&check.kind)
    .bind(&check.name)
    .bind(&check.status)
    .bind(&check.summary)
    .bind(&check.url)
    .bind(&check.details)
    .bind(check.reported_at.ms())
    .bind(&check.reported_by)
    .execute(conn)
    .await?;
    Ok(())
}

/// Who reported which kind of check on the artifacts `ids`, and when: (artifact, kind, reporter, at), oldest first.
#[tracing::instrument(skip_all)]
pub async fn reporters(conn: &mut Conn, ids: &[&str]) -> Result<Vec<(String, String, String, Instant)>, DbError> {
    let mut found = Vec::new();
    for id in ids {
        let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
            "SELECT artifact_id, kind, reported_by, reported_at FROM artifact_checks WHERE artifact_id = $1 \
             ORDER BY reported_at, id",
        )
        .bind(*id)
        .fetch_all(&mut *conn)
        .await?;
        found.extend(rows.into_iter().map(|(id, kind, by, at)| (id, kind, by, Instant::from_ms(at))));
    }
    Ok(found)
}

/// Every check reported on an artifact, oldest first.
#[tracing::instrument(skip_all)]
pub async fn checks(conn: &mut Conn, artifact_id: &str) -> Result<Vec<Check>, DbError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {CHECK_COLUMNS} FROM artifact_checks WHERE artifact_id = $1 ORDER BY reported_at, id"
    ))
    .bind(artifact_id)
    .fetch_all(conn)
    .await?)
}

/// The newest artifact of each of `service_ids` that may still board a train:
/// not rejected and not shipped by an earlier train.
#[tracing::instrument(skip_all)]
pub async fn newest_boardable(conn: &mut Conn, service_ids: &[String]) -> Result<Vec<Artifact>, DbError> {
    let mut found = Vec::new();
    for service_id in service_ids {
        let artifact: Option<Artifact> = sqlx::query_as(&format!(
            "{SELECT} WHERE a.service_id = $1 AND a.rejected_at IS NULL AND NOT EXISTS \
             (SELECT 1 FROM train_candidates c WHERE c.artifact_id = a.id AND c.status = 'shipped') \
             ORDER BY a.created_at DESC, a.id DESC LIMIT 1"
        ))
        .bind(service_id)
        .fetch_optional(&mut *conn)
        .await?;
        found.extend(artifact);
    }
    Ok(found)
}

/// The newest check of `kind` reported on an artifact, if any.
#[tracing::instrument(skip_all)]
pub async fn latest_check(conn: &mut Conn, artifact_id: &str, kind: &str) -> Result<Option<Check>, DbError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {CHECK_COLUMNS} FROM artifact_checks \
             WHERE artifact_id = $1 AND kind = $2 ORDER BY reported_at DESC, id DESC LIMIT 1"
    ))
    .bind(artifact_id)
    .bind(kind)
    .fetch_optional(conn)
    .await?)
}

/// Marks a digest as rejected for good; true if it was not rejected before.
#[tracing::instrument(skip_all)]
pub async fn reject(conn: &mut Conn, artifact_id: &str, reason: &str, now: Instant) -> Result<bool, DbError> {
    let updated = sqlx::query(
        "UPDATE artifacts SET rejected_at = $2, rejected_reason = $3 WHERE id = $1 AND rejected_at IS NULL",
    )
    .bind(artifact_id)
    .bind(now.ms())
    .bind(reason)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(updated == 1)
}

/// Lifts an artifact's rejection (a two-person override let it through); false if it was not rejected.
pub async fn reinstate(conn: &mut Conn, artifact_id: &str) -> Result<bool, DbError> {
    let updated = sqlx::query(
        "UPDATE artifacts SET rejected_at = NULL, rejected_reason = NULL WHERE id = $1 AND rejected_at IS NOT NULL",
    )
    .bind(artifact_id)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(updated == 1)
}

/// Records where each candidate of a train stands (replacing what was recorded).
#[tracing::instrument(skip_all)]
pub async fn set_train_candidates(
    conn: &mut Conn,
    train_id: &str,
    candidates: &[(String, CandidateStatus, String)],
    now: Instant,
) -> Result<(), DbError> {
    sqlx::query("DELETE FROM train_candidates WHERE train_id = $1").bind(train_id).execute(&mut *conn).await?;
    for (artifact_id, status, reason) in candidates {
        sqlx::query(
            "INSERT INTO train_candidates (train_id, artifact_id, status, reason, updated_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(train_id)
        .bind(artifact_id)
        .bind(status.as_str())
        .bind(reason)
        .bind(now.ms())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Where each candidate of a train stands: (artifact id, status, reason).
#[tracing::instrument(skip_all)]
pub async fn train_candidates(conn: &mut Conn, train_id: &str) -> Result<Vec<(String, String, String)>, DbError> {
    Ok(sqlx::query_as(
        "SELECT artifact_id, status, reason FROM train_candidates WHERE train_id = $1 ORDER BY artifact_id",
    )
    .bind(train_id)
    .fetch_all(conn)
    .await?)
}

/// A train's candidates with what the notes and the API show of them.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TrainCargo {
    #[sqlx(try_from = "String")]
    pub artifact_id: ArtifactId,
    pub service: String,
    pub version: String,
    pub digest: String,
    pub author: String,
    pub changes: String,
    #[sqlx(try_from = "String")]
    pub status: CandidateStatus,
    pub reason: String,
}

/// The cargo of a train, by service.
#[tracing::instrument(skip_all)]
pub async fn cargo(conn: &mut Conn, train_id: &str) -> Result<Vec<TrainCargo>, DbError> {
    Ok(sqlx::query_as(
        "SELECT c.artifact_id, s.name AS service, a.version, a.digest, a.author, a.changes, c.status, c.reason \
         FROM train_candidates c JOIN artifacts a ON a.id = c.artifact_id JOIN services s ON s.id = a.service_id \
         WHERE c.train_id = $1 ORDER BY s.name",
    )
    .bind(train_id)
    .fetch_all(conn)
    .await?)
}

/// The artifact of `service` (by name) that a train shipped most recently, if any.
#[tracing::instrument(skip_all)]
pub async fn last_shipped(conn: &mut Conn, service: &str) -> Result<Option<Artifact>, DbError> {
    Ok(sqlx::query_as(&format!(
        "{SELECT} JOIN train_candidates c ON c.artifact_id = a.id WHERE s.name = $1 AND c.status = 'shipped' \
         ORDER BY c.updated_at DESC LIMIT 1"
    ))
    .bind(service)
    .fetch_optional(conn)
    .await?)
}
