//! Feeding one event to the engine and storing all it decided (state,
//! timeline, candidate rows, effects for the outbox) in one transaction.

use super::conditions::{busy_change, current_freeze, deploying_elsewhere, freeze_change, may_start_a_step};
use super::{RuntimeError, WakeUp};
use crate::candidate::CandidateStatus;
use crate::engine::{self, Effect, Event, TrainRun};
use crate::store::{self, runs::OutboxEntry, trains::Transition, Conn, Db};
use crate::train_state::TrainState;
use railyard_domain::time::Instant;

/// Applies `event` to the train on behalf of `actor`, storing everything it decided.
pub async fn apply(
    db: &Db,
    train_id: &str,
    event: &Event,
    actor: &str,
    now: Instant,
) -> Result<TrainRun, RuntimeError> {
    let mut tx = db.begin().await?;
    let run = apply_in(&mut tx, train_id, event, actor, now).await?;
    tx.commit().await?;
    Ok(run)
}

/// [`apply`] inside the caller's transaction.
pub async fn apply_in(
    conn: &mut Conn,
    train_id: &str,
    event: &Event,
    actor: &str,
    now: Instant,
) -> Result<TrainRun, RuntimeError> {
    let (run, version) =
        store::runs::load(conn, train_id).await?.ok_or_else(|| RuntimeError::NotFound(train_id.to_owned()))?;
    if let Event::GateFinished { artifact_id, gate, outcome } = event {
        record_gate_run(conn, train_id, artifact_id, gate, outcome, now).await?;
    }
    // Freezes, and other trains deploying the same services, are read at the moment of
    // every decision, so no step can start past either.
    let freeze = freeze_change(&run, current_freeze(conn, train_id, now).await?);
    let busy =
        if may_start_a_step(&run) { busy_change(&run, deploying_elsewhere(conn, train_id, &run).await?) } else { None };
    let (mut current, mut effects, mut timeline) = (run.clone(), Vec::new(), Vec::new());
    for condition in [freeze, busy].into_iter().flatten() {
        let seen = engine::step(&current, &condition, now)?;
        (current, effects, timeline) = (seen.run, [effects, seen.effects].concat(), [timeline, seen.timeline].concat());
    }
    let mut outcome = engine::step(&current, event, now)?;
    outcome.effects.splice(0..0, effects);
    outcome.timeline.splice(0..0, timeline);
    if !store::runs::update(conn, train_id, &serde_json::to_string(&outcome.run)?, version, now).await? {
        return Err(RuntimeError::Conflict(train_id.to_owned()));
    }
    for entry in &outcome.timeline {
        let change = Transition { from: entry.from, to: entry.to, at: now, actor, reason: &entry.reason };
        if entry.from == entry.to {
            store::trains::append_event(conn, train_id, "note", change).await?;
        } else if !store::trains::transition(conn, train_id, change).await? {
            return Err(RuntimeError::Conflict(train_id.to_owned()));
        }
    }
    if outcome.run.candidates != run.candidates || outcome.run.phase != run.phase {
        let rows = candidate_rows(&outcome.run);
        store::artifacts::set_train_candidates(conn, train_id, &rows, now).await?;
    }
    for (index, effect) in outcome.effects.iter().enumerate() {
        let (key, due_at) = key_and_due(train_id, version, index, effect, now);
        let entry = OutboxEntry {
            id: store::new_id(),
            train_id: train_id.to_owned(),
            effect_key: key,
            effect: serde_json::to_string(&WakeUp::Effect(effect.clone()))?,
            due_at,
            status: String::new(),
            attempts: 0,
            last_error: String::new(),
        };
        store::runs::enqueue(conn, &entry, now).await?;
    }
    Ok(outcome.run)
}

/// Keeps every gate answer, so flaky gates show (seed F1).
pub(super) async fn record_gate_run(
    conn: &mut Conn,
    train_id: &str,
    artifact_id: &str,
    gate: &str,
    outcome: &engine::GateOutcome,
    now: Instant,
) -> Result<(), RuntimeError> {
    use engine::GateOutcome as O;
    let (name, detail) = match outcome {
        O::Passed => ("passed", String::new()),
        O::Failed(d) => ("failed", d.clone()),
        O::Deferred(d) => ("deferred", d.clone()),
        O::Inconclusive(d) => ("inconclusive", d.clone()),
        O::Errored(d) => ("errored", d.clone()),
        O::Blocked(d) => ("blocked", d.clone()),
        O::Awaiting(d) => ("awaiting", d.clone()),
    };
    let run = store::gate_runs::GateRun {
        train_id: train_id.to_owned(),
        artifact_id: artifact_id.to_owned(),
        gate: gate.to_owned(),
        outcome: name.to_owned(),
        detail,
        at: now,
    };
    store::gate_runs::record(conn, &run).await?;
    Ok(())
}

/// Where each candidate stands, as `train_candidates` records it.
pub(super) fn candidate_rows(run: &TrainRun) -> Vec<(String, CandidateStatus, String)> {
    run.candidates
        .iter()
        .map(|candidate| {
            let (status, reason) = match (&candidate.missed, run.phase) {
                (Some(reason), _) => (CandidateStatus::Missed, reason.clone()),
                (None, _) if candidate.rolled_back.is_some() => {
                    (CandidateStatus::RolledBack, candidate.rolled_back.clone().unwrap_or_default())
                }
                // Only what reached production shipped; a rehearsal's candidates were rehearsed.
                (None, TrainState::Completed) if run.production_started_at().is_none() => {
                    (CandidateStatus::Rehearsed, String::new())
                }
                (None, TrainState::Completed) => (CandidateStatus::Shipped, String::new()),
                (None, TrainState::RolledBack) => (CandidateStatus::RolledBack, String::new()),
                (None, _) => (CandidateStatus::Boarded, String::new()),
            };
            (candidate.artifact_id.to_string(), status, reason)
        })
        .collect()
}

/// The effect's own idempotency key where it has one, else one derived from
/// the state version that produced it; timers are due when they fire.
pub(super) fn key_and_due(
    train_id: &str,
    version: i64,
    index: usize,
    effect: &Effect,
    now: Instant,
) -> (String, Instant) {
    match effect {
        Effect::RunGate { key, .. }
        | Effect::Deploy { key, .. }
        | Effect::Judge { key, .. }
        | Effect::RollBack { key, .. }
        | Effect::RollBackServices { key, .. }
        | Effect::CheckBurn { key, .. }
        | Effect::MeasureRelease { key, .. } => (key.clone(), now),
        Effect::SetTimer { at, .. } => (format!("{train_id}:v{version}:{index}:timer"), *at),
        _ => (format!("{train_id}:v{version}:{index}"), now),
    }
}
