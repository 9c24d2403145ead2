//! Trains: opening one, and operating one. The scheduler opens the trains
//! its cadences created, the emergency endpoint opens one on demand and the
//! demo driver keeps a fast one in flight; all three go through [`open`].
//! Operators (the API and the console) act through [`operate`]; the engine
//! decides whether the action makes sense now.

use anyhow::Context;
use railyard_domain::time::Instant;
use serde_json::json;

use super::{approvals, Ctx, ServiceError};
use crate::auth::{Caller, Permission};
use crate::engine::{default_rollout, Action, Event, RolloutStep, TrainRun};
use crate::ids::TrainId;
use crate::runtime::{self, RuntimeError};
use crate::store::definitions::Definition;
use crate::store::trains::{TrainListing, Transition};
use crate::store::{self, Conn};
use crate::train_kind::TrainKind;
use crate::train_state::TrainState;

/// A stored `Scheduled` train about to open for planning.
pub struct Opening<'a> {
    pub train_id: &'a str,
    pub definition: &'a Definition,
    pub kind: TrainKind,
    pub cutover_at: Instant,
    /// When planning closes and assembly starts.
    pub planning_closes_at: Instant,
    /// Who opens it, and why, for the timeline.
    pub actor: &'a str,
    pub reason: &'a str,
    /// The demo's pace instead of the definition's; `None` for every real train.
    pub demo_pace: Option<DemoPace>,
}

/// The live demo's rollout, which takes seconds instead of hours.
pub struct DemoPace {
    pub rollout: Vec<RolloutStep>,
    pub monitoring_ms: i64,
    pub burn_check_ms: i64,
}

/// Opens `opening.train_id` (`Scheduled` → `Planning`) and starts its engine
/// with the rollout its definition and kind give. `false` when the train
/// was no longer `Scheduled` (another replica or request opened it first).
pub async fn open(tx: &mut Conn, opening: Opening<'_>, now: Instant) -> Result<bool, RuntimeError> {
    let change = Transition {
        from: TrainState::Scheduled,
        to: TrainState::Planning,
        at: now,
        actor: opening.actor,
        reason: opening.reason,
    };
    if !store::trains::transition(tx, opening.train_id, change).await? {
        return Ok(false);
    }
    let run = match opening.demo_pace {
        Some(pace) => TrainRun {
            burn_check_ms: pace.burn_check_ms,
            ..TrainRun::opened(opening.train_id, opening.cutover_at, pace.rollout, pace.monitoring_ms)
        },
        None => {
            let definition = opening.definition;
            // A train follows its kind's policy (a rehearsal never gets a production step).
            let policy = store::kinds::policy(tx, opening.kind).await?;
            let declared: Vec<RolloutStep> = definition.rollout.0.clone();
            let rollout = policy.rollout(if declared.is_empty() { default_rollout() } else { declared });
            TrainRun {
                overrides_allowed: definition.overrides_allowed(),
                ..TrainRun::opened(
                    opening.train_id,
                    opening.cutover_at,
                    rollout,
                    policy.monitoring_ms(definition.monitoring_ms),
                )
            }
        }
    };
    runtime::start_in(tx, &run, opening.planning_closes_at, now).await?;
    Ok(true)
}

/// Who may ask for `action`: approvers grant overrides, release managers do the rest.
fn permission_for(action: &Action) -> Permission {
    match action {
        Action::GrantOverride { .. } => Permission::Approve,
        _ => Permission::Operate,
    }
}

/// What the audit log calls `action`.
fn audit_action(action: &Action) -> &'static str {
    match action {
        Action::RequestOverride { .. } => "gate.override_requested",
        Action::GrantOverride { .. } => "gate.override_granted",
        Action::WaiveGate { .. } => "gate.waived",
        _ => "train.operator_action",
    }
}

/// The name of the domain train `id` runs for; 404 for an unknown train.
pub async fn domain_of(conn: &mut Conn, id: &str) -> Result<String, ServiceError> {
    store::domains::of_train(conn, id).await?.ok_or_else(|| ServiceError::NotFound(format!("no train has id \"{id}\"")))
}

