//! Embedding panels in internal wikis: the admin-managed allow-list of wiki
//! origins, and signed links for one panel each.

use std::collections::BTreeMap;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{ApiError, ApiState};
use crate::auth::embed::{self, Claims};
use crate::auth::{Caller, Permission};
use crate::store::{self, embed_links::EmbedLink};
use crate::time::{rfc3339, to_ms};

/// Longest an embed link may live.
const MAX_LIFETIME_MS: i64 = 366 * 24 * 3_600_000;
/// How long a link lives when the request does not say.
const DEFAULT_LIFETIME: &str = "90d";

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
    /// Lifetime like "30d", at most 366 days; 90 days when left out.
    #[schema(example = "30d", pattern = "^[0-9]{1,4}(s|m|h|d)$")]
    #[serde(default)]
    pub expires_in: Option<String>,
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
    let expires_in = request.expires_in.as_deref().unwrap_or(DEFAULT_LIFETIME);
    let lifetime = humantime::parse_duration(expires_in).map_err(|_| {
        ApiError::bad_request(format!("`expires_in` must be a duration like \"30d\", got \"{expires_in}\""))
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
        jti: store::new_id(),
    };
    let token = embed::sign(&claims, &state.auth.embed_key).map_err(ApiError::Internal)?;
    let link = EmbedLink {
        id: claims.jti.clone(),
        panel: claims.panel.clone(),
        params: serde_json::to_string(&claims.params).map_err(|e| ApiError::Internal(e.into()))?,
        audience: claims.aud.clone(),
        created_by: claims.sub.clone(),
        created_at: now,
        expires_at: claims.exp,
        revoked_at: None,
        revoked_by: String::new(),
    };
    store::embed_links::insert(&mut tx, &link).await?;
    let entry = caller.audit("embed.link_created", &format!("embed_link:{}", link.id)).change(
        &serde_json::Value::Null,
        &json!({ "panel": claims.panel, "params": claims.params, "audience": claims.aud, "expires_at": rfc3339(claims.exp) }),
    );
    store::audit::append(&mut tx, &entry, now).await?;
    tx.commit().await?;
    let path = format!("/embed/{}?{query}token={token}", claims.panel);
    Ok((StatusCode::CREATED, Json(LinkJson { id: link.id, path, token, expires_at: rfc3339(claims.exp) })))
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
    caller.require(Permission::ShareEmbeds, None)?;
    let now = to_ms(state.clock.now());
    let mut conn = state.db.acquire().await?;
    let actor = caller.principal.actor();
    let creator = (!caller.principal.can(Permission::Administer, None)).then_some(actor.as_str());
    let listed = store::embed_links::list(&mut conn, creator).await?;
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
    caller.require(Permission::ShareEmbeds, None)?;
    let now = to_ms(state.clock.now());
    let mut tx = state.db.begin().await?;
    let link = store::embed_links::by_id(&mut tx, &id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no embed link has id \"{id}\"")))?;
    let actor = caller.principal.actor();
    if link.created_by != actor && !caller.principal.can(Permission::Administer, None) {
        return Err(ApiError::Forbidden(format!(
            "{} created this link; only they or an admin can revoke it",
            link.created_by
        )));
    }
    if !store::embed_links::revoke(&mut tx, &id, &actor, now).await? {
        return Err(ApiError::Conflict("this embed link is already revoked".into()));
    }
    let entry = caller
        .audit("embed.link_revoked", &format!("embed_link:{id}"))
        .change(&json!({ "panel": link.panel, "audience": link.audience }), &serde_json::Value::Null);
    store::audit::append(&mut tx, &entry, now).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

fn listing(link: EmbedLink, now: i64) -> LinkListing {
    let status = match link.revoked_at {
        Some(_) => "revoked",
        None if link.expires_at <= now => "expired",
        None => "active",
    };
    LinkListing {
        status: status.to_owned(),
        params: serde_json::from_str(&link.params).unwrap_or_default(),
        created_at: rfc3339(link.created_at),
        expires_at: rfc3339(link.expires_at),
        revoked_by: link.revoked_at.map(|_| link.revoked_by.clone()),
        id: link.id,
        panel: link.panel,
        audience: link.audience,
        created_by: link.created_by,
    }
}
