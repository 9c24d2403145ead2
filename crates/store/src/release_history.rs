//! What the leadership panels count over weeks: the trains that ended with
//! their domain and engine state, the commit times of what they shipped,
//! incidents attributed to them, and resolved incidents by domain.

use std::collections::BTreeMap;

use railyard_domain::engine::TrainRun;
use railyard_domain::time::Instant;

use super::{runs, Conn, DbError};

/// A train that ended (completed or rolled back), rehearsals left out.
#[derive(Debug, Clone)]
pub struct EndedTrain {
    pub id: String,
    pub definition: String,
    pub domain: String,
    /// `completed` or `rolled_back`.
    pub state: String,
    pub ended_at: Instant,
    pub run: Option<TrainRun>,
    /// Commit times of the artifacts it shipped (or tried to), where CI sent them.
    pub committed: Vec<Instant>,
    /// Incidents attributed to it.
    pub incidents: usize,
}

/// Trains of every domain that ended at or after `since`.
#[tracing::instrument(skip_all)]
pub async fn ended_trains(conn: &mut Conn, since: Instant) -> Result<Vec<EndedTrain>, DbError> {
    let rows: Vec<(String, String, String, String, i64, Option<String>)> = sqlx::query_as(
        "SELECT t.id, d.name, m.name, t.state, t.updated_at, r.state FROM trains t \
         JOIN train_definitions d ON d.id = t.definition_id JOIN domains m ON m.id = d.domain_id \
         LEFT JOIN train_runs r ON r.train_id = t.id \
         WHERE t.state IN ('completed', 'rolled_back') AND t.kind <> 'rehearsal' AND t.updated_at >= $1 \
         ORDER BY t.updated_at",
    )
    .bind(since.ms())
    .fetch_all(&mut *conn)
    .await?;
    let commits: Vec<(String, i64)> = sqlx::query_as(
        "SELECT c.train_id, a.committed_at FROM train_candidates c JOIN artifacts a ON a.id = c.artifact_id \
         JOIN trains t ON t.id = c.train_id WHERE a.committed_at IS NOT NULL AND c.status <> 'missed' \
         AND t.state IN ('completed', 'rolled_back') AND t.updated_at >= $1",
    )
    .bind(since.ms())
    .fetch_all(&mut *conn)
    .await?;
    let incidents: Vec<(String, i64)> = sqlx::query_as(
        "SELECT i.train_id, COUNT(*) FROM incidents i JOIN trains t ON t.id = i.train_id \
         WHERE t.updated_at >= $1 GROUP BY i.train_id",
    )
    .bind(since.ms())
    .fetch_all(&mut *conn)
    .await?;
    let mut committed: BTreeMap<String, Vec<Instant>> = BTreeMap::new();
    for (train, at) in commits {
        committed.entry(train).or_default().push(Instant::from_ms(at));
    }
    let incidents: BTreeMap<String, i64> = incidents.into_iter().collect();
    Ok(rows
        .into_iter()
        .map(|(id, definition, domain, state, ended, run)| EndedTrain {
            run: run.and_then(|run| runs::decode_listed(&id, &run)),
            committed: committed.remove(&id).unwrap_or_default(),
            incidents: usize::try_from(incidents.get(&id).copied().unwrap_or(0)).unwrap_or(0),
            id,
            definition,
            domain,
            state,
            ended_at: Instant::from_ms(ended),
        })
        .collect())
}

/// Incidents resolved at or after `since`: domain, start and resolution.
#[tracing::instrument(skip_all)]
pub async fn restores(conn: &mut Conn, since: Instant) -> Result<Vec<(String, Instant, Instant)>, DbError> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT m.name, i.started_at, i.resolved_at FROM incidents i JOIN services s ON s.id = i.service_id \
         JOIN domains m ON m.id = s.domain_id WHERE i.resolved_at IS NOT NULL AND i.resolved_at >= $1",
    )
    .bind(since.ms())
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|(d, s, r)| (d, Instant::from_ms(s), Instant::from_ms(r))).collect())
}