/// Applies an operator's `action` (with `reason`, required for anything
/// destructive) to train `id`, audited; answers with the train's new phase.
pub async fn operate(
    ctx: Ctx<'_>,
    caller: &Caller,
    id: &TrainId,
    action: Action,
    reason: &str,
) -> Result<TrainState, ServiceError> {
    let permission = permission_for(&action);
    caller.principal.require_somewhere(permission)?;
    let mut tx = ctx.db.begin().await?;
    let domain = domain_of(&mut tx, id).await?;
    caller.principal.require(permission, Some(&domain))?;
    let reason = reason.trim();
    let destructive = matches!(
        action,
        Action::Abort
            | Action::RollBack
            | Action::RollBackServices { .. }
            | Action::RemoveCandidate { .. }
            | Action::WaiveGate { .. }
            | Action::RequestOverride { .. }
            | Action::GrantOverride { .. }
    );
    if destructive && reason.is_empty() {
        return Err(ServiceError::invalid("this action needs a reason; it goes into the timeline and the audit log"));
    }
    if let Action::GrantOverride { artifact_id, .. } = &action {
        not_the_author(&mut tx, caller, artifact_id).await?;
    }
    if let Action::RollBackServices { services } = &action {
        if services.iter().all(|s| s.trim().is_empty()) {
            return Err(ServiceError::invalid("`services` names no service; name at least one to roll back"));
        }
    }
    let actor = caller.principal.actor();
    let now = ctx.now();
    let event = Event::Operator { actor: actor.clone(), action: action.clone(), reason: reason.to_owned() };
    let run = runtime::apply_in(&mut tx, id, &event, &actor, now).await?;
    let after = json!({ "phase": run.phase, "action": action, "reason": reason });
    let entry = caller.audit(audit_action(&action), &format!("train:{id}")).change(&serde_json::Value::Null, &after);
    store::audit::append(&mut tx, &entry, now).await?;
    ctx.commit(tx).await.context("committing the operator action")?;
    Ok(run.phase)
}

/// Refuses an override granted by the artifact's own author (under any of their identities).
async fn not_the_author(conn: &mut Conn, caller: &Caller, artifact_id: &str) -> Result<(), ServiceError> {
    let name = caller.principal.user_name().unwrap_or_default();
    let Some(artifact) = store::artifacts::by_id(conn, artifact_id).await? else { return Ok(()) };
    if approvals::caller_is_author(conn, caller, &artifact.author).await? {
        return Err(ServiceError::Forbidden(format!(
            "{name} authored {} {}; someone else must grant its override",
            artifact.service, artifact.version
        )));
    }
    Ok(())
}

/// Most candidates one emergency train may carry.
const MAX_CANDIDATES: usize = 20;

/// A train to start out of its cadence.
pub struct OnDemand<'a> {
    pub definition: &'a str,
    pub kind: TrainKind,
    pub artifacts: &'a [String],
    pub reason: &'a str,
}

/// Starts an emergency train (`kind`: `emergency`, the default, or `hotfix`) of
/// `definition` now for the listed candidates.
pub async fn start_emergency(
    ctx: Ctx<'_>,
    caller: &Caller,
    definition: &str,
    artifacts: &[String],
    reason: &str,
    kind: Option<&str>,
) -> Result<TrainListing, ServiceError> {
    caller.principal.require_somewhere(Permission::Operate)?;
    let kind = match kind.unwrap_or("emergency") {
        "emergency" => TrainKind::Emergency,
        "hotfix" => TrainKind::Hotfix,
        other => {
            return Err(ServiceError::invalid(format!(
            "`kind` is \"emergency\" or \"hotfix\", not \"{other}\" (a rehearsal starts at /api/v1/trains/rehearsal)"
        )))
        }
    };
    let reason = reason.trim();
    if reason.chars().count() < 10 {
        return Err(ServiceError::invalid("say why this cannot wait for the next train (at least 10 characters)"));
    }
    if artifacts.is_empty() || artifacts.len() > MAX_CANDIDATES {
        return Err(ServiceError::invalid(format!("list between 1 and {MAX_CANDIDATES} artifact ids in `artifacts`")));
    }
    open_on_demand(ctx, caller, OnDemand { definition, kind, artifacts, reason }).await
}

