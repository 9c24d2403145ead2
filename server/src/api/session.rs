//! Signing in and out, the signed-in person's own account and sessions.
//! JSON under `/api/v1/session` and `/api/v1/me`; the HTML sign-in form
//! posts to `/login` and `/logout`, which answer with redirects.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use axum_extra::extract::cookie::{Cookie, SameSite};
use serde::{Deserialize, Serialize};
use url::{Position, Url};

use super::AppJson;
use super::{ApiError, ApiState};
use crate::auth::{Binding, Caller, Principal};
use crate::service::{account, sign_in};
use crate::text::Text;

/// Name and password.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    pub name: Text,
    pub password: Text,
}

/// The sign-in form: credentials and where to go afterwards.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SignInForm {
    pub name: Text,
    pub password: Text,
    #[serde(default)]
    pub next: String,
}

/// A password change.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current: Text,
    /// At least 12 characters.
    #[schema(value_type = String, min_length = 12)]
    pub new: Text,
}

/// The signed-in person as the API shows them.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MeJson {
    pub name: String,
    pub roles: Vec<Binding>,
    pub must_change_password: bool,
}

/// A live session as its owner sees it.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SessionJson {
    pub id: String,
    pub current: bool,
    pub created_at: String,
    pub last_seen_at: String,
    pub expires_at: String,
    pub ip: String,
    pub user_agent: String,
}

/// `POST /api/v1/session`: signs in and sets the session cookie.
#[utoipa::path(
    post,
    path = "/api/v1/session",
    tag = "session",
    request_body = Credentials,
    responses((status = 200, description = "Signed in; the session cookie is set", body = MeJson))
)]
pub async fn sign_in(
    State(state): State<ApiState>,
    caller: Caller,
    body: Result<AppJson<Credentials>, ApiError>,
) -> Result<Response, ApiError> {
    let AppJson(credentials) = body?;
    let (cookie, me) = start_session(&state, &caller, &credentials.name, &credentials.password).await?;
    Ok(([(header::SET_COOKIE, cookie)], Json(me)).into_response())
}

/// `POST /login`: the HTML form's sign-in; redirects to `next` or back to the form with the reason.
pub async fn sign_in_form(State(state): State<ApiState>, caller: Caller, Form(form): Form<SignInForm>) -> Response {
    let next = safe_next(&form.next);
    match start_session(&state, &caller, &form.name, &form.password).await {
        Ok((cookie, me)) => {
            let target = if me.must_change_password { "/account?first=1".to_owned() } else { next };
            ([(header::SET_COOKIE, cookie)], Redirect::to(&target)).into_response()
        }
        Err(ApiError::Internal(error)) => ApiError::Internal(error).into_response(),
        Err(error) => {
            let reason = match error {
                ApiError::TooManyRequests(..) => "limited",
                ApiError::Forbidden(_) => "sso_only",
                _ => "failed",
            };
            Redirect::to(&format!("/login?error={reason}&next={}", crate::routes::url_encode(&next))).into_response()
        }
    }
}

/// `DELETE /api/v1/session`: ends the caller's session.
#[utoipa::path(
    delete,
    path = "/api/v1/session",
    tag = "session",
    responses((status = 204, description = "Signed out; the cookie is cleared"))
)]
pub async fn sign_out(State(state): State<ApiState>, caller: Caller) -> Result<Response, ApiError> {
    sign_in::sign_out(state.ctx(), &caller).await?;
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clearing_cookie(&state))]).into_response())
}

/// `POST /logout`: the form's sign-out; back to the sign-in page.
pub async fn sign_out_form(State(state): State<ApiState>, caller: Caller) -> Result<Response, ApiError> {
    sign_in::sign_out(state.ctx(), &caller).await?;
    Ok(([(header::SET_COOKIE, clearing_cookie(&state))], Redirect::to("/login?signed_out=1")).into_response())
}

/// `GET /api/v1/me`: who is signed in, with which roles.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "session",
    responses((status = 200, description = "The signed-in user and their roles", body = MeJson))
)]
pub async fn me(State(state): State<ApiState>, caller: Caller) -> Result<Json<MeJson>, ApiError> {
    let me = account::me(state.ctx(), &caller).await?;
    Ok(Json(MeJson { name: me.name, roles: me.roles, must_change_password: me.must_change_password }))
}

/// `GET /api/v1/me/sessions`: the caller's live sessions.
#[utoipa::path(
    get,
    path = "/api/v1/me/sessions",
    tag = "session",
    responses((status = 200, description = "The caller's open sessions", body = Vec<SessionJson>))
)]
pub async fn sessions(State(state): State<ApiState>, caller: Caller) -> Result<Json<Vec<SessionJson>>, ApiError> {
    let (rows, current) = account::sessions(state.ctx(), &caller, idle_ms(&state)).await?;
    Ok(Json(
        rows.into_iter()
            .map(|session| SessionJson {
                current: session.id == current,
                created_at: session.created_at.rfc3339(),
                last_seen_at: session.last_seen_at.rfc3339(),
                expires_at: session.expires_at.rfc3339(),
                id: session.id,
                ip: session.ip,
                user_agent: session.user_agent,
            })
            .collect(),
    ))
}

