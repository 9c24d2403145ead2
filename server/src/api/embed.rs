//! Embedding panels in internal wikis: the admin-managed allow-list of wiki
//! origins, and signed links for one panel each.

use std::collections::BTreeMap;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{ApiError, ApiState};
use crate::auth::embed::{self, Claims};
use crate::auth::{Caller, Permission};
use crate::store;
use crate::time::{rfc3339, to_ms};

/// Longest an embed link may live.
const MAX_LIFETIME_MS: i64 = 366 * 24 * 3_600_000;

/// The body of `POST /api/v1/embed/origins`, and the query of its `DELETE`.
#[derive(Debug, Deserialize, utoipa::ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OriginRequest {
    /// A web origin: scheme, host and optional port.
    #[schema(example = "https://wiki.example.com", pattern = "^https?://[^/?#@ *;'\"]+/?$")]
    pub origin: String,
}

/// The body of `POST /api/v1/embed/links`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkRequest {
    pub panel: String,
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// The wiki's origin; must be on the allow-list.
    #[schema(example = "https://wiki.example.com", pattern = "^https?://[^/?#@ *;'\"]+/?$")]
    pub audience: String,
    /// Lifetime like "30d", at most 366 days.
    #[schema(example = "30d", pattern = "^[0-9]{1,4}(s|m|h|d)$")]
    pub expires_in: String,
}

/// A created link.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LinkJson {
    /// Path and query to put in the iframe's `src` (after this server's address).
    pub path: String,
    pub token: String,
    pub expires_at: String,
}

/// `GET /api/v1/embed/origins`.
#[utoipa::path(
    get,
    path = "/api/v1/embed/origins",
    tag = "embeds",
    responses((status = 200, description = "Origins allowed to frame embeds", body = Vec<String>))
)]
pub async fn origins(State(state): State<ApiState>, caller: Caller) -> Result<Json<Vec<String>>, ApiError> {
    caller.require(Permission::Administer, None)?;
    let mut conn = state.db.acquire().await?;
    Ok(Json(store::secrets::embed_origins(&mut conn).await?))
}

/// `POST /api/v1/embed/origins`: allows a wiki origin to frame panels.
#[utoipa::path(
    post,
    path = "/api/v1/embed/origins",
    tag = "embeds",
    request_body = OriginRequest,
    responses((status = 201, description = "Allowed"), (status = 200, description = "Already allowed"))
)]
pub async fn allow_origin(
    State(state): State<ApiState>,
    caller: Caller,
    body: Result<Json<OriginRequest>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::Administer, None)?;
    let Json(request) = body?;
    let origin = embed::parse_origin(&request.origin).map_err(ApiError::BadRequest)?;
    let now = to_ms(state.clock.now());
    let mut tx = state.db.begin().await?;
    if !store::secrets::add_embed_origin(&mut tx, &origin, &caller.principal.actor(), now).await? {
        return Ok(StatusCode::OK);
    }
    let entry = caller.audit("embed.origin_allowed", &format!("origin:{origin}"));
    store::audit::append(&mut tx, &entry, now).await?;
    tx.commit().await?;
    Ok(StatusCode::CREATED)
}

/// `DELETE /api/v1/embed/origins?origin=…`: stops an origin framing panels (its links stop working).
#[utoipa::path(
    delete,
    path = "/api/v1/embed/origins",
    tag = "embeds",
    params(OriginRequest),
    responses((status = 204, description = "Removed"))
)]
pub async fn remove_origin(
    State(state): State<ApiState>,
    caller: Caller,
    query: Result<Query<OriginRequest>, QueryRejection>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::Administer, None)?;
    let Query(request) = query.map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
    let origin = embed::parse_origin(&request.origin).map_err(ApiError::BadRequest)?;
    let now = to_ms(state.clock.now());
    let mut tx = state.db.begin().await?;
    if !store::secrets::remove_embed_origin(&mut tx, &origin).await? {
        return Err(ApiError::NotFound(format!("{origin} is not on the allow-list")));
    }
    store::audit::append(&mut tx, &caller.audit("embed.origin_removed", &format!("origin:{origin}")), now).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/embed/links`: a signed, expiring, read-only link to one panel.
#[utoipa::path(
    post,
    path = "/api/v1/embed/links",
    tag = "embeds",
    request_body = LinkRequest,
    responses((status = 201, description = "A signed, read-only embed link", body = LinkJson))
)]
pub async fn create_link(
    State(state): State<ApiState>,
    caller: Caller,
    body: Result<Json<LinkRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<LinkJson>), ApiError> {
    caller.require(Permission::ShareEmbeds, None)?;
    let Json(request) = body?;
    let query = embed::panel_query(&request.panel, &request.params).map_err(ApiError::BadRequest)?;
    let audience = embed::parse_origin(&request.audience).map_err(ApiError::BadRequest)?;
    let lifetime = humantime::parse_duration(&request.expires_in).map_err(|_| {
        ApiError::bad_request(format!("`expires_in` must be a duration like \"30d\", got \"{}\"", request.expires_in))
    })?;
    let lifetime = i64::try_from(lifetime.as_millis()).unwrap_or(i64::MAX);
    if lifetime > MAX_LIFETIME_MS {
        return Err(ApiError::bad_request("an embed link may live at most 366 days"));
    }
    let now = to_ms(state.clock.now());
    let mut tx = state.db.begin().await?;
    if !store::secrets::embed_origins(&mut tx).await?.contains(&audience) {
        return Err(ApiError::bad_request(format!(
            "{audience} is not on the embed allow-list; an admin must add it first"
        )));
    }
    let claims = Claims {
        panel: request.panel,
        params: request.params,
        aud: audience,
        exp: now + lifetime,
        sub: caller.principal.actor(),
    };
    let token = embed::sign(&claims, &state.auth.embed_key).map_err(ApiError::Internal)?;
    let entry = caller.audit("embed.link_created", &format!("panel:{}", claims.panel)).change(
        &serde_json::Value::Null,
        &json!({ "params": claims.params, "audience": claims.aud, "expires_at": rfc3339(claims.exp) }),
    );
    store::audit::append(&mut tx, &entry, now).await?;
    tx.commit().await?;
    let path = format!("/embed/{}?{query}token={token}", claims.panel);
    Ok((StatusCode::CREATED, Json(LinkJson { path, token, expires_at: rfc3339(claims.exp) })))
}
