//! Admin: whether people sign in with passwords, or only with single sign-on
//! (hand-set admins always keep their password, for break-glass access).

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};

use super::AppJson;
use super::{ApiError, ApiState};
use crate::auth::{Caller, Permission};
use crate::service::sign_in;

/// How people sign in here.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SignInPolicy {
    /// Whether everyone may sign in with a password (false: only hand-set admins).
    pub local_sign_in: bool,
    /// The identity provider's name, when single sign-on is set up.
    #[serde(default)]
    pub single_sign_on: Option<String>,
}

/// The body of `PUT /api/v1/sign-in-policy`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyChange {
    pub local_sign_in: bool,
}

/// `GET /api/v1/sign-in-policy`.
#[utoipa::path(
    get,
    path = "/api/v1/sign-in-policy",
    tag = "users",
    responses((status = 200, description = "How people sign in", body = SignInPolicy))
)]
pub async fn show(State(state): State<ApiState>, caller: Caller) -> Result<Json<SignInPolicy>, ApiError> {
    caller.require(Permission::Administer, None)?;
    policy(&state).await
}

/// `PUT /api/v1/sign-in-policy`: turns password sign-in off (or on again) for everyone but hand-set admins.
#[utoipa::path(
    put,
    path = "/api/v1/sign-in-policy",
    tag = "users",
    request_body = PolicyChange,
    responses(
        (status = 200, description = "The policy now", body = SignInPolicy),
        (status = 409, description = "Single sign-on is not set up, so passwords cannot be turned off")
    )
)]
pub async fn change(
    State(state): State<ApiState>,
    caller: Caller,
    body: Result<AppJson<PolicyChange>, ApiError>,
) -> Result<Json<SignInPolicy>, ApiError> {
    caller.require(Permission::Administer, None)?;
    let AppJson(change) = body?;
    sign_in::set_local_sign_in(state.ctx(), &caller, change.local_sign_in, state.auth.oidc.is_some()).await?;
    policy(&state).await
}

async fn policy(state: &ApiState) -> Result<Json<SignInPolicy>, ApiError> {
    Ok(Json(SignInPolicy {
        local_sign_in: sign_in::local_sign_in(state.ctx()).await?,
        single_sign_on: state.auth.single_sign_on(),
    }))
}
