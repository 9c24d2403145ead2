//! Declaring a freeze from the console or over the API, with its impact
//! preview: before confirming, a release manager sees the trains and
//! cutovers the freeze would suspend or move. The body is a `[[freeze]]`
//! entry of the trains-as-code format, validated the same way.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use super::AppJson;
use super::{ApiError, ApiState};
use crate::auth::{Caller, Permission};
use crate::fleet::FreezeEntry;
use crate::service::freezes;
pub use crate::service::freezes::{FreezeImpact, FreezePreview, WindowJson};

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
    body: Result<AppJson<FreezeEntry>, ApiError>,
) -> Result<Json<FreezePreview>, ApiError> {
    caller.require_somewhere(Permission::Operate)?;
    let AppJson(entry) = body?;
    Ok(Json(freezes::preview(state.ctx(), &caller, entry).await?))
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
    body: Result<AppJson<FreezeEntry>, ApiError>,
) -> Result<(StatusCode, Json<FreezePreview>), ApiError> {
    caller.require_somewhere(Permission::Operate)?;
    let AppJson(entry) = body?;
    Ok((StatusCode::CREATED, Json(freezes::declare(state.ctx(), &caller, entry).await?)))
}
