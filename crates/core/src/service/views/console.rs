//! The console for one person: trains in flight with the actions their
//! roles allow now, candidates and break-glass requests waiting for them.

use railyard_domain::time::Instant;
use railyard_views::console::{
    BreakGlassItem, ConsoleTrain, ConsoleView, EmergencyCandidate, EmergencyOption, OverrideStep, PendingCandidate,
    ServiceContact, TrainAction, UndecidedGate,
};
use railyard_views::session::Viewer;

use crate::auth::{Binding, Caller, Permission, Principal};
use crate::engine::{Action, Candidate, Gate, GateState, TrainRun};
use crate::service::{break_glass, Ctx, ServiceError};
use crate::store::{self, Conn};
use crate::train_state::TrainState;

/// Most trains the console lists.
const MAX_TRAINS: i64 = 100;
/// How far back candidates waiting for approval are looked for.
const CANDIDATE_WINDOW_MS: i64 = 30 * 24 * 3_600_000;

/// The page's idea of the signed-in person.
pub fn viewer_of(principal: &Principal) -> Option<Viewer> {
    match principal {
        Principal::User { name, bindings, .. } => {
            Some(Viewer { name: name.clone(), roles: bindings.iter().map(Binding::label).collect() })
        }
        _ => None,
    }
}

/// The console as `caller` may see and use it.
pub async fn build(ctx: Ctx<'_>, caller: &Caller) -> Result<ConsoleView, ServiceError> {
    caller.principal.require(Permission::Read, None)?;
    let viewer = viewer_of(&caller.principal)
        .ok_or_else(|| ServiceError::Forbidden("the console is for people; API tokens use the API".into()))?;
    let now = ctx.now();
    let mut conn = ctx.db.acquire().await?;
    let (trains, undecided) = trains(&mut conn, caller, now).await?;
    let approvals = if caller.principal.can_somewhere(Permission::Approve) {
        waiting_candidates(&mut conn, caller, &viewer.name, now).await?
    } else {
        Vec::new()
    };
    let break_glass = store::approvals::break_glasses(&mut conn)
        .await?
        .into_iter()
        .take(20)
        .map(|request| {
            let status = break_glass::status(&request, now).to_owned();
            let approvers: Vec<String> =
                [request.first_approver, request.second_approver].into_iter().flatten().collect();
            let can_approve = status == "pending"
                && caller.principal.can(Permission::Approve, Some(&request.domain))
                && request.requested_by != viewer.name
                && !approvers.contains(&viewer.name);
            BreakGlassItem {
                id: request.id,
                domain: request.domain,
                requested_by: request.requested_by,
                reason: request.reason,
                status,
                approvers,
                can_approve,
            }
        })
        .collect();
    let domains = store::domains::list(&mut conn).await?;
    let operable = |domain_id: &str| {
        domains.iter().find(|d| d.id == domain_id).filter(|d| caller.principal.can(Permission::Operate, Some(&d.name)))
    };
    let mut emergency = Vec::new();
    for definition in store::definitions::list(&mut conn).await? {
        let Some(domain) = operable(&definition.domain_id) else { continue };
        let services = store::definitions::service_ids(&mut conn, &definition.id).await?;
        let candidates: Vec<EmergencyCandidate> = store::artifacts::newest_boardable(&mut conn, &services)
            .await?
            .into_iter()
            .map(|a| EmergencyCandidate { artifact_id: a.id.into(), service: a.service, version: a.version })
            .collect();
        if !candidates.is_empty() {
            emergency.push(EmergencyOption { definition: definition.name, domain: domain.name.clone(), candidates });
        }
    }
    let operable_domains = domains.iter().filter(|d| operable(&d.id).is_some()).map(|d| d.name.clone()).collect();
    let can_freeze_everywhere = caller.principal.can(Permission::Operate, None);
    Ok(ConsoleView {
        viewer,
        trains,
        approvals,
        break_glass,
        operable_domains,
        emergency,
        can_freeze_everywhere,
        undecided,
    })
}

/// The trains in flight, and the undecided gates on those `caller` may operate.
pub(super) async fn trains(
    conn: &mut Conn,
    caller: &Caller,
    now: Instant,
) -> Result<(Vec<ConsoleTrain>, Vec<UndecidedGate>), ServiceError> {
    let rows = store::views::console_trains(conn, MAX_TRAINS).await?;
    let services = store::services::list(conn).await?;
    let mut trains = Vec::new();
    let mut undecided = Vec::new();
    for row in rows {
        let run = row.decoded_run();
        let store::views::ConsoleTrainRow { id, name, domain, phase, cutover_at, kind, definition_id, .. } = row;
        let contacts = store::definitions::service_ids(conn, &definition_id)
            .await?
            .iter()
            .filter_map(|service_id| services.iter().find(|s| &s.id == service_id))
            .map(|s| ServiceContact {
                name: s.name.clone(),
                owner: s.owner.clone(),
                runbook_url: s.runbook_url.clone(),
                on_call: s.on_call.clone(),
            })
            .collect();
        let operator = caller.principal.can(Permission::Operate, Some(&domain));
        let allowed = match &run {
            Some(run) if operator => crate::engine::allowed(run, now),
            _ => crate::engine::Allowed::default(),
        };
        let mut actions: Vec<TrainAction> = allowed.train.iter().filter_map(train_action).collect();
        if !allowed.services_alone.is_empty() {
            actions.push(TrainAction::RollBackService);
        }
        let rollback_services = allowed.services_alone;
        let approver = caller.principal.can(Permission::Approve, Some(&domain));
        if let Some(run) = run.as_ref().filter(|_| operator || approver) {
            undecided.extend(gates_waiting(run, caller, operator, approver, now).into_iter().map(|(c, g, offer)| {
                UndecidedGate {
                    train_id: id.clone(),
                    train: name.clone(),
                    artifact_id: c.artifact_id.to_string(),
                    service: c.service.clone(),
                    gate: g.name.clone(),
                    state: g.state.name().to_owned(),
                    detail: g.state.detail(),
                    waivable: operator
                        && crate::engine::allows(
                            run,
                            &Action::WaiveGate { artifact_id: c.artifact_id.clone(), gate: g.name.clone() },
                            now,
                        ),
                    override_offer: offer,
                    override_request: g
                        .override_request
                        .as_ref()
                        .map(|r| {
                            format!("{} asked for an override: {} (lapses {})", r.by, r.reason, r.expires_at.rfc3339())
                        })
                        .unwrap_or_default(),
                    removable: operator && c.boarded(),
                }
            }));
        }
        let waiting_reason = if matches!(phase, TrainState::Held | TrainState::Suspended) {
            store::trains::events(conn, &id)
                .await?
                .into_iter()
                .rev()
                .find(|event| event.to_state.as_deref() == Some(phase.as_str()))
                .map(|event| event.reason)
                .unwrap_or_default()
        } else {
            String::new()
        };
        trains.push(ConsoleTrain {
            step: run.as_ref().map(step_text).unwrap_or_default(),
            id,
            name,
            domain,
            phase: phase.as_str().to_owned(),
            cutover_at: cutover_at.ms(),
            waiting_reason,
            kind,
            actions,
            rollback_services,
            services: contacts,
        });
    }
    Ok((trains, undecided))
}

