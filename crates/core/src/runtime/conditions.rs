//! The world around a train, read at every decision: freezes (and the
//! break-glass that lifts one) and other trains deploying the same services.

use super::apply::apply_in;
use super::RuntimeError;
use crate::engine::{self, Event, TrainRun};
use crate::leadership::Fence;
use crate::store::{self, Conn, Db};
use crate::train_state::TrainState;
use railyard_domain::time::Instant;

/// Where freezes stand for a train right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum FreezeNow {
    Clear,
    Holding(String),
    /// A freeze would hold, but a granted break-glass lets the domain through.
    Lifted(String),
}

pub(super) async fn current_freeze(conn: &mut Conn, train_id: &str, now: Instant) -> Result<FreezeNow, RuntimeError> {
    let domain_id = store::trains::domain_id_of(conn, train_id).await?;
    let freezes = store::freezes::list(conn).await?;
    freeze_now(conn, &freezes, &domain_id, now).await
}

/// Which of `freezes` holds `domain_id` now, and whether a break-glass lifts it.
async fn freeze_now(
    conn: &mut Conn,
    freezes: &[store::freezes::Freeze],
    domain_id: &str,
    now: Instant,
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
pub(super) fn freeze_change(run: &TrainRun, now: FreezeNow) -> Option<Event> {
    match (now, &run.frozen_by) {
        (FreezeNow::Holding(name), Some(known)) if &name == known => None,
        (FreezeNow::Holding(name), _) => Some(Event::FreezeStarted { name }),
        (FreezeNow::Lifted(by), Some(_)) => Some(Event::FreezeLifted { by }),
        (FreezeNow::Clear, Some(_)) => Some(Event::FreezeEnded),
        (FreezeNow::Lifted(_) | FreezeNow::Clear, None) => None,
    }
}

/// Whether the train's next move may be to start a rollout step.
pub(super) fn may_start_a_step(run: &TrainRun) -> bool {
    use TrainState as S;
    run.step_status == engine::StepStatus::NotStarted
        && matches!(run.phase, S::Preflight | S::Staging | S::Canary | S::Cutover | S::Held | S::Suspended)
}

/// Another train deploying some of `run`'s boarded services, described, if
/// one is: it has started its rollout and not finished it (held and
/// suspended rollouts still count, as do their rollbacks). Read from the
/// candidate rows and the timeline, not the other trains' states.
pub(super) async fn deploying_elsewhere(
    conn: &mut Conn,
    train_id: &str,
    run: &TrainRun,
) -> Result<Option<String>, RuntimeError> {
    let ours: Vec<&str> = run.candidates.iter().filter(|c| c.boarded()).map(|c| c.service.as_str()).collect();
    if ours.is_empty() {
        return Ok(None);
    }
    // Until this transaction ends, another replica checking the same services waits, then sees what it decided.
    store::services::lock_for_rollout(conn, &ours).await?;
    let rows = store::trains::deploying_services(conn, train_id).await?;
    let shared = rows.iter().filter(|(_, _, service)| ours.contains(&service.as_str()));
    let Some((other, definition, _)) = shared.clone().next() else { return Ok(None) };
    let services: Vec<&str> = shared.filter(|(id, _, _)| id == other).map(|(_, _, s)| s.as_str()).collect();
    Ok(Some(format!("{definition} train {other} is deploying {}", services.join(", "))))
}

/// The event that brings the engine's view of other trains' deployments up to date, if it is behind.
pub(super) fn busy_change(run: &TrainRun, busy: Option<String>) -> Option<Event> {
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
pub async fn sync_freezes(db: &Db, fence: Fence, now: Instant) -> Result<usize, RuntimeError> {
    let (in_flight, freezes): (Vec<(String, String, String)>, _) = {
        let mut conn = db.acquire().await?;
        let in_flight = store::runs::in_flight_with_domain(&mut conn).await?;
        (in_flight, store::freezes::list(&mut conn).await?)
    };
    let mut changed = 0;
    for (train_id, state, domain_id) in in_flight {
        let Some(run) = store::runs::decode_listed(&train_id, &state) else { continue };
        // Read first: a write transaction is begun only for a train whose freeze changed
        // (writing is slower, and a change empties the read caches).
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
