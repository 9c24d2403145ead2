//! The engine's runtime. [`apply`] feeds one event to the pure engine and
//! stores what it decided — the new state, the timeline entries and the
//! effects — in one transaction. [`work`] then carries out due effects
//! through the [`Integrations`], each with its idempotency key, and feeds
//! their results back as events: the outbox row is marked done in the same
//! transaction that applies the result. A crash anywhere leaves either the
//! effect pending (it runs again, with the same key) or done with its result
//! applied; never half of each.

mod integrations;
pub mod stuck;

use std::time::Duration;

pub use integrations::{BoxFuture, Deployment, EffectContext, Integrations};

use crate::engine::{self, Effect, Event, Refusal, Timer, TrainRun};
use crate::leadership::{self, Fence};
use crate::store::{self, runs::OutboxEntry, trains::Transition, Conn, Db, DbError};
use crate::train_state::TrainState;

/// Attempts before an effect is given up (deployer calls, judge queries …).
pub const MAX_ATTEMPTS: i64 = 5;
/// First retry delay; doubles per attempt, capped at [`MAX_BACKOFF_MS`].
pub const BASE_BACKOFF_MS: i64 = 2_000;
/// Longest delay between attempts.
pub const MAX_BACKOFF_MS: i64 = 60_000;
/// Longest one effect may take before it counts as a failed attempt.
pub const EFFECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Why an event did not change a train.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("train {0} has no engine state")]
    NotFound(String),
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// Someone else changed the train at the same moment; safe to retry.
    #[error("train {0} changed concurrently; try again")]
    Conflict(String),
    #[error("stored engine state is unreadable: {0}")]
    Corrupt(#[from] serde_json::Error),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for RuntimeError {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(DbError::Other(e))
    }
}

/// Gives a train engine state (when it opens) and wakes it when planning closes.
pub async fn start(db: &Db, run: &TrainRun, planning_closes_at: i64, now: i64) -> Result<bool, RuntimeError> {
    let mut tx = db.begin().await?;
    let started = start_in(&mut tx, run, planning_closes_at, now).await?;
    tx.commit().await?;
    Ok(started)
}

