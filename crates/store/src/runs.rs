//! The runtime's tables: each running train's engine state, and the outbox.

use railyard_domain::time::Instant;
use std::time::Duration;

use super::{Conn, DbError};
use railyard_domain::engine::TrainRun;
use railyard_domain::train_state::TrainState;

/// An outbox entry: an effect to carry out once it is due.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OutboxEntry {
    pub id: String,
    pub train_id: String,
    pub effect_key: String,
    /// JSON of the engine's effect.
    pub effect: String,
    #[sqlx(try_from = "i64")]
    pub due_at: Instant,
    pub status: String,
    pub attempts: i64,
    pub last_error: String,
}

/// A train's engine state and its version; `None` before the train opens.
#[tracing::instrument(skip_all)]
pub async fn load(conn: &mut Conn, train_id: &str) -> Result<Option<(TrainRun, i64)>, DbError> {
    let row: Option<(String, i64)> = sqlx::query_as("SELECT state, version FROM train_runs WHERE train_id = $1")
        .bind(train_id)
        .fetch_optional(conn)
        .await?;
    row.map(|(state, version)| Ok((decode(train_id, &state)?, version))).transpose()
}

/// Reads a stored engine state: the one place it is decoded. A state that
/// cannot be read fails whatever needs that train ([`DbError::Corrupt`]) ...
pub fn decode(train_id: &str, state: &str) -> Result<TrainRun, DbError> {
    serde_json::from_str(state)
        .map_err(|error| DbError::Corrupt { what: format!("engine state of train {train_id}"), why: error.to_string() })
}

/// ... and is left out, logged, of lists of many trains, so one bad row
/// does not blank a dashboard.
pub fn decode_listed(train_id: &str, state: &str) -> Option<TrainRun> {
    decode(train_id, state).map_err(|error| tracing::error!(%error, "train left out of a list")).ok()
}

