//! Embedding panels in internal wikis: the admin-managed allow-list of wiki
//! origins, and signed links for one panel each.

use crate::time::Instant;
use std::collections::BTreeMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};

use super::AppJson;
use super::{ApiError, ApiState};
use crate::auth::{Caller, Permission};
use crate::service::embeds;
use crate::store::embed_links::EmbedLink;
use crate::text::Text;

/// The body of `POST /api/v1/embed/origins`, and the query of its `DELETE`.
#[derive(Debug, Deserialize, utoipa::ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OriginRequest {
    /// A web origin: scheme, host and optional port.
    #[schema(value_type = String, example = "https://wiki.example.com", pattern = "^https?://[^/?#@ *;'\"]+/?$")]
    pub origin: Text,
}

/// The body of `POST /api/v1/embed/links`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkRequest {
    pub panel: Text,
    #[serde(default)]
    pub params: BTreeMap<Text, Text>,
    /// The wiki's origin; must be on the allow-list.
    #[schema(value_type = String, example = "https://wiki.example.com", pattern = "^https?://[^/?#@ *;'\"]+/?$")]
    pub audience: Text,
    /// Lifetime like "30d", at most 366 days; 90 days when left out.
    #[schema(value_type = Option<String>, example = "30d", pattern = "^[0-9]{1,4}(s|m|h|d)$")]
    #[serde(default)]
    pub expires_in: Option<Text>,
}

/// A created link.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LinkJson {
    /// The link's id, to list or revoke it.
    pub id: String,
    /// Path and query to put in the iframe's `src` (after this server's address).
    pub path: String,
    pub token: String,
    pub expires_at: String,
}

/// A link as listed (never its token).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LinkListing {
    pub id: String,
    pub panel: String,
    pub params: BTreeMap<String, String>,
    pub audience: String,
    pub created_by: String,
    pub created_at: String,
    pub expires_at: String,
    /// `active`, `expired` or `revoked`.
    pub status: String,
    pub revoked_by: Option<String>,
}

/// `GET /api/v1/embed/origins`.
#[utoipa::path(
    get,
    path = "/api/v1/embed/origins",
    tag = "embeds",
    responses((status = 200, description = "Origins allowed to frame embeds", body = Vec<String>))
)]
pub async fn origins(State(state): State<ApiState>, caller: Caller) -> Result<Json<Vec<String>>, ApiError> {
    Ok(Json(embeds::origins(state.ctx(), &caller).await?))
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
    body: Result<AppJson<OriginRequest>, ApiError>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::Administer, None)?;
    let AppJson(request) = body?;
    let added = embeds::allow_origin(state.ctx(), &caller, &request.origin).await?;
    Ok(if added { StatusCode::CREATED } else { StatusCode::OK })
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
    embeds::remove_origin(state.ctx(), &caller, &request.origin).await?;
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
    body: Result<AppJson<LinkRequest>, ApiError>,
) -> Result<(StatusCode, Json<LinkJson>), ApiError> {
    caller.require(Permission::ShareEmbeds, None)?;
    let AppJson(request) = body?;
    let wanted = embeds::NewLink {
        panel: request.panel.into(),
        params: request.params.into_iter().map(|(key, value)| (key.into(), value.into())).collect(),
        audience: request.audience.into(),
        expires_in: request.expires_in.map(Into::into),
    };
    let created = embeds::create_link(state.ctx(), &caller, &state.auth.embed_key, wanted).await?;
    let expires_at = created.link.expires_at.rfc3339();
    Ok((
        StatusCode::CREATED,
        Json(LinkJson { id: created.link.id, path: created.path, token: created.token, expires_at }),
    ))
}

/// `GET /api/v1/embed/links`: the links an admin (every link) or a release
/// manager (their own) handed out, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/embed/links",
    tag = "embeds",
    responses((status = 200, description = "Embed links, newest first", body = Vec<LinkListing>))
)]
pub async fn links(State(state): State<ApiState>, caller: Caller) -> Result<Json<Vec<LinkListing>>, ApiError> {
    let now = state.ctx().now();
    let listed = embeds::links(state.ctx(), &caller).await?;
    Ok(Json(listed.into_iter().map(|link| listing(link, now)).collect()))
}

/// `DELETE /api/v1/embed/links/{id}`: revokes one link at once (admins any, others their own).
#[utoipa::path(
    delete,
    path = "/api/v1/embed/links/{id}",
    tag = "embeds",
    params(("id" = String, Path, description = "Embed link id")),
    responses(
        (status = 204, description = "Revoked: the link shows nothing from its next request"),
        (status = 409, description = "Already revoked")
    )
)]
pub async fn revoke_link(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    embeds::revoke_link(state.ctx(), &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn listing(link: EmbedLink, now: Instant) -> LinkListing {
    LinkListing {
        status: embeds::status(&link, now).to_owned(),
        params: serde_json::from_str(&link.params).unwrap_or_default(),
        created_at: link.created_at.rfc3339(),
        expires_at: link.expires_at.rfc3339(),
        revoked_by: link.revoked_at.map(|_| link.revoked_by.clone()),
        id: link.id,
        panel: link.panel,
        audience: link.audience,
        created_by: link.created_by,
    }
}