/// [`start`] inside the caller's transaction.
pub async fn start_in(
    conn: &mut Conn,
    run: &TrainRun,
    planning_closes_at: i64,
    now: i64,
) -> Result<bool, RuntimeError> {
    let started = store::runs::insert(conn, &run.train_id, &serde_json::to_string(run)?, now).await?;
    if started {
        let wake = OutboxEntry {
            id: store::new_id(),
            train_id: run.train_id.clone(),
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
            text: format!("train opened for planning; cutover at {}", crate::time::rfc3339(run.cutover_at)),
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
    let (state, _) =
        store::runs::load(&mut conn, train_id).await?.ok_or_else(|| RuntimeError::NotFound(train_id.to_owned()))?;
    Ok(serde_json::from_str(&state)?)
}

/// Applies `event` to the train on behalf of `actor`, storing everything it decided.
pub async fn apply(db: &Db, train_id: &str, event: &Event, actor: &str, now: i64) -> Result<TrainRun, RuntimeError> {
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
    now: i64,
) -> Result<TrainRun, RuntimeError> {
    let (state, version) =
        store::runs::load(conn, train_id).await?.ok_or_else(|| RuntimeError::NotFound(train_id.to_owned()))?;
    let run: TrainRun = serde_json::from_str(&state)?;
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
async fn record_gate_run(
    conn: &mut Conn,
    train_id: &str,
    artifact_id: &str,
    gate: &str,
    outcome: &engine::GateOutcome,
    now: i64,
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

/// Where freezes stand for a train right now.
#[derive(Debug, Clone, PartialEq, Eq)]
enum FreezeNow {
    Clear,
    Holding(String),
    /// A freeze would hold, but a granted break-glass lets the domain through.
    Lifted(String),
}

async fn current_freeze(conn: &mut Conn, train_id: &str, now: i64) -> Result<FreezeNow, RuntimeError> {
    let (domain_id,): (String,) = sqlx::query_as(
        "SELECT d.domain_id FROM trains t JOIN train_definitions d ON d.id = t.definition_id WHERE t.id = $1",
    )
    .bind(train_id)
    .fetch_one(&mut *conn)
    .await?;
    let freezes = store::freezes::list(conn).await?;
    freeze_now(conn, &freezes, &domain_id, now).await
}

/// Which of `freezes` holds `domain_id` now, and whether a break-glass lifts it.
async fn freeze_now(
    conn: &mut Conn,
    freezes: &[store::freezes::Freeze],
    domain_id: &str,
    now: i64,
) -> Result<FreezeNow, RuntimeError> {
    let Some(freeze) = freezes.iter().find(|f| f.holds(domain_id, now)) else { return Ok(FreezeNow::Clear) };
    Ok(match store::approvals::active_break_glass(conn, domain_id, now).await? {
        Some(glass) => FreezeNow::Lifted(format!(
            "a break-glass ({}) approved by {}",
            glass.reason,
            [glass.first_approver, glass.second_approver].into_iter().flatten().collect::<Vec<_>>().join(" and ")
        )),
        None => FreezeNow::Holding(freeze.name.clone()),
    })
}

/// The event that brings the engine's view of freezes up to date, if it is behind.
fn freeze_change(run: &TrainRun, now: FreezeNow) -> Option<Event> {
    match (now, &run.frozen_by) {
        (FreezeNow::Holding(name), Some(known)) if &name == known => None,
        (FreezeNow::Holding(name), _) => Some(Event::FreezeStarted { name }),
        (FreezeNow::Lifted(by), Some(_)) => Some(Event::FreezeLifted { by }),
        (FreezeNow::Clear, Some(_)) => Some(Event::FreezeEnded),
        (FreezeNow::Lifted(_) | FreezeNow::Clear, None) => None,
    }
}

/// Whether the train's next move may be to start a rollout step.
fn may_start_a_step(run: &TrainRun) -> bool {
    use TrainState as S;
    run.step_status == engine::StepStatus::NotStarted
        && matches!(run.phase, S::Preflight | S::Staging | S::Canary | S::Cutover | S::Held | S::Suspended)
}

/// Another train deploying some of `run`'s boarded services, described, if
/// one is: it has started its rollout and not finished it (held and
/// suspended rollouts still count, as do their rollbacks). Read from the
/// candidate rows and the timeline, not the other trains' states.
async fn deploying_elsewhere(conn: &mut Conn, train_id: &str, run: &TrainRun) -> Result<Option<String>, RuntimeError> {
    let ours: Vec<&str> = run.candidates.iter().filter(|c| c.boarded()).map(|c| c.service.as_str()).collect();
    if ours.is_empty() {
        return Ok(None);
    }
    // Until this transaction ends, another replica checking the same services waits, then sees what it decided.
    store::services::lock_for_rollout(conn, &ours).await?;
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT t.id, d.name, s.name FROM trains t JOIN train_definitions d ON d.id = t.definition_id \
         JOIN train_candidates c ON c.train_id = t.id AND c.status = 'boarded' \
         JOIN artifacts a ON a.id = c.artifact_id JOIN services s ON s.id = a.service_id \
         WHERE t.id <> $1 AND t.state IN ('staging', 'canary', 'cutover', 'held', 'suspended') \
         AND EXISTS (SELECT 1 FROM train_events e WHERE e.train_id = t.id \
                     AND e.to_state IN ('staging', 'canary', 'cutover')) \
         ORDER BY t.id, s.name",
    )
    .bind(train_id)
    .fetch_all(&mut *conn)
    .await?;
    let shared = rows.iter().filter(|(_, _, service)| ours.contains(&service.as_str()));
    let Some((other, definition, _)) = shared.clone().next() else { return Ok(None) };
    let services: Vec<&str> = shared.filter(|(id, _, _)| id == other).map(|(_, _, s)| s.as_str()).collect();
    Ok(Some(format!("{definition} train {other} is deploying {}", services.join(", "))))
}

/// The event that brings the engine's view of other trains' deployments up to date, if it is behind.
fn busy_change(run: &TrainRun, busy: Option<String>) -> Option<Event> {
    match (busy, &run.waiting_for) {
        (Some(by), Some(known)) if &by == known => None,
        (Some(by), _) => Some(Event::DeploysBusy { by }),
        (None, Some(_)) => Some(Event::DeploysFree),
        (None, None) => None,
    }
}

/// Tells every train in flight about freezes that began or ended, and every
/// train waiting for another's deployment whether it is done, so a suspended
/// or waiting train goes on by itself.
pub async fn sync_freezes(db: &Db, fence: Fence, now: i64) -> Result<usize, RuntimeError> {
    let (in_flight, freezes): (Vec<(String, String, String)>, _) = {
        let mut conn = db.acquire().await?;
        let in_flight = sqlx::query_as(
            "SELECT r.train_id, r.state, d.domain_id FROM train_runs r JOIN trains t ON t.id = r.train_id \
             JOIN train_definitions d ON d.id = t.definition_id \
             WHERE t.state NOT IN ('completed', 'aborted', 'rolled_back', 'skipped')",
        )
        .fetch_all(&mut *conn)
        .await?;
        (in_flight, store::freezes::list(&mut conn).await?)
    };
    let mut changed = 0;
    for (train_id, state, domain_id) in in_flight {
        let run: TrainRun = serde_json::from_str(&state)?;
        // Read first: a write transaction is begun only for a train whose freeze changed
        // (beginning one tells the read caches that something may have changed).
        let change = {
            let mut conn = db.acquire().await?;
            match freeze_change(&run, freeze_now(&mut conn, &freezes, &domain_id, now).await?) {
                Some(event) => Some(event),
                None if run.waiting_for.is_some() => {
                    busy_change(&run, deploying_elsewhere(&mut conn, &train_id, &run).await?)
                }
                None => None,
            }
        };
        let Some(event) = change else { continue };
        let mut tx = db.begin().await?;
        match apply_in(&mut tx, &train_id, &event, "scheduler", now).await {
            Ok(_) => changed += 1,
            Err(RuntimeError::Refused(_)) => {}
            Err(error) => return Err(error),
        }
        fence.hold(&mut tx).await?;
        tx.commit().await?;
    }
    Ok(changed)
}

/// Where each candidate stands, as `train_candidates` records it.
fn candidate_rows(run: &TrainRun) -> Vec<(String, &'static str, String)> {
    run.candidates
        .iter()
        .map(|candidate| {
            let (status, reason) = match (&candidate.missed, run.phase) {
                (Some(reason), _) => ("missed", reason.clone()),
                (None, _) if candidate.rolled_back.is_some() => {
                    ("rolled_back", candidate.rolled_back.clone().unwrap_or_default())
                }
                // Only what reached production shipped; a rehearsal's candidates were rehearsed.
                (None, TrainState::Completed) if run.production_started_at().is_none() => ("rehearsed", String::new()),
                (None, TrainState::Completed) => ("shipped", String::new()),
                (None, TrainState::RolledBack) => ("rolled_back", String::new()),
                (None, _) => ("boarded", String::new()),
            };
            (candidate.artifact_id.clone(), status, reason)
        })
        .collect()
}

/// What an outbox row holds: an engine effect, or the wake-up that closes planning.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
enum WakeUp {
    PlanningClosed,
    Effect(Effect),
}

/// The effect's own idempotency key where it has one, else one derived from
/// the state version that produced it; timers are due when they fire.
fn key_and_due(train_id: &str, version: i64, index: usize, effect: &Effect, now: i64) -> (String, i64) {
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

/// The delay before attempt `attempts + 1`: exponential, capped, with jitter
/// derived from the key so that retries of many effects spread out.
pub fn backoff_ms(attempts: i64, key: &str) -> i64 {
    let exponential = BASE_BACKOFF_MS.saturating_mul(1_i64 << attempts.clamp(0, 20)).min(MAX_BACKOFF_MS);
    let spread = key.bytes().fold(0_i64, |h, b| (h * 31 + i64::from(b)) % 1000);
    exponential / 2 + exponential / 2 * spread / 1000
}

/// Carries out up to `limit` due effects; returns how many were settled.
/// Each result is stored under `fence`: once the term has ended nothing more
/// is written, and the effect stays pending for the next leader (which
/// repeats it with the same idempotency key).
pub async fn work(
    db: &Db,
    fence: Fence,
    integrations: &dyn Integrations,
    now: i64,
    limit: i64,
) -> Result<usize, RuntimeError> {
    let due = {
        let mut conn = db.acquire().await?;
        store::runs::due(&mut conn, now, limit).await?
    };
    let mut settled = 0;
    for entry in due {
        let wake: WakeUp = serde_json::from_str(&entry.effect)?;
        let context = EffectContext { train_id: entry.train_id.clone(), key: entry.effect_key.clone(), now };
        let result = match &wake {
            WakeUp::PlanningClosed => Ok(Some(Event::PlanningClosed)),
            WakeUp::Effect(effect) => {
                match tokio::time::timeout(EFFECT_TIMEOUT, execute(integrations, &context, effect)).await {
                    Ok(result) => result,
                    Err(_) => Err(anyhow::anyhow!("timed out after {} s", EFFECT_TIMEOUT.as_secs())),
                }
            }
        };
        let mut tx = db.begin().await?;
        match result {
            Ok(event) => {
                if !store::runs::complete(&mut tx, &entry.id, now).await? {
                    continue; // another worker settled it
                }
                if let Some(event) = event {
                    match apply_in(&mut tx, &entry.train_id, &event, "runtime", now).await {
                        Ok(_) | Err(RuntimeError::Refused(_)) => {}
                        Err(error) => return Err(error),
                    }
                }
            }
            Err(error) => {
                let message = format!("{error:#}");
                if entry.attempts + 1 < MAX_ATTEMPTS {
                    if let WakeUp::Effect(Effect::RunGate { artifact_id, gate, .. }) = &wake {
                        let errored = engine::GateOutcome::Errored(message.clone());
                        record_gate_run(&mut tx, &entry.train_id, artifact_id, gate, &errored, now).await?;
                    }
                    tracing::warn!(key = %entry.effect_key, attempt = entry.attempts + 1, error = %message, "effect failed; will retry");
                    store::runs::retry_later(
                        &mut tx,
                        &entry.id,
                        now + backoff_ms(entry.attempts, &entry.effect_key),
                        &message,
                    )
                    .await?;
                } else {
                    tracing::error!(key = %entry.effect_key, error = %message, "effect failed for good");
                    if store::runs::give_up(&mut tx, &entry.id, now, &message).await? {
                        if let WakeUp::Effect(effect) = &wake {
                            if let Some(event) = failure_event(effect, &message) {
                                match apply_in(&mut tx, &entry.train_id, &event, "runtime", now).await {
                                    Ok(_) | Err(RuntimeError::Refused(_)) => {}
                                    Err(error) => return Err(error),
                                }
                            }
                        }
                    }
                }
            }
        }
        fence.hold(&mut tx).await?;
        tx.commit().await?;
        settled += 1;
    }
    Ok(settled)
}

/// Works the outbox every `interval` until `shutdown` turns true or the
/// term behind `fence` ends.
pub async fn run(
    db: Db,
    fence: Fence,
    integrations: std::sync::Arc<dyn Integrations>,
    clock: std::sync::Arc<dyn crate::clock::Clock>,
    interval: Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        match sync_freezes(&db, fence, crate::time::to_ms(clock.now())).await {
            Err(RuntimeError::Db(error)) if leadership::is_stale(&error) => break,
            Err(error) => tracing::error!(error = format!("{error:#}"), "checking freezes failed; retrying"),
            Ok(_) => {}
        }
        loop {
            let now = crate::time::to_ms(clock.now());
            match work(&db, fence, integrations.as_ref(), now, 100).await {
                Ok(0) => break,
                Ok(_) => {}
                Err(RuntimeError::Db(error)) if leadership::is_stale(&error) => {
                    tracing::warn!(%error, "runtime stops");
                    return;
                }
                Err(error) => {
                    tracing::error!(error = format!("{error:#}"), "runtime pass failed; retrying");
                    break;
                }
            }
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            break;
        }
    }
    tracing::info!("runtime stopped");
}

/// Carries out one effect; the event it yields goes back into the engine.
async fn execute(
    integrations: &dyn Integrations,
    context: &EffectContext,
    effect: &Effect,
) -> anyhow::Result<Option<Event>> {
    Ok(match effect {
        Effect::Assemble => Some(Event::Assembled { candidates: integrations.assemble(context).await? }),
        Effect::RunGate { artifact_id, gate, .. } => Some(Event::GateFinished {
            artifact_id: artifact_id.clone(),
            gate: gate.clone(),
            outcome: integrations.run_gate(context, artifact_id, gate).await?,
        }),
        Effect::Deploy { step, .. } => match integrations.deploy(context, *step).await? {
            Deployment::Done => Some(Event::Deployed { step: *step, ok: true, detail: "deployed".into() }),
            // The deployer's status callback delivers `Deployed` later.
            Deployment::Pending => None,
        },
        Effect::Judge { step, .. } => {
            let (verdict, detail) = integrations.judge(context, *step).await?;
            Some(Event::Judged { step: *step, verdict, detail })
        }
        Effect::RollBack { step, .. } => match integrations.roll_back(context, *step, &[]).await? {
            Deployment::Done => Some(Event::RolledBack { step: *step }),
            // The deployer's status callback delivers `RolledBack` (or `RollbackFailed`) later.
            Deployment::Pending => None,
        },
        Effect::RollBackServices { index, step, services, .. } => {
            match integrations.roll_back(context, *step, services).await? {
                Deployment::Done => {
                    Some(Event::ServicesRolledBack { index: *index, ok: true, detail: "rolled back".into() })
                }
                // The deployer's status callback delivers `ServicesRolledBack` later.
                Deployment::Pending => None,
            }
        }
        Effect::SetTimer { timer, .. } => Some(match timer {
            Timer::CutoverDue => Event::CutoverDue,
            Timer::SoakElapsed { step } => Event::SoakElapsed { step: *step },
            Timer::MonitoringElapsed => Event::MonitoringElapsed,
            Timer::BurnCheck { step } => Event::BurnCheckDue { step: *step },
            Timer::ApprovalReminder => Event::ApprovalReminderDue,
            Timer::ApprovalsExpire => Event::ApprovalsExpired,
        }),
        Effect::CheckBurn { step, .. } => {
            Some(Event::BurnChecked { step: *step, burn: integrations.check_burn(context, *step).await? })
        }
        Effect::MeasureRelease { from, to, .. } => {
            integrations.measure(context, *from, *to).await?;
            None
        }
        Effect::CarryOver { artifact_id, reason, reject } => {
            if *reject {
                integrations.reject(context, artifact_id, reason).await?;
            }
            None
        }
        Effect::Reinstate { artifact_id, reason } => {
            integrations.reinstate(context, artifact_id, reason).await?;
            None
        }
        Effect::Notify { notice, text } => {
            integrations.notify(context, *notice, text).await?;
            None
        }
    })
}

/// What the engine hears when an effect failed on every attempt.
fn failure_event(effect: &Effect, message: &str) -> Option<Event> {
    match effect {
        Effect::Deploy { step, .. } => Some(Event::Deployed { step: *step, ok: false, detail: message.to_owned() }),
        Effect::Judge { step, .. } => Some(Event::Judged {
            step: *step,
            verdict: engine::Verdict::NoData,
            detail: format!("analysis failed: {message}"),
        }),
        Effect::RunGate { artifact_id, gate, .. } => Some(Event::GateFinished {
            artifact_id: artifact_id.clone(),
            gate: gate.clone(),
            outcome: engine::GateOutcome::Errored(message.to_owned()),
        }),
        Effect::CheckBurn { step, .. } => {
            Some(Event::BurnChecked { step: *step, burn: engine::Burn::Unknown(message.to_owned()) })
        }
        Effect::RollBack { step, .. } => Some(Event::RollbackFailed { step: *step, detail: message.to_owned() }),
        Effect::RollBackServices { index, .. } => {
            Some(Event::ServicesRolledBack { index: *index, ok: false, detail: message.to_owned() })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_spread() {
        assert!(backoff_ms(0, "a") >= BASE_BACKOFF_MS / 2 && backoff_ms(0, "a") <= BASE_BACKOFF_MS);
        assert!(backoff_ms(3, "a") > backoff_ms(1, "a"));
        assert!(backoff_ms(30, "a") <= MAX_BACKOFF_MS);
        assert_ne!(backoff_ms(2, "train-1:deploy:0"), backoff_ms(2, "train-2:deploy:0"));
    }
}
