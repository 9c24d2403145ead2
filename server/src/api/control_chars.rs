//! Text that reaches the store must be printable: a JSON body whose strings
//! (or keys) hold control characters — NUL, escape sequences, bells — is
//! refused with a 400 naming the field, before any handler sees it; so is
//! JSON nested too deeply to read.
//! (PostgreSQL cannot store NUL at all; terminals and logs misrender the rest.)

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::ApiError;

/// Where the first control character is, as a JSON path, and which it is.
pub fn first_control_character(value: &Value) -> Option<(String, char)> {
    fn bad(text: &str) -> Option<char> {
        text.chars().find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    }
    match value {
        Value::String(text) => bad(text).map(|c| (String::new(), c)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(index, item)| first_control_character(item).map(|(path, c)| (format!("[{index}]{path}"), c))),
        Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            if let Some(c) = bad(key) {
                return Some((format!(".{}", key.escape_debug()), c));
            }
            first_control_character(item).map(|(path, c)| (format!(".{key}{path}"), c))
        }),
        _ => None,
    }
}

/// Refuses JSON bodies with control characters in their text.
pub async fn refuse_control_characters(request: Request, next: Next) -> Response {
    let writes = matches!(*request.method(), Method::POST | Method::PUT | Method::PATCH);
    let json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !writes || !json {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, crate::routes::BODY_LIMIT).await {
        Ok(bytes) => bytes,
        // Past the body limit (or the client went away).
        Err(_) => {
            return ApiError::Rejected(axum::http::StatusCode::PAYLOAD_TOO_LARGE, "the body is too large".into())
                .into_response()
        }
    };
    match serde_json::from_slice::<Value>(&bytes) {
        Err(error) if error.to_string().contains("recursion limit") => {
            return ApiError::bad_request("the JSON is nested too deeply (more than 128 levels)").into_response();
        }
        // Other parse errors are for the handler to explain against the type it expects.
        Err(_) => {}
        Ok(value) => {
            if let Some((path, c)) = first_control_character(&value) {
                let field =
                    if path.is_empty() { "the body".to_owned() } else { format!("`{}`", path.trim_start_matches('.')) };
                return ApiError::bad_request(format!(
                "{field} contains the control character U+{:04X}; text may hold tabs and line breaks but no other control characters",
                u32::from(c)
            ))
            .into_response();
            }
        }
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn control_characters_are_found_with_their_path_and_line_breaks_are_not() {
        assert_eq!(first_control_character(&json!({ "reason": "line one\nline two\tand a tab" })), None);
        assert_eq!(first_control_character(&json!({ "name": "naïve ✓ 名前" })), None);
        assert_eq!(first_control_character(&json!({ "name": "bell\u{7}" })), Some((".name".into(), '\u{7}')));
        let nested = json!({ "changes": [{ "title": "ok" }, { "title": "nul\u{0}" }] });
        assert_eq!(first_control_character(&nested), Some((".changes[1].title".into(), '\u{0}')));
        assert_eq!(first_control_character(&json!({ "esc\u{1b}": 1 })), Some((".esc\\u{1b}".into(), '\u{1b}')));
    }
}
