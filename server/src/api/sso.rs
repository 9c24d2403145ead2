//! Single sign-on through the identity provider: `GET /auth/oidc/start`
//! sends the browser there (with a cookie carrying the sign-in's `state`),
//! `GET /auth/oidc/callback` brings it back signed in. What goes wrong is
//! answered with a page that says what happened, never a bare error.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, SameSite};
use axum_extra::extract::CookieJar;
use serde::Deserialize;

use super::session::{safe_next, session_cookie};
use super::ApiState;
use crate::auth::Caller;
use crate::markdown::escape_html;
use crate::service::sso::{self, Callback};
use crate::service::ServiceError;

/// `?next=/console`: where to land once signed in.
#[derive(Debug, Deserialize)]
pub struct StartQuery {
    #[serde(default)]
    next: String,
}

/// What the provider sends back: a code and the `state`, or an error.
#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// Sends the browser to the identity provider.
pub async fn start(
    State(state): State<ApiState>,
    caller: Caller,
    jar: CookieJar,
    Query(query): Query<StartQuery>,
) -> Response {
    let Some(provider) = state.auth.oidc.clone() else {
        return page(StatusCode::NOT_FOUND, "Single sign-on is not set up on this server.");
    };
    let next = safe_next(if query.next.is_empty() { "/" } else { &query.next });
    match sso::start(state.ctx(), &provider, &state.auth.limits, &caller, &next).await {
        Ok(started) => (jar.add(state_cookie(&state, started.state)), Redirect::to(&started.url)).into_response(),
        Err(error) => failed(error),
    }
}

/// Finishes the sign-in the provider sent back, and lands on `next`.
pub async fn callback(
    State(state): State<ApiState>,
    caller: Caller,
    jar: CookieJar,
    Query(query): Query<CallbackQuery>,
) -> Response {
    let Some(provider) = state.auth.oidc.clone() else {
        return page(StatusCode::NOT_FOUND, "Single sign-on is not set up on this server.");
    };
    if let Some(error) = &query.error {
        let said = query.error_description.as_deref().unwrap_or(error);
        return page(StatusCode::UNAUTHORIZED, &format!("The identity provider did not sign you in: {said}."));
    }
    let (Some(returned), Some(code)) = (query.state.as_deref(), query.code.as_deref()) else {
        return page(StatusCode::BAD_REQUEST, "The identity provider's answer has no sign-in code or state.");
    };
    let cookie_state = jar.get(state_cookie_name(&state)).map(|cookie| cookie.value().to_owned());
    let lifetime_ms = i64::try_from(state.auth.settings.absolute_lifetime.as_millis()).unwrap_or(i64::MAX / 2);
    let back = Callback { state: returned, cookie_state: cookie_state.as_deref(), code };
    match sso::finish(state.ctx(), &provider, &caller, lifetime_ms, back).await {
        Ok((signed_in, next)) => {
            let jar = jar.remove(state_cookie(&state, String::new())).add(session_cookie(&state, signed_in.secret));
            (jar, Redirect::to(&next)).into_response()
        }
        Err(error) => failed(error),
    }
}

fn state_cookie_name(state: &ApiState) -> &'static str {
    if state.auth.settings.secure_cookies {
        "__Host-railyard_sso"
    } else {
        "railyard_sso"
    }
}

/// The cookie binding a sign-in to the browser that started it (`SameSite=Lax`:
/// the provider's redirect back is a top-level navigation, so it comes along).
/// It lives with the browser session; the sign-in it names lapses after ten minutes.
fn state_cookie(state: &ApiState, value: String) -> Cookie<'static> {
    Cookie::build((state_cookie_name(state), value))
        .path("/")
        .http_only(true)
        .secure(state.auth.settings.secure_cookies)
        .same_site(SameSite::Lax)
        .build()
}

fn failed(error: ServiceError) -> Response {
    let status = match &error {
        ServiceError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        ServiceError::TooMany { .. } => StatusCode::TOO_MANY_REQUESTS,
        ServiceError::Unauthenticated(_) | ServiceError::Forbidden(_) => StatusCode::UNAUTHORIZED,
        ServiceError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    let text = match &error {
        ServiceError::Internal(_) => "Signing you in failed on our side; it has been logged. Try again.".to_owned(),
        other => other.to_string(),
    };
    if let ServiceError::Internal(cause) = &error {
        tracing::error!(error = %cause, "single sign-on failed");
    }
    let mut response = page(status, &text);
    if let ServiceError::TooMany { retry_after_s, .. } = &error {
        response.headers_mut().insert(axum::http::header::RETRY_AFTER, (*retry_after_s).into());
    }
    response
}

/// A small page saying what happened, with the ways on.
fn page(status: StatusCode, text: &str) -> Response {
    let escaped = escape_html(text);
    let body = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Sign-in did not work · Railyard</title></head><body>\
         <main><h1>Sign-in did not work</h1><p role=\"alert\" class=\"sso-problem\">{escaped}</p>\
         <p><a href=\"/auth/oidc/start\">Try single sign-on again</a> · <a href=\"/login\">Sign in another way</a></p>\
         </main></body></html>"
    );
    (status, Html(body)).into_response()
}
