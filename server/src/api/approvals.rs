//! Compliance approvals of candidates (approvers of the candidate's domain;
//! never its author) and the admin-owned rule of how many each domain needs.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};

use super::AppJson;
use super::{ApiError, ApiState};
use crate::auth::{Caller, Permission};
use crate::ids::ArtifactId;
use crate::service::{approval_rules, approvals};
use crate::text::Text;

/// The body of `POST /api/v1/artifacts/{id}/approvals`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// `approve` or `reject`.
    #[schema(value_type = String, pattern = "^(approve|reject)$")]
    pub decision: Text,
    #[serde(default)]
    pub comment: Text,
}

/// A candidate's approvals and whether they suffice.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApprovalsJson {
    pub artifact_id: String,
    pub required: i64,
    pub approved: i64,
    /// `approved`, `rejected` or `pending`.
    pub status: String,
    pub decisions: Vec<DecisionJson>,
}

/// One person's decision.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DecisionJson {
    pub approver: String,
    pub decision: String,
    pub comment: String,
    pub decided_at: String,
}

/// The body of `PUT /api/v1/approval-rules/{domain}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleRequest {
    #[schema(minimum = 1, maximum = 10)]
    pub required_approvals: i64,
}

/// A domain's rule.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RuleJson {
    pub domain: String,
    pub required_approvals: i64,
    pub updated_by: String,
    pub updated_at: String,
}

/// `GET /api/v1/artifacts/{id}/approvals`.
#[utoipa::path(
    operation_id = "list_approvals",
    get,
    path = "/api/v1/artifacts/{id}/approvals",
    tag = "approvals",
    params(("id" = String, Path, description = "Artifact id")),
    responses((status = 200, description = "The candidate's approvals", body = ApprovalsJson))
)]
pub async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<ArtifactId>,
) -> Result<Json<ApprovalsJson>, ApiError> {
    Ok(Json(approvals_json(approvals::of_candidate(state.ctx(), &caller, &id).await?)))
}

/// `POST /api/v1/artifacts/{id}/approvals`: approve or reject a candidate.
#[utoipa::path(
    post,
    path = "/api/v1/artifacts/{id}/approvals",
    tag = "approvals",
    params(("id" = String, Path, description = "Artifact id")),
    request_body = DecisionRequest,
    responses((status = 201, description = "Recorded", body = ApprovalsJson))
)]
pub async fn decide(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<ArtifactId>,
    body: Result<AppJson<DecisionRequest>, ApiError>,
) -> Result<(StatusCode, Json<ApprovalsJson>), ApiError> {
    caller.require_somewhere(Permission::Approve)?;
    {
        let mut conn = state.db.acquire().await?;
        let (_, domain) = approvals::candidate(&mut conn, &id).await?;
        caller.require(Permission::Approve, Some(&domain))?;
    }
    let AppJson(request) = body?;
    let decision = approvals::decision(&request.decision)?;
    let summary = approvals::decide(state.ctx(), &caller, &id, decision, &request.comment).await?;
    Ok((StatusCode::CREATED, Json(approvals_json(summary))))
}

/// `GET /api/v1/approval-rules`.
#[utoipa::path(
    get,
    path = "/api/v1/approval-rules",
    tag = "approvals",
    responses((status = 200, description = "Approvals each domain needs", body = Vec<RuleJson>))
)]
pub async fn rules(State(state): State<ApiState>, caller: Caller) -> Result<Json<Vec<RuleJson>>, ApiError> {
    let rules = approval_rules::rules(state.ctx(), &caller).await?;
    Ok(Json(
        rules
            .into_iter()
            .map(|rule| RuleJson {
                domain: rule.domain,
                required_approvals: rule.required_approvals,
                updated_by: rule.updated_by,
                updated_at: rule.updated_at.rfc3339(),
            })
            .collect(),
    ))
}

/// `PUT /api/v1/approval-rules/{domain}`: admins only, audited with before and after.
#[utoipa::path(
    put,
    path = "/api/v1/approval-rules/{domain}",
    tag = "approvals",
    params(("domain" = String, Path, description = "Domain name")),
    request_body = RuleRequest,
    responses((status = 200, description = "The domain's rule", body = RuleJson))
)]
pub async fn set_rule(
    State(state): State<ApiState>,
    caller: Caller,
    Path(domain): Path<String>,
    body: Result<AppJson<RuleRequest>, ApiError>,
) -> Result<Json<RuleJson>, ApiError> {
    caller.require(Permission::Administer, None)?;
    let AppJson(request) = body?;
    let at = approval_rules::set(state.ctx(), &caller, &domain, request.required_approvals).await?;
    Ok(Json(RuleJson {
        domain,
        required_approvals: request.required_approvals,
        updated_by: caller.principal.actor(),
        updated_at: at.rfc3339(),
    }))
}

/// The JSON form of a candidate's approvals.
fn approvals_json(summary: approvals::Summary) -> ApprovalsJson {
    ApprovalsJson {
        artifact_id: summary.artifact_id,
        required: summary.required,
        approved: summary.approved,
        status: summary.status.to_owned(),
        decisions: summary
            .decisions
            .into_iter()
            .map(|d| DecisionJson {
                approver: d.approver,
                decision: d.decision.stored().to_owned(),
                comment: d.comment,
                decided_at: d.decided_at.rfc3339(),
            })
            .collect(),
    }
}
