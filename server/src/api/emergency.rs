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
use serde_json::json;

use super::trains::{train_json, TrainJson};
use super::{ApiError, ApiState};
use crate::auth::{Caller, Permission};
use crate::service;
use crate::store;
use crate::time::to_ms;
use crate::train_kind::TrainKind;

/// Most candidates one emergency train may carry.
const MAX_CANDIDATES: usize = 20;

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

/// A train to start out of its cadence.
struct OnDemand<'a> {
    definition: &'a str,
    kind: TrainKind,
    artifacts: &'a [String],
    reason: &'a str,
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
    Ok((StatusCode::CREATED, Json(rehearse_for(&state, &caller, request).await?)))
}

/// Starts a rehearsal for `caller`; shared by the API and the console.
pub async fn rehearse_for(state: &ApiState, caller: &Caller, request: RehearsalRequest) -> Result<TrainJson, ApiError> {
    let reason = request.reason.trim();
    if reason.chars().count() < 10 {
        return Err(ApiError::bad_request("say what this rehearsal is for (at least 10 characters)"));
    }
    let wanted = OnDemand { definition: &request.definition, kind: TrainKind::Rehearsal, artifacts: &[], reason };
    open_on_demand(state, caller, wanted).await
}

/// Starts an emergency train for `caller`; shared by the API and the console.
pub async fn start_for(state: &ApiState, caller: &Caller, request: EmergencyRequest) -> Result<TrainJson, ApiError> {
    caller.require_somewhere(Permission::Operate)?;
    let kind = match request.kind.as_deref().unwrap_or("emergency") {
        "emergency" => TrainKind::Emergency,
        "hotfix" => TrainKind::Hotfix,
        other => {
            return Err(ApiError::bad_request(format!(
            "`kind` is \"emergency\" or \"hotfix\", not \"{other}\" (a rehearsal starts at /api/v1/trains/rehearsal)"
        )))
        }
    };
    let reason = request.reason.trim();
    if reason.chars().count() < 10 {
        return Err(ApiError::bad_request("say why this cannot wait for the next train (at least 10 characters)"));
    }
    if request.artifacts.is_empty() || request.artifacts.len() > MAX_CANDIDATES {
        return Err(ApiError::bad_request(format!("list between 1 and {MAX_CANDIDATES} artifact ids in `artifacts`")));
    }
    let wanted = OnDemand { definition: &request.definition, kind, artifacts: &request.artifacts, reason };
    open_on_demand(state, caller, wanted).await
}

/// Opens a train of `wanted.kind` now, in one transaction with its audit entry.
async fn open_on_demand(state: &ApiState, caller: &Caller, wanted: OnDemand<'_>) -> Result<TrainJson, ApiError> {
    caller.require_somewhere(Permission::Operate)?;
    let OnDemand { kind, reason, .. } = wanted;
    let mut tx = state.db.begin().await?;
    let definition = store::definitions::by_name(&mut tx, wanted.definition).await?.ok_or_else(|| {
        ApiError::Rejected(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("no train definition called \"{}\"", wanted.definition),
        )
    })?;
    let domain = store::domains::of_definition(&mut tx, &definition.id).await?.unwrap_or_default();
    caller.require(Permission::Operate, Some(&domain))?;
    let service_ids = store::definitions::service_ids(&mut tx, &definition.id).await?;
    let mut boarded: Vec<(String, String)> = Vec::new();
    for id in wanted.artifacts {
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
        if let Some((_, version)) = boarded.iter().find(|(service, _)| *service == artifact.service) {
            return Err(ApiError::Rejected(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!(
                    "{} is listed twice ({version} and {}); a train carries one build per service",
                    artifact.service, artifact.version
                ),
            ));
        }
        boarded.push((artifact.service, artifact.version));
    }
    let now = to_ms(state.clock.now());
    let cutover = (now, now + definition.cutover_window_ms);
    let id =
        store::trains::insert_on_demand(&mut tx, &definition.id, kind, wanted.artifacts, reason, cutover, now).await?;
    let actor = caller.principal.actor();
    let opened = format!("{kind} train started by {actor}: {reason}");
    let opening = service::trains::Opening {
        train_id: &id,
        definition: &definition,
        kind,
        cutover_at: now,
        planning_closes_at: now,
        actor: &actor,
        reason: &opened,
        demo_pace: None,
    };
    service::trains::open(&mut tx, opening, now).await?;
    let action = if kind == TrainKind::Rehearsal { "train.rehearsal_started" } else { "train.emergency_started" };
    let entry = caller.audit(action, &format!("train:{id}")).change(
        &serde_json::Value::Null,
        &json!({ "definition": definition.name, "kind": kind, "artifacts": wanted.artifacts, "reason": reason }),
    );
    store::audit::append(&mut tx, &entry, now).await?;
    let listing = store::trains::by_id(&mut tx, &id).await?.ok_or(store::DbError::NotFound)?;
    tx.commit().await?;
    Ok(train_json(listing))
}