/// `DELETE /api/v1/me/sessions/{id}`: ends one of the caller's sessions.
#[utoipa::path(
    delete,
    path = "/api/v1/me/sessions/{id}",
    tag = "session",
    params(("id" = String, Path, description = "Session id")),
    responses((status = 204, description = "The session ended"))
)]
pub async fn end_one(
    State(state): State<ApiState>,
    caller: Caller,
    Path(session): Path<String>,
) -> Result<StatusCode, ApiError> {
    account::end_session(state.ctx(), &caller, &session).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/me/password`: changes the caller's password and ends their other sessions.
#[utoipa::path(
    post,
    path = "/api/v1/me/password",
    tag = "session",
    request_body = PasswordChange,
    responses((status = 204, description = "Password changed"))
)]
pub async fn change_password(
    State(state): State<ApiState>,
    caller: Caller,
    body: Result<AppJson<PasswordChange>, ApiError>,
) -> Result<StatusCode, ApiError> {
    if !matches!(caller.principal, Principal::User { .. }) {
        return Err(account::signed_in_only(&caller).into());
    }
    let AppJson(change) = body?;
    account::change_password(state.ctx(), &caller, &state.auth.limits, change.current.into(), change.new.into())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Signs in through the use case and makes the session cookie.
async fn start_session(
    state: &ApiState,
    caller: &Caller,
    name: &str,
    given: &str,
) -> Result<(String, MeJson), ApiError> {
    let lifetime_ms = i64::try_from(state.auth.settings.absolute_lifetime.as_millis()).unwrap_or(i64::MAX / 2);
    let signed_in = sign_in::sign_in(state.ctx(), caller, &state.auth.limits, lifetime_ms, name, given).await?;
    let me = signed_in.me;
    let me = MeJson { name: me.name, roles: me.roles, must_change_password: me.must_change_password };
    Ok((session_cookie(state, signed_in.secret).to_string(), me))
}

fn idle_ms(state: &ApiState) -> i64 {
    i64::try_from(state.auth.settings.idle_timeout.as_millis()).unwrap_or(i64::MAX / 2)
}

/// The session cookie: `__Host-` prefixed, `Secure`, `HttpOnly`, `SameSite=Lax`, whole site.
pub(crate) fn session_cookie(state: &ApiState, value: String) -> Cookie<'static> {
    Cookie::build((state.auth.settings.cookie_name(), value))
        .path("/")
        .http_only(true)
        .secure(state.auth.settings.secure_cookies)
        .same_site(SameSite::Lax)
        .build()
}

fn clearing_cookie(state: &ApiState) -> String {
    let mut cookie = session_cookie(state, String::new());
    cookie.make_removal();
    cookie.to_string()
}

/// `next` if it is a path on this site, else `/` (no open redirects).
pub(crate) fn safe_next(next: &str) -> String {
    // Browsers drop tabs and newlines and read `\` as `/` before resolving a
    // Location, so `/\t/evil.example` would leave the site: refuse them, then
    // resolve the rest as a browser would and keep it only on our own origin.
    let base = Url::parse(SAME_ORIGIN).expect("a valid base");
    if !next.starts_with('/') || next.chars().any(|c| c.is_control() || c == '\\') {
        return "/".to_owned();
    }
    match base.join(next) {
        // `//host` would be read as another origin once it is a Location.
        Ok(url) if url.origin() == base.origin() && !url[Position::BeforePath..].starts_with("//") => {
            url[Position::BeforePath..].to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// A fixed origin that stands for ours when a `next` path is resolved.
const SAME_ORIGIN: &str = "https://railyard.invalid/";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next("/console"), "/console");
        assert_eq!(safe_next("//evil.example"), "/");
        assert_eq!(safe_next("https://evil.example"), "/");
        assert_eq!(safe_next("/\\evil.example"), "/");
        assert_eq!(safe_next("/trains/t1?tab=gates#audit"), "/trains/t1?tab=gates#audit");
    }

    #[test]
    fn no_next_leaves_the_site_after_a_browser_parses_it() {
        let base = Url::parse(SAME_ORIGIN).expect("base");
        for hostile in [
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\n/evil.example",
            "\t//evil.example",
            "/\\/evil.example",
            "\\\\evil.example",
            "/%09/evil.example",
            "/%2F/evil.example",
            "/%5C/evil.example",
            "/./%2F/evil.example",
            "/.//evil.example",
            "///evil.example",
            "https:evil.example",
            "/\u{0}/evil.example",
        ] {
            let next = safe_next(hostile);
            let landed = base.join(&next).expect("a path");
            assert_eq!(landed.origin(), base.origin(), "{hostile:?} became {next:?}");
            assert!(next.starts_with('/') && !next.starts_with("//"), "{hostile:?} became {next:?}");
        }
    }
}
