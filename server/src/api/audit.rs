//! Admin: reading and verifying the audit log over HTTP.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;

use super::{ApiError, ApiState};
use crate::audit::{Record, Verification};
use crate::auth::{Caller, Permission};
use crate::service::audit;

/// Query of `GET /api/v1/audit`.
#[derive(Debug, Deserialize, utoipa::ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// How many of the newest records (default 100, at most 1,000).
    #[serde(default)]
    pub limit: Option<i64>,
}

/// `GET /api/v1/audit`: the newest records, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    tag = "audit",
    params(AuditQuery),
    responses((status = 200, description = "The newest audit records, newest first", body = Vec<Record>))
)]
pub async fn latest(
    State(state): State<ApiState>,
    caller: Caller,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<Vec<Record>>, ApiError> {
    caller.require(Permission::Administer, None)?;
    let Query(query) = query.map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
    Ok(Json(audit::latest(state.ctx(), &caller, query.limit.unwrap_or(100)).await?))
}

/// `GET /api/v1/audit/verify`: recomputes the whole chain.
#[utoipa::path(
    get,
    path = "/api/v1/audit/verify",
    tag = "audit",
    responses((status = 200, description = "Whether the hash chain is intact", body = Verification))
)]
pub async fn verify(State(state): State<ApiState>, caller: Caller) -> Result<Json<Verification>, ApiError> {
    Ok(Json(audit::verify(state.ctx(), &caller, state.auth.audit_key.as_deref()).await?))
}
