//! What every request body passes before its handler: large bodies wait for
//! room in a shared memory budget (so a crowd of 15 MiB posts cannot exhaust
//! the server), and form bodies — the console's server functions and the
//! sign-in form, whose fields are plain strings — are refused with a 400
//! naming the field when they hold control characters. JSON bodies are not
//! read here: their text fields are [`Text`](crate::text::Text), which
//! refuses control characters as the handler deserialises them.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ApiError;
use crate::text::{first_control_character, ControlCharacter};

/// The first control character in a form body's names or values (a server
/// function's arguments), with the field it is in.
pub fn first_control_character_in_form(body: &[u8]) -> Option<(String, char)> {
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(body).ok()?;
    fields.iter().find_map(|(name, value)| {
        first_control_character(name)
            .or_else(|| first_control_character(value))
            .map(|c| (name.escape_debug().to_string(), c))
    })
}

/// Bodies up to this size are read without asking the budget.
const SMALL_BODY: u64 = 1024 * 1024;
/// MiB of large request bodies held in memory at once (each also parsed by its
/// handler), so a crowd of 15 MiB posts cannot exhaust the server's memory.
const LARGE_BODY_BUDGET_MIB: u32 = 48;
/// How long a large body waits for room before the client is told to retry.
const BODY_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

static LARGE_BODIES: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(LARGE_BODY_BUDGET_MIB as usize);

/// Room to read a body of `declared` length: nothing to wait for when it is
/// small, else its size in MiB (the limit when undeclared) out of the shared
/// budget, waiting at most `BODY_WAIT`; `None` when there was no room in time.
async fn body_budget(declared: Option<u64>) -> Option<Option<tokio::sync::SemaphorePermit<'static>>> {
    if declared.is_some_and(|length| length <= SMALL_BODY) {
        return Some(None);
    }
    let length = declared.unwrap_or(crate::routes::BODY_LIMIT as u64);
    let mib = u32::try_from(length.div_ceil(1024 * 1024)).unwrap_or(u32::MAX).clamp(1, LARGE_BODY_BUDGET_MIB);
    tokio::time::timeout(BODY_WAIT, LARGE_BODIES.acquire_many(mib)).await.ok()?.ok().map(Some)
}

/// Holds large bodies to the shared budget and refuses form bodies with
/// control characters. A server function (`/rpc/…`) is answered in its own
/// error encoding, so the console shows the message.
pub async fn guard_bodies(request: Request, next: Next) -> Response {
    if !matches!(*request.method(), Method::POST | Method::PUT | Method::PATCH) {
        return next.run(request).await;
    }
    let declared =
        request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    let Some(_budget) = body_budget(declared).await else {
        return ApiError::Unavailable(
            "too many large request bodies are being read at once; nothing was changed, try again in a few seconds"
                .into(),
        )
        .into_response();
    };
    let content_type = request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return next.run(request).await;
    }
    let server_fn = request.uri().path().starts_with("/rpc/");
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, crate::routes::BODY_LIMIT).await {
        Ok(bytes) => bytes,
        // Past the body limit (or the client went away).
        Err(_) => {
            return ApiError::Rejected(axum::http::StatusCode::PAYLOAD_TOO_LARGE, "the body is too large".into())
                .into_response()
        }
    };
    if let Some((field, c)) = first_control_character_in_form(&bytes) {
        let message = format!("`{field}` {}", ControlCharacter(c));
        if server_fn {
            let plain = [(header::CONTENT_TYPE, "text/plain; charset=utf-8")];
            return (axum::http::StatusCode::BAD_REQUEST, plain, format!("ServerError|{message}")).into_response();
        }
        return ApiError::bad_request(message).into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_fields_are_decoded_before_looking() {
        assert_eq!(first_control_character_in_form(b"reason=line+one%0Aline+two&name=na%C3%AFve"), None);
        assert_eq!(first_control_character_in_form(b"a=ok&reason=bell%07"), Some(("reason".into(), '\u{7}')));
        assert_eq!(first_control_character_in_form(b"esc%1B=1"), Some(("esc\\u{1b}".into(), '\u{1b}')));
    }
}
