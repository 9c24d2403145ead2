//! A train's engine state: started when the train opens, loaded to read it.

use super::{RuntimeError, WakeUp};
use crate::engine::{self, Effect, TrainRun};
use crate::store::{self, runs::OutboxEntry, Conn, Db};
use railyard_domain::time::Instant;

/// Gives a train engine state (when it opens) and wakes it when planning closes.
pub async fn start(db: &Db, run: &TrainRun, planning_closes_at: Instant, now: Instant) -> Result<bool, RuntimeError> {
    let mut tx = db.begin().await?;
    let started = start_in(&mut tx, run, planning_closes_at, now).await?;
    tx.commit().await?;
    Ok(started)
}

/// [`start`] inside the caller's transaction.
pub async fn start_in(
    conn: &mut Conn,
    run: &TrainRun,
    planning_closes_at: Instant,
    now: Instant,
) -> Result<bool, RuntimeError> {
    let started = store::runs::insert(conn, &run.train_id, &serde_json::to_string(run)?, now).await?;
    if started {
        let wake = OutboxEntry {
            id: store::new_id(),
            train_id: run.train_id.clone().into(),
            effect_key: format!("{}:planning-closes", run.train_id),
            effect: serde_json::to_string(&WakeUp::PlanningClosed)?,
            due_at: planning_closes_at,
            status: String::new(),
            attempts: 0,
            last_error: String::new(),
        };
        store::runs::enqueue(conn, &wake, now).await?;
        let opened = Effect::Notify {
            notice: engine::Notice::Opened,
            text: format!("train opened for planning; cutover at {}", run.cutover_at.rfc3339()),
        };
        let notice = OutboxEntry {
            id: store::new_id(),
            effect_key: format!("{}:notify-opened", run.train_id),
            effect: serde_json::to_string(&WakeUp::Effect(opened))?,
            due_at: now,
            ..wake
        };
        store::runs::enqueue(conn, &notice, now).await?;
    }
    Ok(started)
}

/// A train's current engine state.
pub async fn load(db: &Db, train_id: &str) -> Result<TrainRun, RuntimeError> {
    let mut conn = db.acquire().await?;
    let (run, _) =
        store::runs::load(&mut conn, train_id).await?.ok_or_else(|| RuntimeError::NotFound(train_id.to_owned()))?;
    Ok(run)
}
