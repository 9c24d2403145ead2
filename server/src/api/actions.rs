//! Operator actions on a train: hold, resume, promote, abort, roll back (the
//! whole train or some services), waive a gate and ask for an override —
//! release managers of the train's domain — and grant an override, which
//! only its approvers do. The engine decides whether the action makes sense now.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::{ApiError, ApiState};
use crate::auth::{Caller, Permission};
use crate::engine::{Action, Event};
use crate::runtime;
use crate::store;
use crate::time::to_ms;
use crate::train_state::TrainState;

/// The body of `POST /api/v1/trains/{id}/actions`, e.g.
/// `{"action": "hold", "reason": "waiting for the payments fix"}` or
/// `{"action": "waive_gate", "artifact_id": "…", "gate": "security-scan", "reason": "…"}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ActionRequest {
    #[serde(flatten)]
    pub action: Action,
    #[serde(default)]
    #[schema(pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$")]
    pub reason: String,
}

/// What an action did.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ActionResult {
    pub train_id: String,
    /// The train's phase after the action.
    pub phase: String,
}

/// `POST /api/v1/trains/{id}/actions`: applies the action and answers with the train's new state.
#[utoipa::path(
    post,
    path = "/api/v1/trains/{id}/actions",
    tag = "trains",
    params(("id" = String, Path, description = "Train id")),
    request_body = ActionRequest,
    responses((status = 200, description = "The train's phase after the action", body = ActionResult))
)]
pub async fn act(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Json<ActionRequest>, JsonRejection>,
) -> Result<Json<ActionResult>, ApiError> {
    if caller.require_somewhere(Permission::Approve).is_err() {
        caller.require_somewhere(Permission::Operate)?;
    }
    let phase = {
        let mut conn = state.db.acquire().await?;
        let domain = store::domains::of_train(&mut conn, &id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("no train has id \"{id}\"")))?;
        if caller.require(Permission::Approve, Some(&domain)).is_err() {
            caller.require(Permission::Operate, Some(&domain))?;
        }
        drop(conn);
        let Json(request) = body?;
        operate(&state, &caller, &id, request).await?
    };
    Ok(Json(ActionResult { train_id: id, phase: phase.to_string() }))
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

/// Refuses unless the caller holds `permission` in the train's domain (404 for an unknown train).
async fn train_domain(
    conn: &mut store::Conn,
    caller: &Caller,
    id: &str,
    permission: Permission,
) -> Result<String, ApiError> {
    let domain = store::domains::of_train(conn, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no train has id \"{id}\"")))?;
    caller.require(permission, Some(&domain))?;
    Ok(domain)
}

/// Applies an operator action for `caller` and returns the train's new phase; shared by the API and the console.
pub async fn operate(
    state: &ApiState,
    caller: &Caller,
    id: &str,
    request: ActionRequest,
) -> Result<TrainState, ApiError> {
    let permission = permission_for(&request.action);
    caller.require_somewhere(permission)?;
    let mut tx = state.db.begin().await?;
    train_domain(&mut tx, caller, id, permission).await?;
    let destructive = matches!(
        request.action,
        Action::Abort
            | Action::RollBack
            | Action::RollBackServices { .. }
            | Action::RemoveCandidate { .. }
            | Action::WaiveGate { .. }
            | Action::RequestOverride { .. }
            | Action::GrantOverride { .. }
    );
    if destructive && request.reason.trim().is_empty() {
        return Err(ApiError::bad_request("this action needs a reason; it goes into the timeline and the audit log"));
    }
    if let Action::GrantOverride { artifact_id, .. } = &request.action {
        not_the_author(&mut tx, caller, artifact_id).await?;
    }
    if let Action::RollBackServices { services } = &request.action {
        if services.iter().all(|s| s.trim().is_empty()) {
            return Err(ApiError::bad_request("`services` names no service; name at least one to roll back"));
        }
    }
    let actor = caller.principal.actor();
    let now = to_ms(state.clock.now());
    let event = Event::Operator {
        actor: actor.clone(),
        action: request.action.clone(),
        reason: request.reason.trim().to_owned(),
    };
    let run = runtime::apply_in(&mut tx, id, &event, &actor, now).await?;
    let after = json!({ "phase": run.phase, "action": request.action, "reason": request.reason.trim() });
    let entry =
        caller.audit(audit_action(&request.action), &format!("train:{id}")).change(&serde_json::Value::Null, &after);
    store::audit::append(&mut tx, &entry, now).await?;
    tx.commit().await?;
    Ok(run.phase)
}

/// Refuses an override granted by the artifact's own author (under any of their identities).
async fn not_the_author(conn: &mut store::Conn, caller: &Caller, artifact_id: &str) -> Result<(), ApiError> {
    let name = caller.principal.user_name().unwrap_or_default();
    let Some(artifact) = store::artifacts::by_id(conn, artifact_id).await? else { return Ok(()) };
    if super::approvals::caller_is_author(conn, caller, &artifact.author).await? {
        return Err(ApiError::Forbidden(format!(
            "{name} authored {} {}; someone else must grant its override",
            artifact.service, artifact.version
        )));
    }
    Ok(())
}
