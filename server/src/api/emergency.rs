//! `POST /api/v1/trains/emergency`: a release manager starts a train now for
//! a list of candidates. It runs the definition's reduced gate set
//! (`emergency_gates`), is marked as an emergency everywhere, and otherwise
//! obeys everything a train obeys (freezes, approvals, the canary judge).

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::trains::{train_json, TrainJson};
use super::{ApiError, ApiState};
use crate::auth::{Caller, Permission};
use crate::engine::{default_rollout, RolloutStep, TrainRun};
use crate::runtime;
use crate::store::{self, trains::Transition};
use crate::time::to_ms;
use crate::train_state::TrainState;

/// Most candidates one emergency train may carry.
const MAX_CANDIDATES: usize = 20;

/// The body of `POST /api/v1/trains/emergency`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmergencyRequest {
    /// The train definition whose services, rollout and deployer to use.
    pub definition: String,
    /// Artifact ids to carry.
    pub artifacts: Vec<String>,
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
    Ok((StatusCode::CREATED, Json(start_for(&state, &caller, request).await?)))
}

/// Starts an emergency train for `caller`; shared by the API and the console.
pub async fn start_for(state: &ApiState, caller: &Caller, request: EmergencyRequest) -> Result<TrainJson, ApiError> {
    caller.require_somewhere(Permission::Operate)?;
    let reason = request.reason.trim();
    if reason.chars().count() < 10 {
        return Err(ApiError::bad_request("say why this cannot wait for the next train (at least 10 characters)"));
    }
    if request.artifacts.is_empty() || request.artifacts.len() > MAX_CANDIDATES {
        return Err(ApiError::bad_request(format!("list between 1 and {MAX_CANDIDATES} artifact ids in `artifacts`")));
    }
    let mut tx = state.db.begin().await?;
    let definition = store::definitions::by_name(&mut tx, &request.definition).await?.ok_or_else(|| {
        ApiError::Rejected(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("no train definition called \"{}\"", request.definition),
        )
    })?;
    let domain = store::domains::of_definition(&mut tx, &definition.id).await?.unwrap_or_default();
    caller.require(Permission::Operate, Some(&domain))?;
    let service_ids = store::definitions::service_ids(&mut tx, &definition.id).await?;
    for id in &request.artifacts {
        let artifact = store::artifacts::by_id(&mut tx, id).await?.ok_or_else(|| {
            ApiError::Rejected(StatusCode::UNPROCESSABLE_ENTITY, format!("no artifact has id \"{id}\""))
        })?;
        if let Some(why) = &artifact.rejected_reason {
            return Err(ApiError::Rejected(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("{} {} was rejected for good ({why}) and can never board", artifact.service, artifact.version),
            ));
        }
        if !service_ids.contains(&artifact.service_id) {
            return Err(ApiError::Rejected(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("{} is not one of the services of {}", artifact.service, definition.name),
            ));
        }
    }
    let now = to_ms(state.clock.now());
    let cutover = (now, now + definition.cutover_window_ms);
    let id = store::trains::insert_emergency(&mut tx, &definition.id, &request.artifacts, reason, cutover, now).await?;
    let actor = caller.principal.actor();
    let opened = format!("emergency train started by {actor}: {reason}");
    let change =
        Transition { from: TrainState::Scheduled, to: TrainState::Planning, at: now, actor: &actor, reason: &opened };
    store::trains::transition(&mut tx, &id, change).await?;
    let rollout: Vec<RolloutStep> = serde_json::from_str(&definition.rollout).unwrap_or_default();
    let rollout = if rollout.is_empty() { default_rollout() } else { rollout };
    let run = TrainRun::opened(&id, now, rollout, definition.monitoring_ms);
    runtime::start_in(&mut tx, &run, now, now).await?;
    let entry = caller.audit("train.emergency_started", &format!("train:{id}")).change(
        &serde_json::Value::Null,
        &json!({ "definition": definition.name, "artifacts": request.artifacts, "reason": reason }),
    );
    store::audit::append(&mut tx, &entry, now).await?;
    let listing = store::trains::by_id(&mut tx, &id).await?.ok_or(store::DbError::NotFound)?;
    tx.commit().await?;
    Ok(train_json(listing))
}
