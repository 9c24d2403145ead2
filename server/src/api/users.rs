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
    /// The roles an admin set by hand (what `PUT …/roles` replaces).
    pub roles: Vec<Binding>,
    /// The roles their last single sign-on granted through `[[role_mapping]]`, recomputed at each sign-in.
    pub sso_roles: Vec<Binding>,
    /// The names this person appears under as a build's author (e-mail, VCS login).
    pub identities: Vec<String>,
    /// Who the identity provider says they are.
    pub sso_identities: Vec<SsoIdentityJson>,
    pub disabled: bool,
    pub must_change_password: bool,
    pub created_at: String,
}

/// A provider's subject linked to a user.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SsoIdentityJson {
    pub issuer: String,
    pub subject: String,
    pub email: String,
    pub last_sign_in_at: String,
}

/// What `DELETE /api/v1/users/{name}/sessions` ended.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SessionsEnded {
    pub sessions_ended: u64,
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

/// `DELETE /api/v1/users/{name}/sessions`: signs the person out everywhere at once.
#[utoipa::path(
    delete,
    path = "/api/v1/users/{name}/sessions",
    tag = "users",
    params(("name" = String, Path, description = "User name")),
    responses((status = 200, description = "Their sessions ended; roles from single sign-on are recomputed at their next sign-in", body = SessionsEnded))
)]
pub async fn end_sessions(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<SessionsEnded>, ApiError> {
    caller.require(Permission::Administer, None)?;
    Ok(Json(SessionsEnded { sessions_ended: users::end_sessions(state.ctx(), &caller, &name).await? }))
}

fn user_json(UserRecord { user, roles, sso_roles, identities, sso }: UserRecord) -> UserJson {
    UserJson {
        name: user.name,
        roles,
        sso_roles,
        identities,
        sso_identities: sso
            .into_iter()
            .map(|link| SsoIdentityJson {
                issuer: link.issuer,
                subject: link.subject,
                email: link.email,
                last_sign_in_at: link.last_sign_in_at.rfc3339(),
            })
            .collect(),
        disabled: user.disabled != 0,
        must_change_password: user.must_change_password != 0,
        created_at: user.created_at.rfc3339(),
    }
}
