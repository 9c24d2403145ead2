//! Admin: people, their roles, disabling and password resets. Every change
//! is audited with the state before and after.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{ApiError, ApiState};
use crate::auth::{password, Binding, Caller, Permission, Role};
use crate::store::{self, users::User, Conn};
use crate::time::{rfc3339, to_ms};

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
    #[schema(example = "ada", pattern = "^[A-Za-z0-9._@-]{1,64}$")]
    pub name: String,
    /// At least 12 characters; the user must change it at first sign-in.
    #[schema(min_length = 12)]
    pub password: String,
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
    pub password: String,
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
    caller.require(Permission::Administer, None)?;
    let mut conn = state.db.acquire().await?;
    let mut users = Vec::new();
    for user in store::users::list(&mut conn).await? {
        let roles = store::users::bindings(&mut conn, &user.id).await?;
        let identities = store::users::identities(&mut conn, &user.id).await?;
        users.push(user_json(user, roles, identities));
    }
    Ok(Json(users))
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
    body: Result<Json<NewUser>, JsonRejection>,
) -> Result<(StatusCode, Json<UserJson>), ApiError> {
    caller.require(Permission::Administer, None)?;
    let Json(request) = body?;
    let name = parse_name(&request.name)?;
    password::check_strength(&request.password).map_err(ApiError::BadRequest)?;
    let hash = hash_password(request.password).await?;
    let now = to_ms(state.clock.now());
    let mut tx = state.db.begin().await?;
    if store::users::by_name(&mut tx, &name).await?.is_some() {
        return Err(ApiError::Conflict(format!("a user called \"{name}\" already exists")));
    }
    let bindings = resolve(&mut tx, &request.roles).await?;
    let user = User {
        id: store::new_id(),
        name: name.clone(),
        password_hash: hash,
        disabled: 0,
        must_change_password: 1,
        created_at: now,
    };
    store::users::insert(&mut tx, &user, now).await?;
    store::users::replace_bindings(&mut tx, &user.id, &bindings, now).await?;
    let roles = store::users::bindings(&mut tx, &user.id).await?;
    let entry = caller
        .audit("user.created", &format!("user:{name}"))
        .change(&serde_json::Value::Null, &json!({ "roles": roles }));
    store::audit::append(&mut tx, &entry, now).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(user_json(user, roles, Vec::new()))))
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
    body: Result<Json<RolesRequest>, JsonRejection>,
) -> Result<Json<UserJson>, ApiError> {
    caller.require(Permission::Administer, None)?;
    let Json(request) = body?;
    let now = to_ms(state.clock.now());
    let mut tx = state.db.begin().await?;
    let user = existing(&mut tx, &name).await?;
    let bindings = resolve(&mut tx, &request.roles).await?;
    let before = store::users::bindings(&mut tx, &user.id).await?;
    if caller.principal.user_name() == Some(user.name.as_str())
        && !request.roles.iter().any(|binding| binding.role == Role::Admin && binding.domain.is_none())
    {
        return Err(ApiError::Conflict("you cannot remove your own admin role; ask another admin".into()));
    }
    store::users::replace_bindings(&mut tx, &user.id, &bindings, now).await?;
    let after = store::users::bindings(&mut tx, &user.id).await?;
    let entry = caller
        .audit("user.roles_changed", &format!("user:{}", user.name))
        .change(&json!({ "roles": before }), &json!({ "roles": after }));
    store::audit::append(&mut tx, &entry, now).await?;
    let identities = store::users::identities(&mut tx, &user.id).await?;
    tx.commit().await?;
    Ok(Json(user_json(user, after, identities)))
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
    set_disabled(state, caller, name, true).await
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
    set_disabled(state, caller, name, false).await
}

async fn set_disabled(
    state: ApiState,
    caller: Caller,
    name: String,
    disabled: bool,
) -> Result<Json<UserJson>, ApiError> {
    caller.require(Permission::Administer, None)?;
    let now = to_ms(state.clock.now());
    let mut tx = state.db.begin().await?;
    let mut user = existing(&mut tx, &name).await?;
    if disabled && caller.principal.user_name() == Some(user.name.as_str()) {
        return Err(ApiError::Conflict("you cannot disable yourself".into()));
    }
    store::users::set_disabled(&mut tx, &user.id, disabled, now).await?;
    let ended = if disabled { store::sessions::end_all(&mut tx, &user.id, None, now).await? } else { 0 };
    let action = if disabled { "user.disabled" } else { "user.enabled" };
    let entry = caller
        .audit(action, &format!("user:{}", user.name))
        .change(&json!({ "disabled": user.disabled != 0 }), &json!({ "disabled": disabled, "sessions_ended": ended }));
    store::audit::append(&mut tx, &entry, now).await?;
    let roles = store::users::bindings(&mut tx, &user.id).await?;
    let identities = store::users::identities(&mut tx, &user.id).await?;
    tx.commit().await?;
    user.disabled = i64::from(disabled);
    Ok(Json(user_json(user, roles, identities)))
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
    body: Result<Json<PasswordReset>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::Administer, None)?;
    let Json(request) = body?;
    password::check_strength(&request.password).map_err(ApiError::BadRequest)?;
    let hash = hash_password(request.password).await?;
    let now = to_ms(state.clock.now());
    let mut tx = state.db.begin().await?;
    let user = existing(&mut tx, &name).await?;
    store::users::set_password(&mut tx, &user.id, &hash, now).await?;
    store::users::require_password_change(&mut tx, &user.id).await?;
    let ended = store::sessions::end_all(&mut tx, &user.id, None, now).await?;
    let entry = caller
        .audit("user.password_reset", &format!("user:{}", user.name))
        .change(&serde_json::Value::Null, &json!({ "sessions_ended": ended }));
    store::audit::append(&mut tx, &entry, now).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The body of `PUT /api/v1/users/{name}/identities`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentitiesRequest {
    /// E-mail addresses and VCS logins this person authors builds under (at most 20).
    #[schema(example = json!(["ada@example.com", "ada-lovelace"]))]
    pub identities: Vec<String>,
}

