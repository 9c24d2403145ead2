//! The console for one person: trains in flight with the actions their
//! roles allow now, candidates and break-glass requests waiting for them.

use app::console::{
    BreakGlassItem, ConsoleTrain, ConsoleView, EmergencyCandidate, EmergencyOption, OverrideStep, PendingCandidate,
    ServiceContact, TrainAction, UndecidedGate,
};
use app::session::Viewer;

use crate::api::{break_glass, ApiError, ApiState};
use crate::auth::{Caller, Permission, Principal};
use crate::engine::{Candidate, Gate, GateState, HoldReason, StepStatus, TrainRun};
use crate::store::{self, Conn};
use crate::time::{rfc3339, to_ms};
use crate::train_state::TrainState;

/// Most trains the console lists.
const MAX_TRAINS: i64 = 100;
/// How far back candidates waiting for approval are looked for.
const CANDIDATE_WINDOW_MS: i64 = 30 * 24 * 3_600_000;

/// The page's idea of the signed-in person.
pub fn viewer_of(principal: &Principal) -> Option<Viewer> {
    match principal {
        Principal::User { name, bindings, .. } => {
            Some(Viewer { name: name.clone(), roles: bindings.iter().map(super::admin::binding_text).collect() })
        }
        _ => None,
    }
}

