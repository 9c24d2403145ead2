//! The raw counts behind `/metrics` and the release figures.

use super::{runs, Conn, DbError};
use railyard_domain::engine::TrainRun;
use railyard_domain::time::Instant;

/// What the figures are computed from, read in one pass.
pub struct Counts {
    /// Trains per stored state, by state.
    pub trains_by_state: Vec<(String, i64)>,
    /// Outbox rows per status, by status.
    pub outbox_by_status: Vec<(String, i64)>,
    /// The engine state of every completed or rolled-back train.
    pub finished_runs: Vec<TrainRun>,
    /// Each rolled-back train's engine state and when it reached `rolled_back`.
    pub rolled_back: Vec<(TrainRun, Instant)>,
    /// Security scans reported, and how many passed.
    pub security_scans: (i64, i64),
    /// Candidates that shipped.
    pub shipped: i64,
    /// Incidents tied to a train.
    pub post_deploy_incidents: i64,
}

/// Reads the [`Counts`].
#[tracing::instrument(skip_all)]
pub async fn counts(conn: &mut Conn) -> Result<Counts, DbError> {
    let trains_by_state = sqlx::query_as("SELECT state, COUNT(*) FROM trains GROUP BY state ORDER BY state")
        .fetch_all(&mut *conn)
        .await?;
    let outbox_by_status = sqlx::query_as("SELECT status, COUNT(*) FROM outbox GROUP BY status ORDER BY status")
        .fetch_all(&mut *conn)
        .await?;
    let finished: Vec<(String, String)> = sqlx::query_as(
        "SELECT r.train_id, r.state FROM train_runs r JOIN trains t ON t.id = r.train_id \
         WHERE t.state IN ('completed', 'rolled_back')",
    )
    .fetch_all(&mut *conn)
    .await?;
    let finished_runs = finished.iter().filter_map(|(id, state)| runs::decode_listed(id, state)).collect();
    let rolled_back: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT r.train_id, r.state, e.at FROM train_runs r JOIN train_events e ON e.train_id = r.train_id \
         WHERE e.to_state = 'rolled_back' AND e.from_state <> 'rolled_back'",
    )
    .fetch_all(&mut *conn)
    .await?;
    let rolled_back = rolled_back
        .iter()
        .filter_map(|(id, state, at)| Some((runs::decode_listed(id, state)?, Instant::from_ms(*at))))
        .collect();
    let security_scans = sqlx::query_as(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN status = 'passed' THEN 1 ELSE 0 END), 0) FROM artifact_checks \
         WHERE kind = 'security_scan'",
    )
    .fetch_one(&mut *conn)
    .await?;
    let shipped = sqlx::query_scalar("SELECT COUNT(*) FROM train_candidates WHERE status = 'shipped'")
        .fetch_one(&mut *conn)
        .await?;
    let post_deploy_incidents =
        sqlx::query_scalar("SELECT COUNT(*) FROM incidents WHERE train_id IS NOT NULL").fetch_one(&mut *conn).await?;
    Ok(Counts {
        trains_by_state,
        outbox_by_status,
        finished_runs,
        rolled_back,
        security_scans,
        shipped,
        post_deploy_incidents,
    })
}

/// A train that deployed (or was deploying) something, with what it carried.
pub struct DeployedTrain {
    pub definition: String,
    pub run: TrainRun,
    /// Per artifact id on the train: service, version, digest.
    pub artifacts: std::collections::HashMap<String, (String, String, String)>,
}

/// How many of the most recent trains the deployment markers look at.
const MARKER_TRAINS: i64 = 500;

/// The most recent trains past pre-flight, newest cutover first, with their cargo's versions.
#[tracing::instrument(skip_all)]
pub async fn deployed_trains(conn: &mut Conn) -> Result<Vec<DeployedTrain>, DbError> {
    let past_preflight = "t.state NOT IN ('scheduled', 'planning', 'assembling', 'preflight', 'skipped')";
    let rows: Vec<(String, String, String)> = sqlx::query_as(&format!(
        "SELECT r.train_id, d.name, r.state FROM train_runs r JOIN trains t ON t.id = r.train_id \
         JOIN train_definitions d ON d.id = t.definition_id WHERE {past_preflight} ORDER BY t.cutover_at DESC LIMIT $1"
    ))
    .bind(MARKER_TRAINS)
    .fetch_all(&mut *conn)
    .await?;
    let cargo: Vec<(String, String, String, String, String)> = sqlx::query_as(&format!(
        "SELECT c.train_id, c.artifact_id, s.name, a.version, a.digest FROM train_candidates c \
         JOIN artifacts a ON a.id = c.artifact_id JOIN services s ON s.id = a.service_id \
         WHERE c.train_id IN (SELECT t.id FROM trains t WHERE {past_preflight} ORDER BY t.cutover_at DESC LIMIT $1)"
    ))
    .bind(MARKER_TRAINS)
    .fetch_all(&mut *conn)
    .await?;
    let mut by_train: std::collections::HashMap<String, std::collections::HashMap<String, (String, String, String)>> =
        std::collections::HashMap::new();
    for (train, artifact, service, version, digest) in cargo {
        by_train.entry(train).or_default().insert(artifact, (service, version, digest));
    }
    Ok(rows
        .into_iter()
        .filter_map(|(id, definition, state)| {
            let run = runs::decode_listed(&id, &state)?;
            let artifacts = by_train.remove(&id).unwrap_or_default();
            Some(DeployedTrain { definition, run, artifacts })
        })
        .collect())
}