/// Most author identities one person may hold.
const MAX_IDENTITIES: usize = 20;

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
    body: Result<Json<IdentitiesRequest>, JsonRejection>,
) -> Result<Json<UserJson>, ApiError> {
    caller.require(Permission::Administer, None)?;
    let Json(request) = body?;
    let wanted = parse_identities(&request.identities)?;
    let now = to_ms(state.clock.now());
    let mut tx = state.db.begin().await?;
    let user = existing(&mut tx, &name).await?;
    for identity in &wanted {
        if let Some(holder) = store::users::identity_holder(&mut tx, identity, &user.id).await? {
            return Err(ApiError::Conflict(format!(
                "\"{identity}\" is already an identity of {holder}; one identity belongs to one person"
            )));
        }
    }
    let before = store::users::identities(&mut tx, &user.id).await?;
    store::users::replace_identities(&mut tx, &user.id, &wanted, now).await?;
    let entry = caller
        .audit("user.identities_changed", &format!("user:{}", user.name))
        .change(&json!({ "identities": before }), &json!({ "identities": wanted }));
    store::audit::append(&mut tx, &entry, now).await?;
    let roles = store::users::bindings(&mut tx, &user.id).await?;
    tx.commit().await?;
    Ok(Json(user_json(user, roles, wanted)))
}

/// Author identities, normalised (trimmed, lower case) and without repeats;
/// each 1–254 characters without spaces, at most `MAX_IDENTITIES`.
fn parse_identities(given: &[String]) -> Result<Vec<String>, ApiError> {
    if given.len() > MAX_IDENTITIES {
        return Err(ApiError::bad_request(format!("a person has at most {MAX_IDENTITIES} author identities")));
    }
    let mut identities: Vec<String> = Vec::new();
    for text in given {
        let identity = store::users::normal_identity(text);
        if identity.is_empty() || identity.len() > 254 || identity.chars().any(char::is_whitespace) {
            return Err(ApiError::bad_request(format!(
                "\"{}\" is not an author identity: an e-mail address or a login, 1–254 characters without spaces",
                text.trim()
            )));
        }
        if !identities.contains(&identity) {
            identities.push(identity);
        }
    }
    identities.sort();
    Ok(identities)
}

/// The argon2id hash of `chosen`, computed off the async threads.
pub async fn hash_password(chosen: String) -> Result<String, ApiError> {
    password::bounded(move || password::hash(&chosen)).await?.map_err(ApiError::Internal)
}

async fn existing(conn: &mut Conn, name: &str) -> Result<User, ApiError> {
    store::users::by_name(conn, name).await?.ok_or_else(|| ApiError::NotFound(format!("no user called \"{name}\"")))
}

/// Role bindings with domain names turned into ids; unknown domains and domain-bound admins are refused.
async fn resolve(conn: &mut Conn, bindings: &[Binding]) -> Result<Vec<(Role, Option<String>)>, ApiError> {
    let mut resolved = Vec::new();
    for binding in bindings {
        let domain_id = match &binding.domain {
            None => None,
            Some(_) if binding.role == Role::Admin => {
                return Err(ApiError::bad_request("the admin role is global; it cannot be limited to a domain"))
            }
            Some(name) => Some(
                store::domains::by_name(conn, name)
                    .await?
                    .ok_or_else(|| ApiError::bad_request(format!("unknown domain \"{name}\"")))?
                    .id,
            ),
        };
        if !resolved.contains(&(binding.role, domain_id.clone())) {
            resolved.push((binding.role, domain_id));
        }
    }
    Ok(resolved)
}

/// Whether `name` is a possible user name: 1–64 characters of letters, digits, `.`, `-`, `_`, `@`.
pub(crate) fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'))
}

/// A user name: 1–64 characters of letters, digits, `.`, `-`, `_`, `@`.
fn parse_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    if is_valid_name(name) {
        Ok(name.to_owned())
    } else {
        Err(ApiError::bad_request("a user name is 1–64 letters, digits, '.', '-', '_' or '@'"))
    }
}

fn user_json(user: User, roles: Vec<Binding>, identities: Vec<String>) -> UserJson {
    UserJson {
        name: user.name,
        roles,
        identities,
        disabled: user.disabled != 0,
        must_change_password: user.must_change_password != 0,
        created_at: rfc3339(user.created_at),
    }
}
