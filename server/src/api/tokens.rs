//! Admin: API tokens for CI. The secret is shown once, in the response that
//! creates it; only its SHA-256 is stored.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{ApiError, ApiState};
use crate::auth::{secret, Caller, Permission, Scope};
use crate::store::{self, tokens::ApiToken};
use crate::time::{rfc3339, to_ms};

/// Prefix of every token, so secret scanners can recognise leaked ones.
const PREFIX: &str = "ryd_";

/// The body of `POST /api/v1/tokens`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    #[schema(
        example = "ci",
        max_length = 100,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*\S[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    pub name: String,
    /// Any of `read`, `artifacts:write`, `checks:write`, `incidents:write`.
    #[schema(min_items = 1, example = json!(["read", "artifacts:write"]))]
    pub scopes: Vec<String>,
    /// Domain names the token is limited to; empty for all.
    #[serde(default)]
    pub domains: Vec<String>,
    /// Lifetime like "90d"; absent for none.
    #[serde(default)]
    #[schema(pattern = "^[0-9]{1,4}(s|m|h|d)$")]
    pub expires_in: Option<String>,
}

/// A token as admins see it (never with its secret).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TokenJson {
    pub id: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub domains: Vec<String>,
    pub created_by: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
    pub last_used_at: Option<String>,
}

/// The answer to creating a token: the only time its secret is shown.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CreatedToken {
    pub token: String,
    #[serde(flatten)]
    pub details: TokenJson,
}

/// `GET /api/v1/tokens`.
#[utoipa::path(
    operation_id = "list_tokens",
    get,
    path = "/api/v1/tokens",
    tag = "tokens",
    responses((status = 200, description = "API tokens (never their secrets)", body = Vec<TokenJson>))
)]
pub async fn list(State(state): State<ApiState>, caller: Caller) -> Result<Json<Vec<TokenJson>>, ApiError> {
    caller.require(Permission::Administer, None)?;
    let mut conn = state.db.acquire().await?;
    Ok(Json(store::tokens::list(&mut conn).await?.into_iter().map(token_json).collect()))
}

/// `POST /api/v1/tokens`.
#[utoipa::path(
    operation_id = "create_token",
    post,
    path = "/api/v1/tokens",
    tag = "tokens",
    request_body = NewToken,
    responses((status = 201, description = "Created; the secret is shown this once", body = CreatedToken))
)]
pub async fn create(
    State(state): State<ApiState>,
    caller: Caller,
    body: Result<Json<NewToken>, JsonRejection>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    caller.require(Permission::Administer, None)?;
    let Json(request) = body?;
    let name = request.name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(ApiError::bad_request("a token needs a name of 1–100 characters, e.g. \"ci-payments\""));
    }
    if request.scopes.is_empty() {
        return Err(ApiError::bad_request(
            "a token needs at least one scope: read, artifacts:write, checks:write or incidents:write",
        ));
    }
    let mut scopes = Vec::new();
    for scope in &request.scopes {
        let scope = Scope::parse(scope.trim()).map_err(ApiError::BadRequest)?;
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    let now = to_ms(state.clock.now());
    let expires_at = match request.expires_in.as_deref() {
        None => None,
        Some(text) => {
            let lifetime = humantime::parse_duration(text).map_err(|_| {
                ApiError::bad_request(format!("`expires_in` must be a duration like \"90d\", got \"{text}\""))
            })?;
            Some(now + i64::try_from(lifetime.as_millis()).unwrap_or(i64::MAX / 2))
        }
    };
    let mut tx = state.db.begin().await?;
    for domain in &request.domains {
        if store::domains::by_name(&mut tx, domain).await?.is_none() {
            return Err(ApiError::bad_request(format!("unknown domain \"{domain}\"")));
        }
    }
    let secret = format!("{PREFIX}{}", secret::random_token(32));
    let row = ApiToken {
        id: store::new_id(),
        name: name.to_owned(),
        scopes: scopes.iter().map(|scope| scope.as_str()).collect::<Vec<_>>().join(" "),
        domains: request.domains.join(" "),
        created_by: caller.principal.actor(),
        created_at: now,
        expires_at,
        revoked_at: None,
        last_used_at: None,
    };
    store::tokens::insert(&mut tx, &row, &secret::digest(&secret)).await?;
    let details = token_json(row);
    let entry = caller
        .audit("token.created", &format!("token:{}", details.id))
        .change(&serde_json::Value::Null, &json!({ "name": details.name, "scopes": details.scopes, "domains": details.domains, "expires_at": details.expires_at }));
    store::audit::append(&mut tx, &entry, now).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(CreatedToken { token: secret, details })))
}

/// `DELETE /api/v1/tokens/{id}`: revokes a token at once.
#[utoipa::path(
    delete,
    path = "/api/v1/tokens/{id}",
    tag = "tokens",
    params(("id" = String, Path, description = "Token id")),
    responses((status = 204, description = "Revoked"))
)]
pub async fn revoke(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::Administer, None)?;
    let now = to_ms(state.clock.now());
    let mut tx = state.db.begin().await?;
    let Some(token) = store::tokens::by_id(&mut tx, &id).await? else {
        return Err(ApiError::NotFound(format!("no token {id}")));
    };
    if !store::tokens::revoke(&mut tx, &id, now).await? {
        return Err(ApiError::Conflict(format!("token {} was already revoked", token.name)));
    }
    let entry = caller
        .audit("token.revoked", &format!("token:{id}"))
        .change(&json!({ "name": token.name }), &json!({ "revoked": true }));
    store::audit::append(&mut tx, &entry, now).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

fn token_json(token: ApiToken) -> TokenJson {
    TokenJson {
        id: token.id,
        name: token.name,
        scopes: token.scopes.split_whitespace().map(str::to_owned).collect(),
        domains: token.domains.split_whitespace().map(str::to_owned).collect(),
        created_by: token.created_by,
        created_at: rfc3339(token.created_at),
        expires_at: token.expires_at.map(rfc3339),
        revoked_at: token.revoked_at.map(rfc3339),
        last_used_at: token.last_used_at.map(rfc3339),
    }
}
