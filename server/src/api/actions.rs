//! Operator actions on a train: hold, resume, promote, abort, roll back (the
//! whole train or some services), waive a gate and ask for an override —
//! release managers of the train's domain — and grant an override, which
//! only its approvers do. The engine decides whether the action makes sense now.

use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;

use super::AppJson;
use super::{ApiError, ApiState};
use crate::auth::{Caller, Permission};
use crate::engine::Action;
use crate::ids::TrainId;
use crate::service::trains;
use crate::text::Text;

/// The body of `POST /api/v1/trains/{id}/actions`, e.g.
/// `{"action": "hold", "reason": "waiting for the payments fix"}` or
/// `{"action": "waive_gate", "artifact_id": "…", "gate": "security-scan", "reason": "…"}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ActionRequest {
    #[serde(flatten)]
    pub action: Action,
    #[serde(default)]
    pub reason: Text,
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
    Path(id): Path<TrainId>,
    body: Result<AppJson<ActionRequest>, ApiError>,
) -> Result<Json<ActionResult>, ApiError> {
    if caller.require_somewhere(Permission::Approve).is_err() {
        caller.require_somewhere(Permission::Operate)?;
    }
    let mut conn = state.db.acquire().await?;
    let domain = trains::domain_of(&mut conn, &id).await?;
    if caller.require(Permission::Approve, Some(&domain)).is_err() {
        caller.require(Permission::Operate, Some(&domain))?;
    }
    drop(conn);
    let AppJson(request) = body?;
    let phase = trains::operate(state.ctx(), &caller, &id, request.action, &request.reason).await?;
    Ok(Json(ActionResult { train_id: id.into(), phase: phase.to_string() }))
}
