//! Break-glass: a release manager asks to let a domain's trains through a
//! freeze; two different approvers (neither the requester) must agree.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{ApiError, ApiState};
use crate::auth::{Caller, Permission};
use crate::store::{self, approvals::BreakGlass};
use crate::time::{rfc3339, to_ms};

/// Longest window a break-glass may open.
const MAX_DURATION_MS: i64 = 24 * 3_600_000;

/// The body of `POST /api/v1/break-glass`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BreakGlassRequest {
    #[schema(example = "payments")]
    pub domain: String,
    /// Why the freeze must be broken, at least 10 characters.
    #[schema(pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]{10,}$")]
    pub reason: String,
    /// How long trains may pass freezes once granted, at most a day, e.g. "4h".
    #[schema(example = "4h", pattern = "^[0-9]{1,4}(s|m|h)$")]
    pub duration: String,
}

/// The body of approving or rejecting.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Comment {
    #[serde(default)]
    pub comment: String,
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
    caller.require_somewhere(Permission::Read)?;
    let now = to_ms(state.clock.now());
    let mut conn = state.db.acquire().await?;
    let requests = store::approvals::break_glasses(&mut conn).await?;
    // A domain-limited token sees its own domains' requests only.
    let visible = requests.into_iter().filter(|b| caller.principal.can(Permission::Read, Some(&b.domain)));
    Ok(Json(visible.map(|b| view(b, now)).collect()))
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
    body: Result<Json<BreakGlassRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<BreakGlassJson>), ApiError> {
    caller.require_somewhere(Permission::Operate)?;
    let Json(request) = body?;
    Ok((StatusCode::CREATED, Json(request_for(&state, &caller, request).await?)))
}

/// Files `caller`'s break-glass request; shared by the API and the console.
pub async fn request_for(
    state: &ApiState,
    caller: &Caller,
    request: BreakGlassRequest,
) -> Result<BreakGlassJson, ApiError> {
    caller.require_somewhere(Permission::Operate)?;
    let mut tx = state.db.begin().await?;
    let domain = store::domains::by_name(&mut tx, &request.domain)
        .await?
        .ok_or_else(|| ApiError::bad_request(format!("unknown domain \"{}\"", request.domain)))?;
    caller.require(Permission::Operate, Some(&domain.name))?;
    if request.reason.trim().len() < 10 {
        return Err(ApiError::bad_request("say why the freeze must be broken (at least 10 characters)"));
    }
    let duration = humantime::parse_duration(&request.duration)
        .map_err(|_| ApiError::bad_request(format!("`duration` must be like \"4h\", got \"{}\"", request.duration)))?;
    let duration_ms = i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
    if duration_ms <= 0 || duration_ms > MAX_DURATION_MS {
        return Err(ApiError::bad_request("a break-glass lasts at most 24h"));
    }
    let now = to_ms(state.clock.now());
    let row = BreakGlass {
        id: store::new_id(),
        domain_id: domain.id,
        domain: domain.name,
        requested_by: caller.principal.user_name().unwrap_or_default().to_owned(),
        reason: request.reason.trim().to_owned(),
        requested_at: now,
        duration_ms,
        first_approver: None,
        first_approved_at: None,
        second_approver: None,
        second_approved_at: None,
        rejected_by: None,
        rejected_at: None,
    };
    store::approvals::request_break_glass(&mut tx, &row).await?;
    let entry = caller.audit("break_glass.requested", &format!("break_glass:{}", row.id)).change(
        &serde_json::Value::Null,
        &json!({ "domain": row.domain, "reason": row.reason, "duration_ms": duration_ms }),
    );
    store::audit::append(&mut tx, &entry, now).await?;
    tx.commit().await?;
    Ok(view(row, now))
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
    Ok(Json(approve_for(&state, &caller, &id, comment).await?))
}

/// How long a request waits for its two approvals before it lapses and must be asked again.
pub const PENDING_FOR_MS: i64 = 4 * 60 * 60_000;

