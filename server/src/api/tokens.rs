//! Admin: API tokens for CI. The secret is shown once, in the response that
//! creates it; only its SHA-256 is stored.

use crate::time::Instant;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};

use super::AppJson;
use super::{ApiError, ApiState};
use crate::auth::{Caller, Permission};
use crate::service::tokens;
use crate::store::tokens::ApiToken;
use crate::text::{strings, Text};

/// The body of `POST /api/v1/tokens`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    #[schema(schema_with = token_name_schema)]
    pub name: Text,
    /// Any of `read`, `artifacts:write`, `checks:write`, `incidents:write`.
    #[schema(value_type = Vec<String>, min_items = 1, example = json!(["read", "artifacts:write"]))]
    pub scopes: Vec<Text>,
    /// Domain names the token is limited to; empty for all.
    #[serde(default)]
    pub domains: Vec<Text>,
    /// Lifetime like "90d"; absent for none.
    #[serde(default)]
    #[schema(value_type = Option<String>, pattern = "^[0-9]{1,4}(s|m|h|d)$")]
    pub expires_in: Option<Text>,
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
    Ok(Json(tokens::list(state.ctx(), &caller).await?.into_iter().map(token_json).collect()))
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
    body: Result<AppJson<NewToken>, ApiError>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    caller.require(Permission::Administer, None)?;
    let AppJson(request) = body?;
    let wanted = tokens::NewToken {
        name: &request.name,
        scopes: &strings(request.scopes),
        domains: &strings(request.domains),
        expires_in: request.expires_in.as_deref(),
    };
    let (row, secret) = tokens::create(state.ctx(), &caller, wanted).await?;
    Ok((StatusCode::CREATED, Json(CreatedToken { token: secret, details: token_json(row) })))
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
    tokens::revoke(state.ctx(), &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn token_json(token: ApiToken) -> TokenJson {
    TokenJson {
        id: token.id,
        name: token.name,
        scopes: token.scopes.split_whitespace().map(str::to_owned).collect(),
        domains: token.domains.split_whitespace().map(str::to_owned).collect(),
        created_by: token.created_by,
        created_at: token.created_at.rfc3339(),
        expires_at: token.expires_at.map(Instant::rfc3339),
        revoked_at: token.revoked_at.map(Instant::rfc3339),
        last_used_at: token.last_used_at.map(Instant::rfc3339),
    }
}

/// A token's name: printable, not blank, at most 100 characters.
fn token_name_schema() -> utoipa::openapi::schema::Object {
    crate::text::schema::not_blank(Some(100), Some("ci"))
}
