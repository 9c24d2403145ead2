//! Trains started out of their cadence. `POST /api/v1/trains/emergency`: a
//! release manager starts an emergency (or hotfix) train now for a list of
//! candidates; it runs its kind's reduced gate set, is marked as such
//! everywhere, and otherwise obeys everything a train obeys (freezes, the
//! canary judge). It needs approvers' sign-off when its kind's `approval` is
//! set in `[[kind]]` (off by default for emergency and hotfix trains; when
//! set, each candidate waits for the compliance gate, which no release
//! manager can waive). `POST /api/v1/trains/rehearsal`: the
//! definition's next candidates through the same gates, staging and the
//! canary judge, never production.

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

use super::trains::{train_json, TrainJson};
use super::{ApiError, ApiState};
use crate::auth::{Caller, Permission};
use crate::service::trains;

/// The body of `POST /api/v1/trains/emergency`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmergencyRequest {
    /// The train definition whose services, rollout and deployer to use.
    #[schema(example = "payments-daily")]
    pub definition: String,
    /// Artifact ids to carry.
    #[schema(min_items = 1)]
    pub artifacts: Vec<String>,
    /// Why this cannot wait for the next train, at least 10 characters.
    #[schema(pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]{10,}$")]
    pub reason: String,
    /// `emergency` (the default) or `hotfix`.
    #[serde(default)]
    #[schema(pattern = "^(emergency|hotfix)$")]
    pub kind: Option<String>,
}

/// The body of `POST /api/v1/trains/rehearsal`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RehearsalRequest {
    /// The train definition to rehearse.
    #[schema(example = "payments-daily")]
    pub definition: String,
    /// Why, e.g. "before the risky ledger migration" or "game day" (at least 10 characters).
    #[schema(pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]{10,}$")]
    pub reason: String,
}

/// Starts an emergency train.
#[utoipa::path(
    post,
    path = "/api/v1/trains/emergency",
    tag = "trains",
    request_body = EmergencyRequest,
    responses((status = 201, description = "The emergency train, open now", body = TrainJson))
)]
pub async fn start(
    State(state): State<ApiState>,
    caller: Caller,
    body: Result<Json<EmergencyRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<TrainJson>), ApiError> {
    caller.require_somewhere(Permission::Operate)?;
    let Json(request) = body?;
    let kind = request.kind.as_deref();
    let listing =
        trains::start_emergency(state.ctx(), &caller, &request.definition, &request.artifacts, &request.reason, kind)
            .await?;
    Ok((StatusCode::CREATED, Json(train_json(listing))))
}

/// Starts a rehearsal of a definition.
#[utoipa::path(
    post,
    path = "/api/v1/trains/rehearsal",
    tag = "trains",
    request_body = RehearsalRequest,
    responses((status = 201, description = "The rehearsal train, open now", body = TrainJson))
)]
pub async fn rehearse(
    State(state): State<ApiState>,
    caller: Caller,
    body: Result<Json<RehearsalRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<TrainJson>), ApiError> {
    caller.require_somewhere(Permission::Operate)?;
    let Json(request) = body?;
    let listing = trains::start_rehearsal(state.ctx(), &caller, &request.definition, &request.reason).await?;
    Ok((StatusCode::CREATED, Json(train_json(listing))))
}
