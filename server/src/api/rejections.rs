//! `POST /api/v1/artifacts/{id}/reject`: a release manager rejects a bad
//! build for good (Kargo users asked for it). It never boards a train again,
//! and it is taken off every train in flight that has not deployed it yet;
//! the trains that already deployed it are named, to roll it back there.

use axum::extract::{Path, State};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::AppJson;
use super::{ApiError, ApiState};
use crate::auth::{Caller, Permission};
use crate::ids::ArtifactId;
use crate::text::Text;

/// The body: why the build is bad.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectRequest {
    #[schema(schema_with = reason_schema)]
    pub reason: Text,
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
    Path(id): Path<ArtifactId>,
    body: Result<AppJson<RejectRequest>, ApiError>,
) -> Result<Json<RejectResult>, ApiError> {
    caller.require_somewhere(Permission::Operate)?;
    {
        let mut conn = state.db.acquire().await?;
        let (_, domain) = crate::service::approvals::candidate(&mut conn, &id).await?;
        caller.require(Permission::Operate, Some(&domain))?;
    }
    let AppJson(request) = body?;
    let rejection = crate::service::artifacts::reject(state.ctx(), &caller, &id, &request.reason).await?;
    let deployed_on =
        rejection.deployed_on.into_iter().map(|(train_id, detail)| DeployedOn { train_id, detail }).collect();
    Ok(Json(RejectResult {
        artifact_id: id.into(),
        rejected_at: rejection.at.rfc3339(),
        removed_from: rejection.removed_from,
        deployed_on,
    }))
}

/// A rejection's reason: printable, 3 to 2,000 characters.
fn reason_schema() -> utoipa::openapi::schema::Object {
    crate::text::schema::between(3, 2000)
}
