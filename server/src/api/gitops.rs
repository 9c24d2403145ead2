//! `POST /api/v1/gitops/flux/{definition}`: Flux's notification-controller
//! posts its events here through a `generic-hmac` Provider whose token is in
//! the environment variable the definition's `[train.gitops.flux]` names.
//! An event for an object a pushed release waits for completes or fails
//! that rollout step; other events are accepted and ignored.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use serde_json::{json, Value};

use super::json::JsonBody;
use super::{ApiError, ApiState};
use crate::service::gitops;

/// Applies a Flux event about the definition's Kustomizations or HelmReleases.
#[utoipa::path(
    post,
    path = "/api/v1/gitops/flux/{definition}",
    tag = "deployments",
    params(
        ("definition" = String, Path, description = "The train definition whose [train.gitops.flux] applies"),
        ("X-Signature" = String, Header, description = "sha256=<hex HMAC-SHA256 of the body with the Provider's token>")
    ),
    request_body(content = Object, description = "A Flux event (involvedObject, reason, metadata with the revision)"),
    responses(
        (status = 200, description = "Accepted: how many waiting rollout steps it was about, and how many it settled", body = Object),
        (status = 401, description = "The signature does not match; the refusal is audited")
    )
)]
pub async fn flux_event(
    State(state): State<ApiState>,
    Path(definition): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let signature = headers.get("x-signature").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let heard = gitops::flux_event(state.ctx(), &definition, signature, &body).await?;
    Ok(Json(json!({ "matched": heard.matched, "settled": heard.concluded })))
}
