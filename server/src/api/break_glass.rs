//! Break-glass: a release manager asks to let a domain's trains through a
//! freeze; two different approvers (neither the requester) must agree.

use crate::time::Instant;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};

use super::AppJson;
use super::{ApiError, ApiState};
use crate::auth::{Caller, Permission};
use crate::service::break_glass;
use crate::store::approvals::BreakGlass;
use crate::text::Text;

/// The body of `POST /api/v1/break-glass`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BreakGlassRequest {
    #[schema(value_type = String, example = "payments")]
    pub domain: Text,
    /// Why the freeze must be broken, at least 10 characters.
    #[schema(schema_with = break_glass_reason)]
    pub reason: Text,
    /// How long trains may pass freezes once granted, at most a day, e.g. "4h".
    #[schema(value_type = String, example = "4h", pattern = "^[0-9]{1,4}(s|m|h)$")]
    pub duration: Text,
}

/// The body of approving or rejecting.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Comment {
    #[serde(default)]
    pub comment: Text,
}

/// A request as the API shows it.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BreakGlassJson {
    pub id: String,
    pub domain: String,
    pub requested_by: String,
    pub reason: String,
    pub requested_at: String,
    /// `pending` (0 or 1 approvals), `lapsed` (not granted within 4 hours of
    /// the request), `granted`, `expired` or `rejected`.
    pub status: String,
    pub approvers: Vec<String>,
    pub active_until: Option<String>,
}

/// `GET /api/v1/break-glass`.
#[utoipa::path(
    operation_id = "list_break_glass_requests",
    get,
    path = "/api/v1/break-glass",
    tag = "break-glass",
    responses((status = 200, description = "Break-glass requests, newest first", body = Vec<BreakGlassJson>))
)]
pub async fn list(State(state): State<ApiState>, caller: Caller) -> Result<Json<Vec<BreakGlassJson>>, ApiError> {
    let now = state.ctx().now();
    Ok(Json(break_glass::list(state.ctx(), &caller).await?.into_iter().map(|b| view(b, now)).collect()))
}

/// `POST /api/v1/break-glass`: a release manager of the domain asks.
#[utoipa::path(
    post,
    path = "/api/v1/break-glass",
    tag = "break-glass",
    request_body = BreakGlassRequest,
    responses((status = 201, description = "Requested; two approvers must approve", body = BreakGlassJson))
)]
pub async fn request(
    State(state): State<ApiState>,
    caller: Caller,
    body: Result<AppJson<BreakGlassRequest>, ApiError>,
) -> Result<(StatusCode, Json<BreakGlassJson>), ApiError> {
    caller.require_somewhere(Permission::Operate)?;
    let AppJson(request) = body?;
    let row = break_glass::request(state.ctx(), &caller, &request.domain, &request.reason, &request.duration).await?;
    Ok((StatusCode::CREATED, Json(view(row, state.ctx().now()))))
}

/// `POST /api/v1/break-glass/{id}/approve`: one of the two approvals.
#[utoipa::path(
    post,
    path = "/api/v1/break-glass/{id}/approve",
    tag = "break-glass",
    params(("id" = String, Path, description = "Break-glass id")),
    request_body(content = Option<Comment>, description = "An optional comment"),
    responses((status = 200, description = "Approved", body = BreakGlassJson))
)]
pub async fn approve(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<BreakGlassJson>, ApiError> {
    let comment = super::optional_json::<Comment>(&body)?.comment;
    let updated = break_glass::approve(state.ctx(), &caller, &id, &comment).await?;
    Ok(Json(view(updated, state.ctx().now())))
}

/// `POST /api/v1/break-glass/{id}/reject`.
#[utoipa::path(
    operation_id = "reject_break_glass_request",
    post,
    path = "/api/v1/break-glass/{id}/reject",
    tag = "break-glass",
    params(("id" = String, Path, description = "Break-glass id")),
    request_body(content = Option<Comment>, description = "An optional comment"),
    responses((status = 200, description = "Rejected", body = BreakGlassJson))
)]
pub async fn reject(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<BreakGlassJson>, ApiError> {
    let comment = super::optional_json::<Comment>(&body)?.comment;
    let updated = break_glass::reject(state.ctx(), &caller, &id, &comment).await?;
    Ok(Json(view(updated, state.ctx().now())))
}

/// A request as the API and the console show it.
pub fn view(request: BreakGlass, now: Instant) -> BreakGlassJson {
    BreakGlassJson {
        status: break_glass::status(&request, now).to_owned(),
        active_until: request.active_window().map(|(_, until)| until.rfc3339()),
        approvers: [request.first_approver, request.second_approver].into_iter().flatten().collect(),
        id: request.id,
        domain: request.domain,
        requested_by: request.requested_by,
        reason: request.reason,
        requested_at: request.requested_at.rfc3339(),
    }
}

/// The schema of `reason`.
fn break_glass_reason() -> utoipa::openapi::schema::Object {
    crate::text::schema::reason("Why the freeze must be broken, at least 10 characters.")
}