/// Adds `caller`'s approval; shared by the API and the console.
pub async fn approve_for(
    state: &ApiState,
    caller: &Caller,
    id: &str,
    comment: String,
) -> Result<BreakGlassJson, ApiError> {
    let (mut tx, found) = authorized(state, caller, id).await?;
    let name = caller.principal.user_name().unwrap_or_default().to_owned();
    if found.requested_by == name {
        return Err(ApiError::Forbidden("you asked for this break-glass; two other people must approve it".into()));
    }
    if found.first_approver.as_deref() == Some(name.as_str()) {
        return Err(ApiError::Forbidden(format!("{name} already approved; a second, different approver is needed")));
    }
    let now = to_ms(state.clock.now());
    if view(found, now).status == "lapsed" {
        return Err(ApiError::Conflict(
            "this break-glass lapsed: nobody granted it within 4 hours; the release manager must ask again".into(),
        ));
    }
    if !store::approvals::approve_break_glass(&mut tx, id, &name, now).await? {
        return Err(ApiError::Conflict("this break-glass is already granted or rejected".into()));
    }
    decided(tx, caller, "break_glass.approved", id, &comment, now).await
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
    Ok(Json(reject_for(&state, &caller, &id, comment).await?))
}

/// Rejects for `caller`; shared by the API and the console.
pub async fn reject_for(
    state: &ApiState,
    caller: &Caller,
    id: &str,
    comment: String,
) -> Result<BreakGlassJson, ApiError> {
    let (mut tx, _) = authorized(state, caller, id).await?;
    if comment.trim().is_empty() {
        return Err(ApiError::bad_request("a rejection needs a comment saying why"));
    }
    let now = to_ms(state.clock.now());
    let name = caller.principal.user_name().unwrap_or_default().to_owned();
    if !store::approvals::reject_break_glass(&mut tx, id, &name, now).await? {
        return Err(ApiError::Conflict("this break-glass is already granted or rejected".into()));
    }
    decided(tx, caller, "break_glass.rejected", id, &comment, now).await
}

/// Audits a decision, commits it and answers with the request as it now stands.
async fn decided(
    mut tx: sqlx::Transaction<'static, sqlx::Any>,
    caller: &Caller,
    action: &str,
    id: &str,
    comment: &str,
    now: i64,
) -> Result<BreakGlassJson, ApiError> {
    let entry = caller
        .audit(action, &format!("break_glass:{id}"))
        .change(&serde_json::Value::Null, &json!({ "comment": comment }));
    store::audit::append(&mut tx, &entry, now).await?;
    let updated = store::approvals::break_glass(&mut tx, id).await?.ok_or(store::DbError::NotFound)?;
    tx.commit().await?;
    Ok(view(updated, now))
}

/// Opens a transaction and checks the caller may approve in the request's domain.
async fn authorized(
    state: &ApiState,
    caller: &Caller,
    id: &str,
) -> Result<(sqlx::Transaction<'static, sqlx::Any>, BreakGlass), ApiError> {
    caller.require_somewhere(Permission::Approve)?;
    let mut tx = state.db.begin().await?;
    let found = store::approvals::break_glass(&mut tx, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no break-glass request {id}")))?;
    caller.require(Permission::Approve, Some(&found.domain))?;
    Ok((tx, found))
}

/// A request as the API and the console show it.
pub fn view(request: BreakGlass, now: i64) -> BreakGlassJson {
    let window = request.active_window();
    let status = match (window, request.rejected_at) {
        (_, Some(_)) => "rejected",
        (Some((_, until)), None) if until > now => "granted",
        (Some(_), None) => "expired",
        (None, None) if now >= request.requested_at + PENDING_FOR_MS => "lapsed",
        (None, None) => "pending",
    };
    BreakGlassJson {
        status: status.to_owned(),
        approvers: [request.first_approver, request.second_approver].into_iter().flatten().collect(),
        active_until: window.map(|(_, until)| rfc3339(until)),
        id: request.id,
        domain: request.domain,
        requested_by: request.requested_by,
        reason: request.reason,
        requested_at: rfc3339(request.requested_at),
    }
}