/// Stores a new train's engine state unless it has one; true if stored.
#[tracing::instrument(skip_all)]
pub async fn insert(conn: &mut Conn, train_id: &str, state: &str, now: Instant) -> Result<bool, DbError> {
    let inserted = sqlx::query(
        "INSERT INTO train_runs (train_id, state, version, updated_at) VALUES ($1, $2, 1, $3) \
         ON CONFLICT (train_id) DO NOTHING",
    )
    .bind(train_id)
    .bind(state)
    .bind(now.ms())
    .execute(conn)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// Replaces the state if it is still at `version`; true if replaced.
#[tracing::instrument(skip_all)]
pub async fn update(conn: &mut Conn, train_id: &str, state: &str, version: i64, now: Instant) -> Result<bool, DbError> {
    let updated = sqlx::query(
        "UPDATE train_runs SET state = $2, version = version + 1, updated_at = $4 WHERE train_id = $1 AND version = $3",
    )
    .bind(train_id)
    .bind(state)
    .bind(version)
    .bind(now.ms())
    .execute(conn)
    .await?
    .rows_affected();
    Ok(updated == 1)
}

/// Adds an effect unless one with the same key exists; true if added.
#[tracing::instrument(skip_all)]
pub async fn enqueue(conn: &mut Conn, entry: &OutboxEntry, now: Instant) -> Result<bool, DbError> {
    let inserted = sqlx::query(
        "INSERT INTO outbox (id, train_id, effect_key, effect, due_at, status, attempts, last_error, created_at) \
         VALUES ($1, $2, $3, $4, $5, 'pending', 0, '', $6) ON CONFLICT (effect_key) DO NOTHING",
    )
    .bind(&entry.id)
    .bind(&entry.train_id)
    .bind(&entry.effect_key)
    .bind(&entry.effect)
    .bind(entry.due_at.ms())
    .bind(now.ms())
    .execute(conn)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// Pending effects due by `now`, oldest first.
#[tracing::instrument(skip_all)]
pub async fn due(conn: &mut Conn, now: Instant, limit: i64) -> Result<Vec<OutboxEntry>, DbError> {
    Ok(sqlx::query_as(
        "SELECT id, train_id, effect_key, effect, due_at, status, attempts, last_error FROM outbox \
         WHERE status = 'pending' AND due_at <= $1 ORDER BY due_at, created_at, id LIMIT $2",
    )
    .bind(now.ms())
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// When the next pending effect falls due, if any is pending (a simulated clock jumps there).
#[tracing::instrument(skip_all)]
pub async fn next_due(conn: &mut Conn) -> Result<Option<Instant>, DbError> {
    let (at,): (Option<i64>,) =
        sqlx::query_as("SELECT MIN(due_at) FROM outbox WHERE status = 'pending'").fetch_one(conn).await?;
    Ok(at.map(Instant::from_ms))
}

/// Marks an effect done; false if it was not pending any more (someone else did it).
#[tracing::instrument(skip_all)]
pub async fn complete(conn: &mut Conn, id: &str, now: Instant) -> Result<bool, DbError> {
    let updated = sqlx::query(
        "UPDATE outbox SET status = 'done', done_at = $2, attempts = attempts + 1 WHERE id = $1 AND status = 'pending'",
    )
    .bind(id)
    .bind(now.ms())
    .execute(conn)
    .await?
    .rows_affected();
    Ok(updated == 1)
}

/// Records a failed attempt and when to try again.
#[tracing::instrument(skip_all)]
pub async fn retry_later(conn: &mut Conn, id: &str, due_at: Instant, error: &str) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE outbox SET attempts = attempts + 1, due_at = $2, last_error = $3 WHERE id = $1 AND status = 'pending'",
    )
    .bind(id)
    .bind(due_at.ms())
    .bind(error)
    .execute(conn)
    .await?;
    Ok(())
}

/// Gives up on an effect after its last attempt.
#[tracing::instrument(skip_all)]
pub async fn give_up(conn: &mut Conn, id: &str, now: Instant, error: &str) -> Result<bool, DbError> {
    let updated = sqlx::query(
        "UPDATE outbox SET status = 'failed', attempts = attempts + 1, done_at = $2, last_error = $3 \
         WHERE id = $1 AND status = 'pending'",
    )
    .bind(id)
    .bind(now.ms())
    .bind(error)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(updated == 1)
}

/// Every train in flight with engine state, as `(train id, stored state, domain id)`.
#[tracing::instrument(skip_all)]
pub async fn in_flight_with_domain(conn: &mut Conn) -> Result<Vec<(String, String, String)>, DbError> {
    let query = format!(
        "SELECT r.train_id, r.state, d.domain_id FROM train_runs r JOIN trains t ON t.id = r.train_id \
         JOIN train_definitions d ON d.id = t.definition_id WHERE {}",
        super::trains::not_final("t.state")
    );
    Ok(sqlx::query_as(&query).fetch_all(&mut *conn).await?)
}

/// The phases in which a train should always have something pending.
const RUNNING: [TrainState; 7] = [
    TrainState::Planning,
    TrainState::Assembling,
    TrainState::Preflight,
    TrainState::Staging,
    TrainState::Canary,
    TrainState::Cutover,
    TrainState::Monitoring,
];

/// A train that is not moving.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct StuckTrain {
    pub train_id: String,
    pub state: String,
    /// When its engine state last changed.
    #[sqlx(try_from = "i64")]
    pub since: Instant,
}

/// Trains running without anything pending (see `runtime::stuck`) and unchanged since `now - threshold`.
#[tracing::instrument(skip_all)]
pub async fn stuck(conn: &mut Conn, now: Instant, threshold: Duration) -> Result<Vec<StuckTrain>, DbError> {
    let running = RUNNING.iter().map(|state| format!("'{}'", state.as_str())).collect::<Vec<_>>().join(", ");
    let threshold_ms = i64::try_from(threshold.as_millis()).unwrap_or(i64::MAX / 4);
    Ok(sqlx::query_as(&format!(
        "SELECT t.id AS train_id, t.state, r.updated_at AS since FROM trains t JOIN train_runs r ON r.train_id = t.id \
         WHERE t.state IN ({running}) AND r.updated_at <= $1 \
         AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.train_id = t.id AND o.status = 'pending') \
         AND NOT EXISTS (SELECT 1 FROM gitops_waits g WHERE g.train_id = t.id AND g.settled_at IS NULL) \
         ORDER BY r.updated_at"
    ))
    .bind((now - threshold_ms).ms())
    .fetch_all(conn)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreadable_engine_state_fails_that_train_and_is_left_out_of_lists() {
        let error = decode("t1", "{\"phase\":").expect_err("truncated JSON");
        assert!(error.to_string().starts_with("the stored engine state of train t1 is unreadable"), "{error}");
        assert!(decode_listed("t1", "{\"phase\":").is_none());
        let run = TrainRun::opened("t2", Instant::EPOCH, railyard_domain::engine::default_rollout(), 0);
        let stored = serde_json::to_string(&run).expect("JSON");
        assert_eq!(decode("t2", &stored).expect("readable"), run);
    }
}
