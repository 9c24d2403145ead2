//! Compliance approvals of candidates (approvers of the candidate's domain;
//! never its author) and the admin-owned rule of how many each domain needs.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{ApiError, ApiState};
use crate::auth::{Caller, Permission};
use crate::engine::{Event, GateState, TrainRun};
use crate::engine::{COMPLIANCE_GATE, SCHEMA_GATE};
use crate::integrations::compliance_outcome;
use crate::runtime;
use crate::service::approval_rules;
use crate::store::{self, approvals::Approval};
use crate::time::{rfc3339, to_ms};

/// The body of `POST /api/v1/artifacts/{id}/approvals`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// `approve` or `reject`.
    #[schema(pattern = "^(approve|reject)$")]
    pub decision: String,
    #[serde(default)]
    #[schema(pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$")]
    pub comment: String,
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
    Path(id): Path<String>,
) -> Result<Json<ApprovalsJson>, ApiError> {
    caller.require_somewhere(Permission::Read)?;
    let mut conn = state.db.acquire().await?;
    let (artifact, domain) = candidate(&mut conn, &id).await?;
    caller.require(Permission::Read, Some(&domain))?;
    Ok(Json(summary(&mut conn, &artifact).await?))
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
    Path(id): Path<String>,
    body: Result<Json<DecisionRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<ApprovalsJson>), ApiError> {
    caller.require_somewhere(Permission::Approve)?;
    {
        let mut conn = state.db.acquire().await?;
        let (_, domain) = candidate(&mut conn, &id).await?;
        caller.require(Permission::Approve, Some(&domain))?;
    }
    let Json(request) = body?;
    Ok((StatusCode::CREATED, Json(decide_for(&state, &caller, &id, request).await?)))
}

/// Records `caller`'s decision on a candidate; shared by the API and the console.
pub async fn decide_for(
    state: &ApiState,
    caller: &Caller,
    id: &str,
    request: DecisionRequest,
) -> Result<ApprovalsJson, ApiError> {
    caller.require_somewhere(Permission::Approve)?;
    let mut tx = state.db.begin().await?;
    let (artifact, domain) = candidate(&mut tx, id).await?;
    caller.require(Permission::Approve, Some(&domain))?;
    let decision = match request.decision.as_str() {
        "approve" => "approved",
        "reject" => "rejected",
        other => return Err(ApiError::bad_request(format!("`decision` must be approve or reject, not \"{other}\""))),
    };
    if decision == "rejected" && request.comment.trim().is_empty() {
        return Err(ApiError::bad_request("a rejection needs a comment saying why"));
    }
    let name = caller.principal.user_name().unwrap_or_default().to_owned();
    if caller_is_author(&mut tx, caller, &artifact.author).await? {
        return Err(ApiError::Forbidden(format!(
            "{name} authored {} {} (as \"{}\"); someone else must approve it",
            artifact.service,
            artifact.version,
            artifact.author.trim()
        )));
    }
    let now = to_ms(state.clock.now());
    let approval = Approval {
        id: store::new_id(),
        artifact_id: artifact.id.clone(),
        approver: name.clone(),
        decision: decision.to_owned(),
        comment: request.comment.trim().to_owned(),
        decided_at: now,
    };
    if !store::approvals::decide(&mut tx, &approval).await? {
        return Err(ApiError::Conflict(format!("{name} already decided on this candidate")));
    }
    let entry = caller.audit(&format!("candidate.{decision}"), &format!("artifact:{}", artifact.id)).change(
        &serde_json::Value::Null,
        &json!({ "comment": approval.comment, "service": artifact.service, "version": artifact.version }),
    );
    store::audit::append(&mut tx, &entry, now).await?;
    let summary = summary(&mut tx, &artifact).await?;
    decide_gates(&mut tx, caller, &artifact.id, now).await?;
    tx.commit().await?;
    Ok(summary)
}