/// Starts a rehearsal of `definition` now: its next candidates through staging, never production.
pub async fn start_rehearsal(
    ctx: Ctx<'_>,
    caller: &Caller,
    definition: &str,
    reason: &str,
) -> Result<TrainListing, ServiceError> {
    let reason = reason.trim();
    if reason.chars().count() < 10 {
        return Err(ServiceError::invalid("say what this rehearsal is for (at least 10 characters)"));
    }
    open_on_demand(ctx, caller, OnDemand { definition, kind: TrainKind::Rehearsal, artifacts: &[], reason }).await
}

/// Opens a train of `wanted.kind` now, in one transaction with its audit entry.
pub async fn open_on_demand(ctx: Ctx<'_>, caller: &Caller, wanted: OnDemand<'_>) -> Result<TrainListing, ServiceError> {
    caller.principal.require_somewhere(Permission::Operate)?;
    let OnDemand { kind, reason, .. } = wanted;
    let mut tx = ctx.db.begin().await?;
    let definition = store::definitions::by_name(&mut tx, wanted.definition)
        .await?
        .ok_or_else(|| ServiceError::Unprocessable(format!("no train definition called \"{}\"", wanted.definition)))?;
    let domain = store::domains::of_definition(&mut tx, &definition.id).await?.unwrap_or_default();
    caller.principal.require(Permission::Operate, Some(&domain))?;
    let service_ids = store::definitions::service_ids(&mut tx, &definition.id).await?;
    let mut boarded: Vec<(String, String)> = Vec::new();
    for id in wanted.artifacts {
        let artifact = store::artifacts::by_id(&mut tx, id)
            .await?
            .ok_or_else(|| ServiceError::Unprocessable(format!("no artifact has id \"{id}\"")))?;
        if let Some(why) = &artifact.rejected_reason {
            return Err(ServiceError::Unprocessable(format!(
                "{} {} was rejected for good ({why}) and can never board",
                artifact.service, artifact.version
            )));
        }
        if !service_ids.contains(&artifact.service_id) {
            return Err(ServiceError::Unprocessable(format!(
                "{} is not one of the services of {}",
                artifact.service, definition.name
            )));
        }
        if let Some((_, version)) = boarded.iter().find(|(service, _)| *service == artifact.service) {
            return Err(ServiceError::Unprocessable(format!(
                "{} is listed twice ({version} and {}); a train carries one build per service",
                artifact.service, artifact.version
            )));
        }
        boarded.push((artifact.service, artifact.version));
    }
    let now = ctx.now();
    let cutover = (now, now + definition.cutover_window_ms);
    let id =
        store::trains::insert_on_demand(&mut tx, &definition.id, kind, wanted.artifacts, reason, cutover, now).await?;
    let actor = caller.principal.actor();
    let opened = format!("{kind} train started by {actor}: {reason}");
    let opening = Opening {
        train_id: &id,
        definition: &definition,
        kind,
        cutover_at: now,
        planning_closes_at: now,
        actor: &actor,
        reason: &opened,
        demo_pace: None,
    };
    open(&mut tx, opening, now).await?;
    let action = if kind == TrainKind::Rehearsal { "train.rehearsal_started" } else { "train.emergency_started" };
    let entry = caller.audit(action, &format!("train:{id}")).change(
        &serde_json::Value::Null,
        &json!({ "definition": definition.name, "kind": kind, "artifacts": wanted.artifacts, "reason": reason }),
    );
    store::audit::append(&mut tx, &entry, now).await?;
    let listing = store::trains::by_id(&mut tx, &id).await?.ok_or(store::DbError::NotFound)?;
    ctx.commit(tx).await.context("committing the new train")?;
    Ok(listing)
}
