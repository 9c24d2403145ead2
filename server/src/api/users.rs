//! Admin: people, their roles, disabling and password resets. Every change
//! is audited with the state before and after.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};

use super::AppJson;
use super::{ApiError, ApiState};
use crate::auth::{Binding, Caller, Permission};
use crate::service::users::{self, UserRecord};
use crate::text::{strings, Text};

/// A user as admins see them.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UserJson {
    pub name: String,
    pub roles: Vec<Binding>,
    /// The names this person appears under as a build's author (e-mail, VCS login).
    pub identities: Vec<String>,
    pub disabled: bool,
    pub must_change_password: bool,
    pub created_at: String,
}

/// The body of `POST /api/v1/users`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    #[schema(value_type = String, example = "ada", pattern = "^[A-Za-z0-9._@-]{1,64}$")]
    pub name: Text,
    /// At least 12 characters; the user must change it at first sign-in.
    #[schema(value_type = String, min_length = 12)]
    pub password: Text,
    #[serde(default)]
    pub roles: Vec<Binding>,
}

/// The body of `PUT /api/v1/users/{name}/roles`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RolesRequest {
    pub roles: Vec<Binding>,
}

/// The body of `POST /api/v1/users/{name}/password`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordReset {
    pub password: Text,
}

/// `GET /api/v1/users`.
#[utoipa::path(
    operation_id = "list_users",
    get,
    path = "/api/v1/users",
    tag = "users",
    responses((status = 200, description = "Every user", body = Vec<UserJson>))
)]
pub async fn list(State(state): State<ApiState>, caller: Caller) -> Result<Json<Vec<UserJson>>, ApiError> {
    let records = users::list(state.ctx(), &caller).await?;
    Ok(Json(records.into_iter().map(user_json).collect()))
}

/// `POST /api/v1/users`: creates a user who must change the given password at first sign-in.
#[utoipa::path(
    operation_id = "create_user",
    post,
    path = "/api/v1/users",
    tag = "users",
    request_body = NewUser,
    responses((status = 201, description = "Created", body = UserJson))
)]
pub async fn create(
    State(state): State<ApiState>,
    caller: Caller,
    body: Result<AppJson<NewUser>, ApiError>,
) -> Result<(StatusCode, Json<UserJson>), ApiError> {
    caller.require(Permission::Administer, None)?;
    let AppJson(request) = body?;
    let record = users::create(state.ctx(), &caller, &request.name, request.password.into(), &request.roles).await?;
    Ok((StatusCode::CREATED, Json(user_json(record))))
}

/// `PUT /api/v1/users/{name}/roles`: replaces the user's roles; effective on their next request.
#[utoipa::path(
    put,
    path = "/api/v1/users/{name}/roles",
    tag = "users",
    params(("name" = String, Path, description = "User name")),
    request_body = RolesRequest,
    responses((status = 200, description = "Roles replaced", body = UserJson))
)]
pub async fn set_roles(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
    body: Result<AppJson<RolesRequest>, ApiError>,
) -> Result<Json<UserJson>, ApiError> {
    caller.require(Permission::Administer, None)?;
    let AppJson(request) = body?;
    Ok(Json(user_json(users::set_roles(state.ctx(), &caller, &name, &request.roles).await?)))
}

/// `POST /api/v1/users/{name}/disable`: disables the user and ends all their sessions.
#[utoipa::path(
    post,
    path = "/api/v1/users/{name}/disable",
    tag = "users",
    params(("name" = String, Path, description = "User name")),
    responses((status = 200, description = "Disabled; their sessions and tokens end", body = UserJson))
)]
pub async fn disable(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<UserJson>, ApiError> {
    Ok(Json(user_json(users::set_disabled(state.ctx(), &caller, &name, true).await?)))
}

/// `POST /api/v1/users/{name}/enable`.
#[utoipa::path(
    post,
    path = "/api/v1/users/{name}/enable",
    tag = "users",
    params(("name" = String, Path, description = "User name")),
    responses((status = 200, description = "Enabled", body = UserJson))
)]
pub async fn enable(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<UserJson>, ApiError> {
    Ok(Json(user_json(users::set_disabled(state.ctx(), &caller, &name, false).await?)))
}

/// `POST /api/v1/users/{name}/password`: sets a password the user must change at next sign-in, and ends their sessions.
#[utoipa::path(
    post,
    path = "/api/v1/users/{name}/password",
    tag = "users",
    params(("name" = String, Path, description = "User name")),
    request_body = PasswordReset,
    responses((status = 204, description = "Password reset; it must be changed at next sign-in"))
)]
pub async fn reset_password(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
    body: Result<AppJson<PasswordReset>, ApiError>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::Administer, None)?;
    let AppJson(request) = body?;
    users::reset_password(state.ctx(), &caller, &name, request.password.into()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The body of `PUT /api/v1/users/{name}/identities`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentitiesRequest {
    /// E-mail addresses and VCS logins this person authors builds under (at most 20).
    #[schema(value_type = Vec<String>, example = json!(["ada@example.com", "ada-lovelace"]))]
    pub identities: Vec<Text>,
}

/// `PUT /api/v1/users/{name}/identities`: replaces the names a person authors builds under.
#[utoipa::path(
    put,
    path = "/api/v1/users/{name}/identities",
    tag = "users",
    params(("name" = String, Path, description = "User name")),
    request_body = IdentitiesRequest,
    responses(
        (status = 200, description = "The user with their new identities", body = UserJson),
        (status = 409, description = "An identity belongs to someone else")
    )
)]
pub async fn set_identities(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
    body: Result<AppJson<IdentitiesRequest>, ApiError>,
) -> Result<Json<UserJson>, ApiError> {
    caller.require(Permission::Administer, None)?;
    let AppJson(request) = body?;
    Ok(Json(user_json(users::set_identities(state.ctx(), &caller, &name, &strings(request.identities)).await?)))
}

fn user_json(UserRecord { user, roles, identities }: UserRecord) -> UserJson {
    UserJson {
        name: user.name,
        roles,
        identities,
        disabled: user.disabled != 0,
        must_change_password: user.must_change_password != 0,
        created_at: user.created_at.rfc3339(),
    }
}
