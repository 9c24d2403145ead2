//! Declaring a freeze from the console or over the API, with its impact
//! preview: before confirming, a release manager sees the trains and
//! cutovers the freeze would suspend or move. The body is a `[[freeze]]`
//! entry of the trains-as-code format, validated the same way.

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{ApiError, ApiState};
use crate::auth::{Caller, Permission};
use crate::fleet::{parse_freeze, stored_freeze, FreezeEntry};
use crate::store::{self, freezes::Freeze};
use crate::time::{rfc3339, to_ms};

/// How far ahead a preview looks at a recurring freeze's windows.
const PREVIEW_AHEAD_MS: i64 = 365 * 86_400_000;
/// Trains are looked for from this long before a window (a cutover window may reach into it).
const CUTOVER_REACH_MS: i64 = 7 * 86_400_000;

/// One window of the freeze.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WindowJson {
    pub start: String,
    pub end: String,
}

/// What the freeze would do to one train.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FreezeImpact {
    pub train_id: String,
    pub definition: String,
    pub domain: String,
    pub state: String,
    pub cutover_at: String,
    /// `suspended` (in flight, or cutting over when the freeze begins: no further production step
    /// until it ends) or `moved` (the cutover waits until the freeze ends).
    pub effect: String,
    /// When the train may go on.
    pub until: String,
}

/// The freeze as it would be (or was) stored, with its impact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FreezePreview {
    pub freeze: FreezeEntry,
    pub windows: Vec<WindowJson>,
    pub impacts: Vec<FreezeImpact>,
}

/// `POST /api/v1/freezes/preview`: what declaring the freeze would do; nothing is stored.
#[utoipa::path(
    post,
    path = "/api/v1/freezes/preview",
    tag = "freezes",
    request_body = FreezeEntry,
    responses((status = 200, description = "What the freeze would hold; nothing is stored", body = FreezePreview))
)]
pub async fn preview(
    State(state): State<ApiState>,
    caller: Caller,
    body: Result<Json<FreezeEntry>, JsonRejection>,
) -> Result<Json<FreezePreview>, ApiError> {
    caller.require_somewhere(Permission::Operate)?;
    let Json(entry) = body?;
    Ok(Json(preview_for(&state, &caller, entry).await?))
}

/// `POST /api/v1/freezes`: declares the freeze; answers with its impact.
#[utoipa::path(
    post,
    path = "/api/v1/freezes",
    tag = "freezes",
    request_body = FreezeEntry,
    responses((status = 201, description = "Declared, with what it holds", body = FreezePreview))
)]
pub async fn declare(
    State(state): State<ApiState>,
    caller: Caller,
    body: Result<Json<FreezeEntry>, JsonRejection>,
) -> Result<(StatusCode, Json<FreezePreview>), ApiError> {
    caller.require_somewhere(Permission::Operate)?;
    let Json(entry) = body?;
    Ok((StatusCode::CREATED, Json(declare_for(&state, &caller, entry).await?)))
}

/// The preview for `caller`; shared by the API and the console.
pub async fn preview_for(state: &ApiState, caller: &Caller, entry: FreezeEntry) -> Result<FreezePreview, ApiError> {
    let mut conn = state.db.acquire().await?;
    let freeze = validated(&mut conn, caller, &entry).await?;
    impact(&mut conn, entry, &freeze, to_ms(state.clock.now())).await
}

/// Declares the freeze for `caller` (audited); shared by the API and the console.
pub async fn declare_for(state: &ApiState, caller: &Caller, entry: FreezeEntry) -> Result<FreezePreview, ApiError> {
    let now = to_ms(state.clock.now());
    let mut tx = state.db.begin().await?;
    let freeze = validated(&mut tx, caller, &entry).await?;
    if store::freezes::by_name(&mut tx, &freeze.name).await?.is_some() {
        return Err(ApiError::Conflict(format!(
            "a freeze called \"{}\" exists already; pick another name",
            freeze.name
        )));
    }
    let freeze = Freeze { id: store::new_id(), ..freeze };
    store::freezes::insert(&mut tx, &freeze, now).await?;
    let audit = caller.audit("freeze.declared", &format!("freeze:{}", freeze.name));
    store::audit::append(&mut tx, &audit.change(&serde_json::Value::Null, &json!(entry)), now).await?;
    let preview = impact(&mut tx, entry, &freeze, now).await?;
    tx.commit().await?;
    Ok(preview)
}

/// Checks the entry like a `[[freeze]]` of a file and that `caller` may freeze its domain
/// (every domain needs a release manager of every domain).
async fn validated(conn: &mut store::Conn, caller: &Caller, entry: &FreezeEntry) -> Result<Freeze, ApiError> {
    caller.require(Permission::Operate, entry.domain.as_deref())?;
    let spec = parse_freeze("freeze", entry.clone()).map_err(|problems| {
        let messages: Vec<String> = problems.iter().map(ToString::to_string).collect();
        ApiError::bad_request(messages.join("; "))
    })?;
    let domain_id = match &spec.domain {
        None => None,
        Some(name) => {
            Some(store::domains::list(conn).await?.into_iter().find(|d| &d.name == name).map(|d| d.id).ok_or_else(
                || ApiError::Rejected(StatusCode::UNPROCESSABLE_ENTITY, format!("no domain is called \"{name}\"")),
            )?)
        }
    };
    Ok(stored_freeze(&spec, domain_id))
}

/// The freeze's windows in the coming year and the unfinished trains whose cutover window meets one.
async fn impact(
    conn: &mut store::Conn,
    entry: FreezeEntry,
    freeze: &Freeze,
    now: i64,
) -> Result<FreezePreview, ApiError> {
    let windows = freeze.windows(now, now + PREVIEW_AHEAD_MS);
    let mut impacts = Vec::new();
    if let (Some(first), Some(last)) = (windows.first(), windows.last()) {
        let trains = store::trains::cutting_over_between(
            conn,
            first.start - CUTOVER_REACH_MS,
            last.end,
            entry.domain.as_deref(),
        )
        .await?;
        for train in trains {
            let finished = ["completed", "aborted", "rolled_back", "skipped", "monitoring"];
            if finished.contains(&train.state.as_str()) {
                continue;
            }
            let Some(window) = windows.iter().find(|w| train.cutover_at < w.end && train.cutover_closes_at > w.start)
            else {
                continue;
            };
            let in_flight = ["staging", "canary", "cutover", "held", "suspended"].contains(&train.state.as_str());
            let effect = if in_flight || train.cutover_at < window.start { "suspended" } else { "moved" };
            impacts.push(FreezeImpact {
                cutover_at: rfc3339(train.cutover_at),
                train_id: train.id,
                definition: train.definition,
                domain: train.domain,
                state: train.state,
                effect: effect.to_owned(),
                until: rfc3339(window.end),
            });
        }
    }
    let windows = windows.iter().map(|w| WindowJson { start: rfc3339(w.start), end: rfc3339(w.end) }).collect();
    Ok(FreezePreview { freeze: entry, windows, impacts })
}
