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

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

use super::trains::{train_json, TrainJson};
use super::AppJson;
use super::{ApiError, ApiState};
use crate::auth::{Caller, Permission};
use crate::service::trains;
use crate::text::{strings, Text};

/// The body of `POST /api/v1/trains/emergency`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmergencyRequest {
    /// The train definition whose services, rollout and deployer to use.
    #[schema(value_type = String, example = "payments-daily")]
    pub definition: Text,
    /// Artifact ids to carry.
    #[schema(value_type = Vec<String>, min_items = 1)]
    pub artifacts: Vec<Text>,
    /// Why this cannot wait for the next train, at least 10 characters.
    #[schema(schema_with = emergency_reason)]
    pub reason: Text,
    /// `emergency` (the default) or `hotfix`.
    #[serde(default)]
    #[schema(value_type = Option<String>, pattern = "^(emergency|hotfix)$")]
    pub kind: Option<Text>,
}

/// The body of `POST /api/v1/trains/rehearsal`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RehearsalRequest {
    /// The train definition to rehearse.
    #[schema(value_type = String, example = "payments-daily")]
    pub definition: Text,
    /// Why, e.g. "before the risky ledger migration" or "game day" (at least 10 characters).
    #[schema(schema_with = rehearsal_reason)]
    pub reason: Text,
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
    body: Result<AppJson<EmergencyRequest>, ApiError>,
) -> Result<(StatusCode, Json<TrainJson>), ApiError> {
    caller.require_somewhere(Permission::Operate)?;
    let AppJson(request) = body?;
    let kind = request.kind.as_deref();
    let listing = trains::start_emergency(
        state.ctx(),
        &caller,
        &request.definition,
        &strings(request.artifacts),
        &request.reason,
        kind,
    )
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
    body: Result<AppJson<RehearsalRequest>, ApiError>,
) -> Result<(StatusCode, Json<TrainJson>), ApiError> {
    caller.require_somewhere(Permission::Operate)?;
    let AppJson(request) = body?;
    let listing = trains::start_rehearsal(state.ctx(), &caller, &request.definition, &request.reason).await?;
    Ok((StatusCode::CREATED, Json(train_json(listing))))
}

/// The schema of `reason`.
fn emergency_reason() -> utoipa::openapi::schema::Object {
    crate::text::schema::reason("Why this cannot wait for the next train, at least 10 characters.")
}

/// The schema of `reason`.
fn rehearsal_reason() -> utoipa::openapi::schema::Object {
    crate::text::schema::reason(
        r#"Why, e.g. "before the risky ledger migration" or "game day" (at least 10 characters)."#,
    )
}
