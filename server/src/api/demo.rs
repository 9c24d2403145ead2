//! `POST /demo/banner/dismiss`: hides the demo banner for this browser
//! (a plain form, so it works before the wasm has loaded).

use axum::extract::rejection::FormRejection;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use super::session::safe_next;
use super::{ApiError, ApiState};
use crate::auth::{Caller, Permission};

/// How long the dismissal is remembered.
const YEAR_SECONDS: u32 = 365 * 24 * 3600;

/// The dismiss form: the page to go back to.
#[derive(Debug, Deserialize)]
pub struct DismissForm {
    #[serde(default)]
    back: String,
}

/// Remembers the dismissal for a year and goes back to the page.
pub async fn dismiss_banner(
    State(state): State<ApiState>,
    caller: Caller,
    form: Result<Form<DismissForm>, FormRejection>,
) -> Result<Response, ApiError> {
    if !state.demo {
        return Err(ApiError::NotFound("there is no demo banner: this server does not run the demo".into()));
    }
    caller.require(Permission::Read, None)?;
    let Form(form) = form.map_err(|rejection| ApiError::BadRequest(format!("the dismiss form: {rejection}")))?;
    let secure = if state.auth.settings.secure_cookies { "; Secure" } else { "" };
    let cookie = format!(
        "{}=dismissed; Path=/; Max-Age={YEAR_SECONDS}; HttpOnly; SameSite=Lax{secure}",
        app::demo::BANNER_COOKIE
    );
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to(&safe_next(&form.back))).into_response())
}
