//! `AppJson<T>`: a JSON request body read once, whose refusals are
//! [`ApiError`]s a person understands. Text fields are [`Text`], which
//! refuses control characters as it is deserialised; a refusal names the
//! field (`changes[0].title`). Handlers that check the caller first take
//! `Result<AppJson<T>, ApiError>` and apply `?` after the check, so a caller
//! who may not act learns that before anything about the body.
//!
//! [`Text`]: crate::text::Text

use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::error::Category;

use super::ApiError;
use crate::text::first_control_character;

/// A JSON body of type `T`.
#[derive(Debug, Clone)]
pub struct AppJson<T>(pub T);

/// The most JSON a route reads: [`JSON_LIMIT`] unless the route adds a larger one as a
/// request extension (SARIF logs run to megabytes).
#[derive(Debug, Clone, Copy)]
pub struct JsonLimit(pub usize);

/// The most JSON most routes read.
pub const JSON_LIMIT: usize = 2 * 1024 * 1024;

/// A JSON body's bytes, read to the end within the route's [`JsonLimit`] (for handlers
/// that check a signature over the bytes before reading them as JSON).
#[derive(Debug, Clone)]
pub struct JsonBody(pub axum::body::Bytes);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, ApiError> {
        let limit = request.extensions().get::<JsonLimit>().map_or(JSON_LIMIT, |limit| limit.0);
        // Read to the end (within the transport's limit), so that a client sending too much
        // hears why rather than seeing the connection close under it.
        let too_large = || {
            ApiError::Rejected(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the JSON body is larger than {} KiB", limit / 1024),
            )
        };
        let bytes =
            axum::body::to_bytes(request.into_body(), crate::routes::BODY_LIMIT).await.map_err(|_| too_large())?;
        if bytes.len() > limit {
            return Err(too_large());
        }
        Ok(Self(bytes))
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for AppJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(request.headers()) {
            return Err(ApiError::Rejected(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "send the body as JSON, with `Content-Type: application/json`".into(),
            ));
        }
        let bytes = JsonBody::from_request(request, state).await?.0;
        parse(&bytes).map(AppJson)
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else { return false };
    let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Deepest nesting of arrays and objects read (serde_json's own limit).
const MAX_DEPTH: usize = 128;

/// `body` as a `T`, or what is wrong with it and where.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if too_deep(body) {
        return Err(ApiError::bad_request("the JSON is nested too deeply (more than 128 levels)"));
    }
    let mut reader = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut reader).map_err(refusal)?;
    reader.end().map_err(|error| ApiError::bad_request(format!("the JSON body is malformed: {error}")))?;
    Ok(value)
}

/// Whether `body` nests arrays and objects deeper than [`MAX_DEPTH`]: one pass over
/// the bytes, skipping strings, so a deep body is named as such whatever type was expected.
fn too_deep(body: &[u8]) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &byte in body {
        match (in_string, byte) {
            (true, _) if escaped => escaped = false,
            (true, b'\\') => escaped = true,
            (true, b'"') => in_string = false,
            (true, _) => {}
            (false, b'"') => in_string = true,
            (false, b'[' | b'{') => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return true;
                }
            }
            (false, b']' | b'}') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// What a person is told about a body that did not read as a `T`.
fn refusal(error: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = error.path().to_string();
    let inner = error.into_inner();
    let message = inner.to_string();
    let field = if path == "." { "the body".to_owned() } else { format!("`{path}`") };
    if message.contains("recursion limit exceeded") {
        return ApiError::bad_request("the JSON is nested too deeply (more than 128 levels)");
    }
    if message.starts_with(crate::text::CONTROL_CHARACTER) {
        let reason = message.split(" at line ").next().unwrap_or(&message);
        return ApiError::bad_request(format!("{field} {reason}"));
    }
    match inner.classify() {
        Category::Data => ApiError::Rejected(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("the JSON body does not fit: {field}: {message}"),
        ),
        Category::Syntax | Category::Eof | Category::Io => {
            ApiError::bad_request(format!("the JSON body is malformed: {message}"))
        }
    }
}

/// Refuses a free-form JSON document (a SARIF log) holding a control character, naming where.
pub fn printable(value: &serde_json::Value) -> Result<(), ApiError> {
    fn walk(value: &serde_json::Value, path: &mut String) -> Option<char> {
        match value {
            serde_json::Value::String(text) => first_control_character(text),
            serde_json::Value::Array(items) => items.iter().enumerate().find_map(|(index, item)| {
                let len = path.len();
                path.push_str(&format!("[{index}]"));
                let found = walk(item, path);
                if found.is_none() {
                    path.truncate(len);
                }
                found
            }),
            serde_json::Value::Object(fields) => fields.iter().find_map(|(key, item)| {
                let len = path.len();
                path.push('.');
                path.push_str(&key.escape_debug().to_string());
                let found = first_control_character(key).or_else(|| walk(item, path));
                if found.is_none() {
                    path.truncate(len);
                }
                found
            }),
            _ => None,
        }
    }
    let mut path = String::new();
    match walk(value, &mut path) {
        None => Ok(()),
        Some(c) => {
            let field =
                if path.is_empty() { "the body".to_owned() } else { format!("`{}`", path.trim_start_matches('.')) };
            Err(ApiError::bad_request(format!("{field} {}", crate::text::ControlCharacter(c))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_is_counted_outside_strings_only() {
        let deep = format!("{}{}", "[".repeat(129), "]".repeat(129));
        assert!(too_deep(deep.as_bytes()));
        let shallow = format!("{}{}", "[".repeat(128), "]".repeat(128));
        assert!(!too_deep(shallow.as_bytes()));
        let quoted = format!("{{\"a\": \"{}\\\"\"}}", "[".repeat(500));
        assert!(!too_deep(quoted.as_bytes()), "brackets inside a string do not nest");
    }
}