/// The gates on `run` that wait for this person, with the override step
/// they may take: undecided gates of boarded candidates for release managers
/// (to waive, ask for an override of a blocked one, or take the candidate
/// off), failed gates they may ask to override, and override requests an
/// approver other than the asker may grant. The engine still has the last word.
fn gates_waiting<'a>(
    run: &'a TrainRun,
    caller: &Caller,
    operator: bool,
    approver: bool,
    now: Instant,
) -> Vec<(&'a Candidate, &'a Gate, Option<OverrideStep>)> {
    let preflight = run.paused_from.unwrap_or(run.phase) == TrainState::Preflight;
    let actor = caller.principal.actor();
    let mut waiting = Vec::new();
    for candidate in run.candidates.iter().filter(|c| c.rolled_back.is_none()) {
        for gate in &candidate.gates {
            let overridable = preflight
                && run.overrides_allowed
                && matches!(gate.state, GateState::Failed { .. } | GateState::Blocked { .. })
                && !crate::engine::is_approval_gate(&gate.name);
            let open = gate.override_request.as_ref().filter(|r| r.open_at(now));
            let offer = match open {
                Some(request) if overridable && approver && !request.by.eq_ignore_ascii_case(&actor) => {
                    Some(OverrideStep::Grant)
                }
                None if overridable && operator => Some(OverrideStep::Ask),
                _ => None,
            };
            let undecided = operator
                && candidate.boarded()
                && matches!(
                    gate.state,
                    GateState::Inconclusive { .. } | GateState::Errored { .. } | GateState::Blocked { .. }
                );
            if undecided || offer.is_some() || (operator && overridable && open.is_some()) {
                waiting.push((candidate, gate, offer));
            }
        }
    }
    waiting
}

/// The console's button for a train-wide action.
fn train_action(action: &Action) -> Option<TrainAction> {
    Some(match action {
        Action::Hold => TrainAction::Hold,
        Action::Resume => TrainAction::Resume,
        Action::Promote => TrainAction::Promote,
        Action::Abort => TrainAction::Abort,
        Action::RollBack => TrainAction::RollBack,
        _ => return None,
    })
}

fn step_text(run: &TrainRun) -> String {
    use TrainState as S;
    let active = matches!(run.phase, S::Staging | S::Canary | S::Cutover | S::Monitoring)
        || matches!(run.paused_from, Some(S::Staging | S::Canary | S::Cutover | S::Monitoring));
    match run.rollout.get(run.current_step) {
        Some(step) if active => {
            let region = step.region.as_deref().map(|r| format!(" in {r}")).unwrap_or_default();
            format!("{} of {}: {} ({}%{region})", run.current_step + 1, run.rollout.len(), step.name, step.weight)
        }
        _ if run.rollout.len() == 1 => "1 step planned".to_owned(),
        _ => format!("{} steps planned", run.rollout.len()),
    }
}

/// The newest candidate of each service in the caller's approver domains
/// that still needs approvals, was not written by the caller, and the
/// caller has not decided on yet.
async fn waiting_candidates(
    conn: &mut Conn,
    caller: &Caller,
    name: &str,
    now: Instant,
) -> Result<Vec<PendingCandidate>, ServiceError> {
    let rows = store::views::waiting_candidates(conn, now - CANDIDATE_WINDOW_MS, name).await?;
    let mut waiting = Vec::new();
    let user_id = match &caller.principal {
        Principal::User { id, .. } => id.clone(),
        _ => String::new(),
    };
    for (artifact_id, service, version, author, domain, domain_id) in rows {
        if !caller.principal.can(Permission::Approve, Some(&domain))
            || store::users::is_author(conn, &user_id, name, &author).await?
        {
            continue;
        }
        let author_known = store::users::author(conn, &author).await?.is_some();
        let required = store::approvals::required(conn, &domain_id).await?;
        let approved = store::approvals::approved_count(conn, &artifact_id).await?;
        if approved < required {
            waiting.push(PendingCandidate {
                artifact_id,
                service,
                version,
                author,
                author_known,
                domain,
                approved,
                required,
            });
        }
    }
    Ok(waiting)
}
