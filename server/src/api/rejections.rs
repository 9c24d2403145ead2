//! `POST /api/v1/artifacts/{id}/reject`: a release manager rejects a bad
//! build for good (Kargo users asked for it). It never boards a train again,
//! and it is taken off every train in flight that has not deployed it yet;
//! the trains that already deployed it are named, to roll it back there.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{ApiError, ApiState};
use crate::auth::{Caller, Permission};
use crate::engine::{Action, Event, TrainRun};
use crate::runtime;
use crate::store;
use crate::time::{rfc3339, to_ms};

/// The body: why the build is bad.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectRequest {
    #[schema(
        min_length = 3,
        max_length = 2000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    pub reason: String,
}

/// What the rejection did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RejectResult {
    pub artifact_id: String,
    pub rejected_at: String,
    /// Trains in flight it was taken off.
    pub removed_from: Vec<String>,
    /// Trains that already deployed it, with what to do there.
    pub deployed_on: Vec<DeployedOn>,
}

/// A train that already deployed the rejected build.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeployedOn {
    pub train_id: String,
    pub detail: String,
}

/// Rejects the artifact and takes it off the trains in flight.
#[utoipa::path(
    operation_id = "reject_artifact",
    post,
    path = "/api/v1/artifacts/{id}/reject",
    tag = "artifacts",
    params(("id" = String, Path, description = "Artifact id")),
    request_body = RejectRequest,
    responses((status = 200, description = "Rejected", body = RejectResult))
)]
pub async fn reject(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Json<RejectRequest>, JsonRejection>,
) -> Result<Json<RejectResult>, ApiError> {
    caller.require_somewhere(Permission::Operate)?;
    let mut tx = state.db.begin().await?;
    let (artifact, domain) = super::approvals::candidate(&mut tx, &id).await?;
    caller.require(Permission::Operate, Some(&domain))?;
    let Json(request) = body?;
    let reason = request.reason.trim();
    if reason.chars().count() < 3 {
        return Err(ApiError::bad_request("`reason` must say why the build is bad (at least 3 characters)"));
    }
    if let (Some(at), Some(why)) = (artifact.rejected_at, &artifact.rejected_reason) {
        return Err(ApiError::Conflict(format!(
            "{} {} was already rejected at {}: {why}",
            artifact.service,
            artifact.version,
            rfc3339(at)
        )));
    }
    let now = to_ms(state.clock.now());
    let actor = caller.principal.actor();
    store::artifacts::reject(&mut tx, &id, &format!("rejected by {actor}: {reason}"), now).await?;
    let why = format!("build rejected: {reason}");
    let (mut removed_from, mut deployed_on) = (Vec::new(), Vec::new());
    for train_id in store::approvals::trains_carrying(&mut tx, &id).await? {
        let Some((state, _)) = store::runs::load(&mut tx, &train_id).await? else { continue };
        let run: TrainRun = serde_json::from_str(&state).map_err(|e| ApiError::Internal(e.into()))?;
        let Some(candidate) = run.candidates.iter().find(|c| c.artifact_id == id && c.boarded()) else { continue };
        if run.has_deployed() {
            let detail = format!("{} is deployed on it: roll it back there (roll_back_services)", candidate.service);
            deployed_on.push(DeployedOn { train_id, detail });
            continue;
        }
        let action = Action::RemoveCandidate { artifact_id: id.clone() };
        let event = Event::Operator { actor: actor.clone(), action, reason: why.clone() };
        runtime::apply_in(&mut tx, &train_id, &event, &actor, now).await?;
        removed_from.push(train_id);
    }
    let after = json!({
        "service": artifact.service, "version": artifact.version, "reason": reason,
        "removed_from": removed_from, "deployed_on": deployed_on.iter().map(|d| &d.train_id).collect::<Vec<_>>(),
    });
    let entry = caller.audit("artifact.reject", &format!("artifact:{id}")).change(&serde_json::Value::Null, &after);
    store::audit::append(&mut tx, &entry, now).await?;
    tx.commit().await?;
    Ok(Json(RejectResult { artifact_id: id, rejected_at: rfc3339(now), removed_from, deployed_on }))
}