/// The console as `caller` may see and use it.
pub async fn build(state: &ApiState, caller: &Caller) -> Result<ConsoleView, ApiError> {
    caller.require(Permission::Read, None)?;
    let viewer = viewer_of(&caller.principal)
        .ok_or_else(|| ApiError::Forbidden("the console is for people; API tokens use the API".into()))?;
    let now = to_ms(state.clock.now());
    let mut conn = state.db.acquire().await?;
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
            let domain = request.domain.clone();
            let view = break_glass::view(request, now);
            let can_approve = view.status == "pending"
                && caller.principal.can(Permission::Approve, Some(&domain))
                && view.requested_by != viewer.name
                && !view.approvers.contains(&viewer.name);
            BreakGlassItem {
                id: view.id,
                domain: view.domain,
                requested_by: view.requested_by,
                reason: view.reason,
                status: view.status,
                approvers: view.approvers,
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
            .map(|a| EmergencyCandidate { artifact_id: a.id, service: a.service, version: a.version })
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

/// A train in flight as the console's query reads it.
#[derive(sqlx::FromRow)]
struct TrainRow {
    id: String,
    name: String,
    domain: String,
    phase: String,
    cutover_at: i64,
    /// The engine state (JSON), once the train has opened.
    run: Option<String>,
    kind: String,
    definition_id: String,
}

/// The trains in flight, and the undecided gates on those `caller` may operate.
async fn trains(
    conn: &mut Conn,
    caller: &Caller,
    now: i64,
) -> Result<(Vec<ConsoleTrain>, Vec<UndecidedGate>), ApiError> {
    let rows: Vec<TrainRow> = sqlx::query_as(
        "SELECT t.id, d.name AS name, m.name AS domain, t.state AS phase, t.cutover_at, r.state AS run, t.kind, \
         t.definition_id \
         FROM trains t \
         JOIN train_definitions d ON d.id = t.definition_id JOIN domains m ON m.id = d.domain_id \
         LEFT JOIN train_runs r ON r.train_id = t.id \
         WHERE t.state NOT IN ('scheduled', 'completed', 'aborted', 'rolled_back', 'skipped') \
         ORDER BY t.cutover_at, d.name LIMIT $1",
    )
    .bind(MAX_TRAINS)
    .fetch_all(&mut *conn)
    .await?;
    let services = store::services::list(conn).await?;
    let mut trains = Vec::new();
    let mut undecided = Vec::new();
    for TrainRow { id, name, domain, phase, cutover_at, run, kind, definition_id } in rows {
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
        let run: Option<TrainRun> = run.and_then(|json| serde_json::from_str(&json).ok());
        let phase: TrainState = phase.parse().unwrap_or(TrainState::Scheduled);
        let operator = caller.principal.can(Permission::Operate, Some(&domain));
        let rollback_services = match &run {
            Some(run) if operator => alone(run),
            _ => Vec::new(),
        };
        let mut actions = if operator && run.is_some() { offered(phase, run.as_ref()) } else { Vec::new() };
        if !rollback_services.is_empty() {
            actions.push(TrainAction::RollBackService);
        }
        let approver = caller.principal.can(Permission::Approve, Some(&domain));
        if let Some(run) = run.as_ref().filter(|_| operator || approver) {
            undecided.extend(gates_waiting(run, caller, operator, approver, now).into_iter().map(|(c, g, offer)| {
                UndecidedGate {
                    train_id: id.clone(),
                    train: name.clone(),
                    artifact_id: c.artifact_id.clone(),
                    service: c.service.clone(),
                    gate: g.name.clone(),
                    state: g.state.name().to_owned(),
                    detail: g.state.detail(),
                    waivable: operator
                        && matches!(g.state, GateState::Inconclusive { .. } | GateState::Errored { .. })
                        && !crate::engine::is_approval_gate(&g.name),
                    override_offer: offer,
                    override_request: g
                        .override_request
                        .as_ref()
                        .map(|r| {
                            format!("{} asked for an override: {} (lapses {})", r.by, r.reason, rfc3339(r.expires_at))
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
            cutover_at,
            waiting_reason,
            kind: kind.clone(),
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
    now: i64,
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

/// The actions that make sense in `phase` (the engine still has the last word).
fn offered(phase: TrainState, run: Option<&TrainRun>) -> Vec<TrainAction> {
    use TrainState as S;
    let deployed = |phase: TrainState| matches!(phase, S::Staging | S::Canary | S::Cutover | S::Monitoring);
    match phase {
        S::Planning | S::Assembling | S::Preflight => vec![TrainAction::Hold, TrainAction::Abort],
        S::Staging | S::Canary => vec![TrainAction::Hold, TrainAction::Promote, TrainAction::RollBack],
        S::Cutover | S::Monitoring => vec![TrainAction::Hold, TrainAction::RollBack],
        S::Held => match run.and_then(|run| run.hold.clone()) {
            // A whole-train rollback failed; a failed rollback of some services leaves the rest deployed.
            Some(HoldReason::Rollback) if run.is_some_and(|run| run.step_status == StepStatus::RollingBack) => {
                vec![TrainAction::RollBack, TrainAction::Abort]
            }
            Some(HoldReason::Rollback) => vec![TrainAction::Resume, TrainAction::RollBack],
            Some(HoldReason::Analysis) if run.is_some_and(|run| run.roll_forward_only().is_some()) => {
                vec![TrainAction::Promote]
            }
            Some(HoldReason::Analysis) => vec![TrainAction::Promote, TrainAction::RollBack],
            _ => {
                let from = run.and_then(|run| run.paused_from).unwrap_or(S::Planning);
                let undo = if deployed(from) { TrainAction::RollBack } else { TrainAction::Abort };
                vec![TrainAction::Resume, undo]
            }
        },
        S::Suspended => vec![TrainAction::Abort],
        _ => Vec::new(),
    }
}

/// The services that can be rolled back alone now (the engine still has
/// the last word): after a failed rollback of some, those again; otherwise,
/// while the rollout is deployed and at rest, each reversible service of two
/// or more on board.
fn alone(run: &TrainRun) -> Vec<String> {
    if run.phase == TrainState::Held && run.hold == Some(HoldReason::Rollback) {
        let failed = run.service_rollbacks.iter().rev().find(|r| r.failure.is_some());
        return failed.map(|r| r.services.clone()).unwrap_or_default();
    }
    let at_rest = !matches!(run.step_status, StepStatus::Deploying | StepStatus::RollingBack)
        && run.service_rollback_running().is_none();
    let on_board: Vec<_> = run.candidates.iter().filter(|c| c.boarded()).collect();
    if !run.has_deployed() || !at_rest || on_board.len() < 2 {
        return Vec::new();
    }
    on_board.iter().filter(|c| c.irreversible.is_empty()).map(|c| c.service.clone()).collect()
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
    now: i64,
) -> Result<Vec<PendingCandidate>, ApiError> {
    let rows: Vec<(String, String, String, String, String, String)> = sqlx::query_as(
        "SELECT a.id, s.name, a.version, a.author, m.name, m.id FROM artifacts a \
         JOIN services s ON s.id = a.service_id JOIN domains m ON m.id = s.domain_id \
         WHERE a.rejected_at IS NULL AND a.created_at > $1 \
         AND a.created_at = (SELECT MAX(b.created_at) FROM artifacts b WHERE b.service_id = a.service_id) \
         AND NOT EXISTS (SELECT 1 FROM approvals p WHERE p.artifact_id = a.id AND (p.approver = $2 OR p.decision = 'rejected')) \
         ORDER BY m.name, s.name",
    )
    .bind(now - CANDIDATE_WINDOW_MS)
    .bind(name)
    .fetch_all(&mut *conn)
    .await?;
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
        let approved: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM approvals WHERE artifact_id = $1 AND decision = 'approved'")
                .bind(&artifact_id)
                .fetch_one(&mut *conn)
                .await?;
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
