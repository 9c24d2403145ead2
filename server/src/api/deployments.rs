//! `POST /api/v1/deployments/{key}/status`: the webhook deployer's status
//! callback, for deploys and rollbacks alike. A receiver that answered
//! `202 {"status": "pending"}` reports the outcome here, signed like the
//! release it received (HMAC-SHA256 over `<X-Railyard-Timestamp>.<body>` with
//! the definition's secret). Repeating a callback is harmless.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::json::JsonBody;
use super::{ApiError, ApiState};
use crate::integrations::webhook::RunningDigest;
use crate::service::deployments;
use crate::text::Text;

/// The callback's body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusRequest {
    /// `succeeded` or `failed`.
    #[schema(value_type = String, pattern = "^(succeeded|failed)$")]
    pub status: Text,
    #[serde(default)]
    pub detail: Text,
    #[serde(default)]
    pub running: Vec<RunningDigest>,
}

/// Applies a deployer's report on the deployment with idempotency key `key`.
#[utoipa::path(
    post,
    path = "/api/v1/deployments/{key}/status",
    tag = "deployments",
    params(("key" = String, Path, description = "The deployment's idempotency key")),
    request_body = StatusRequest,
    responses((status = 200, description = "Applied", body = Object))
)]
pub async fn status(
    State(state): State<ApiState>,
    Path(key): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let (timestamp, signature) = (header("x-railyard-timestamp"), header("x-railyard-signature"));
    let verified = deployments::verify(state.ctx(), &key, timestamp, signature, &body).await?;
    let report: StatusRequest = super::json::parse(&body)?;
    let outcome =
        deployments::Outcome { status: report.status.into(), detail: report.detail.into(), running: report.running };
    let phase = deployments::apply(state.ctx(), &key, verified, outcome).await?;
    Ok(Json(json!({ "train_id": verified.train_id, "state": phase.as_str() })))
}