/// Once a candidate is approved or rejected, finishes its compliance and
/// schema gates on every train in flight that waits for them, in the same
/// transaction as the decision.
async fn decide_gates(conn: &mut store::Conn, caller: &Caller, artifact_id: &str, now: i64) -> Result<(), ApiError> {
    let standing = store::approvals::standing(conn, artifact_id).await?;
    if matches!(standing, store::approvals::Standing::Pending { .. }) {
        return Ok(());
    }
    let outcome = compliance_outcome(standing);
    for train_id in store::approvals::trains_carrying(conn, artifact_id).await? {
        let Some((state, _)) = store::runs::load(conn, &train_id).await? else { continue };
        let run: TrainRun = serde_json::from_str(&state).map_err(|e| ApiError::Internal(e.into()))?;
        let waiting: Vec<String> = run
            .candidates
            .iter()
            .filter(|c| c.artifact_id == artifact_id)
            .flat_map(|c| &c.gates)
            .filter(|g| [COMPLIANCE_GATE, SCHEMA_GATE].contains(&g.name.as_str()))
            .filter(|g| matches!(g.state, GateState::Pending | GateState::Running | GateState::Awaiting { .. }))
            .map(|g| g.name.clone())
            .collect();
        for gate in waiting {
            let event = Event::GateFinished { artifact_id: artifact_id.to_owned(), gate, outcome: outcome.clone() };
            runtime::apply_in(conn, &train_id, &event, &caller.principal.actor(), now).await?;
        }
    }
    Ok(())
}

/// `GET /api/v1/approval-rules`.
#[utoipa::path(
    get,
    path = "/api/v1/approval-rules",
    tag = "approvals",
    responses((status = 200, description = "Approvals each domain needs", body = Vec<RuleJson>))
)]
pub async fn rules(State(state): State<ApiState>, caller: Caller) -> Result<Json<Vec<RuleJson>>, ApiError> {
    caller.require(Permission::Read, None)?;
    let mut conn = state.db.acquire().await?;
    let rules = store::approvals::rules(&mut conn).await?;
    Ok(Json(
        rules
            .into_iter()
            .map(|(domain, required_approvals, updated_by, updated_at)| RuleJson {
                domain,
                required_approvals,
                updated_by,
                updated_at: rfc3339(updated_at),
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
    body: Result<Json<RuleRequest>, JsonRejection>,
) -> Result<Json<RuleJson>, ApiError> {
    caller.require(Permission::Administer, None)?;
    let Json(request) = body?;
    let at = approval_rules::set(state.ctx(), &caller, &domain, request.required_approvals).await?;
    Ok(Json(RuleJson {
        domain,
        required_approvals: request.required_approvals,
        updated_by: caller.principal.actor(),
        updated_at: rfc3339(at),
    }))
}

/// The artifact and the name of its domain.
pub(super) async fn candidate(
    conn: &mut store::Conn,
    id: &str,
) -> Result<(store::artifacts::Artifact, String), ApiError> {
    let artifact = store::artifacts::by_id(conn, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no artifact has id \"{id}\"")))?;
    let domain = store::domains::of_service(conn, &artifact.service_id).await?.unwrap_or_default();
    Ok((artifact, domain))
}

pub async fn summary(conn: &mut store::Conn, artifact: &store::artifacts::Artifact) -> Result<ApprovalsJson, ApiError> {
    let domain_id = store::domains::id_of_service(conn, &artifact.service_id).await?;
    let required = store::approvals::required(conn, &domain_id).await?;
    let decisions = store::approvals::of_artifact(conn, &artifact.id).await?;
    let approved = i64::try_from(decisions.iter().filter(|d| d.decision == "approved").count()).unwrap_or(i64::MAX);
    let status = if decisions.iter().any(|d| d.decision == "rejected") {
        "rejected"
    } else if approved >= required {
        "approved"
    } else {
        "pending"
    };
    Ok(ApprovalsJson {
        artifact_id: artifact.id.clone(),
        required,
        approved,
        status: status.to_owned(),
        decisions: decisions
            .into_iter()
            .map(|d| DecisionJson {
                approver: d.approver,
                decision: d.decision,
                comment: d.comment,
                decided_at: rfc3339(d.decided_at),
            })
            .collect(),
    })
}

/// Whether the signed-in caller is `author` (a build's author as CI sent
/// it): their user name or any author identity an admin gave them.
pub async fn caller_is_author(conn: &mut store::Conn, caller: &Caller, author: &str) -> Result<bool, ApiError> {
    match &caller.principal {
        crate::auth::Principal::User { id, name, .. } => Ok(store::users::is_author(conn, id, name, author).await?),
        _ => Ok(false),
    }
}
