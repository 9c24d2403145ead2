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
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
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

/// The first control character in a JSON body's strings or keys, with its
/// path, read in one pass over the bytes without building the document in
/// memory (a 15 MiB body costs its bytes and the nesting depth, no more).
pub fn first_control_character_in_json(body: &[u8]) -> Result<Option<(String, char)>, serde_json::Error> {
    let (mut path, mut found) = (String::new(), None);
    let mut reader = serde_json::Deserializer::from_slice(body);
    Scan { path: &mut path, found: &mut found }.deserialize(&mut reader)?;
    reader.end()?;
    Ok(found)
}

fn bad_character(text: &str) -> Option<char> {
    text.chars().find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

/// Walks one JSON value, noting the first control character and where it is.
struct Scan<'a> {
    path: &'a mut String,
    found: &'a mut Option<(String, char)>,
}

impl Scan<'_> {
    fn inner(&mut self) -> Scan<'_> {
        Scan { path: &mut *self.path, found: &mut *self.found }
    }

    fn check(&mut self, text: &str, at: impl FnOnce(&str) -> String) {
        if self.found.is_none() {
            if let Some(c) = bad_character(text) {
                *self.found = Some((at(self.path.as_str()), c));
            }
        }
    }
}

impl<'de> DeserializeSeed<'de> for Scan<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Scan<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(mut self, text: &str) -> Result<(), E> {
        self.check(text, str::to_owned);
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut items: A) -> Result<(), A::Error> {
        for index in 0.. {
            let len = self.path.len();
            self.path.push_str(&format!("[{index}]"));
            let more = items.next_element_seed(self.inner())?;
            self.path.truncate(len);
            if more.is_none() {
                break;
            }
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut fields: A) -> Result<(), A::Error> {
        while let Some(key) = fields.next_key::<std::borrow::Cow<'de, str>>()? {
            self.check(&key, |path| format!("{path}.{}", key.escape_debug()));
            let len = self.path.len();
            self.path.push('.');
            self.path.push_str(&key);
            fields.next_value_seed(self.inner())?;
            self.path.truncate(len);
        }
        Ok(())
    }
}

/// The first control character in a form body's names or values (a server
/// function's arguments), with the field it is in.
pub fn first_control_character_in_form(body: &[u8]) -> Option<(String, char)> {
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(body).ok()?;
    fields.iter().find_map(|(name, value)| {
        first_control_character(&Value::String(name.clone()))
            .or_else(|| first_control_character(&Value::String(value.clone())))
            .map(|(_, c)| (format!(".{}", name.escape_debug()), c))
    })
}

/// The body kinds the guard reads.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Json,
    Form,
}

/// Refuses JSON and form bodies with control characters in their text. A
/// server function (`/rpc/…`) is answered in its own error encoding, so the
/// console shows the message.
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

pub async fn refuse_control_characters(request: Request, next: Next) -> Response {
    let writes = matches!(*request.method(), Method::POST | Method::PUT | Method::PATCH);
    let content_type = request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let kind = if content_type.starts_with("application/json") {
        Kind::Json
    } else if content_type.starts_with("application/x-www-form-urlencoded") {
        Kind::Form
    } else {
        return next.run(request).await;
    };
    if !writes {
        return next.run(request).await;
    }
    let server_fn = request.uri().path().starts_with("/rpc/");
    let declared =
        request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    let Some(_budget) = body_budget(declared).await else {
        return ApiError::Unavailable(
            "too many large request bodies are being read at once; nothing was changed, try again in a few seconds"
                .into(),
        )
        .into_response();
    };
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, crate::routes::BODY_LIMIT).await {
        Ok(bytes) => bytes,
        // Past the body limit (or the client went away).
        Err(_) => {
            return ApiError::Rejected(axum::http::StatusCode::PAYLOAD_TOO_LARGE, "the body is too large".into())
                .into_response()
        }
    };
    let found = match kind {
        Kind::Form => first_control_character_in_form(&bytes),
        Kind::Json => match first_control_character_in_json(&bytes) {
            Err(error) if error.to_string().contains("recursion limit") => {
                return ApiError::bad_request("the JSON is nested too deeply (more than 128 levels)").into_response();
            }
            // Other parse errors are for the handler to explain against the type it expects.
            Err(_) => None,
            Ok(found) => found,
        },
    };
    if let Some((path, c)) = found {
        let field = if path.is_empty() { "the body".to_owned() } else { format!("`{}`", path.trim_start_matches('.')) };
        let message = format!(
            "{field} contains the control character U+{:04X}; text may hold tabs and line breaks but no other control characters",
            u32::from(c)
        );
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

    #[test]
    fn the_streaming_scan_agrees_with_the_document_walk() {
        for value in [
            json!({ "reason": "line one\nline two\tand a tab" }),
            json!({ "name": "bell\u{7}" }),
            json!({ "changes": [{ "title": "ok" }, { "title": "nul\u{0}" }], "n": [1, 2.5, -3, true, null] }),
            json!({ "esc\u{1b}": 1 }),
            json!([["deep", ["deeper\u{8}"]]]),
            json!({ "c1": "next line \u{85}" }),
        ] {
            let bytes = serde_json::to_vec(&value).expect("json");
            assert_eq!(
                first_control_character_in_json(&bytes).expect("valid"),
                first_control_character(&value),
                "{value}"
            );
        }
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let error = first_control_character_in_json(deep.as_bytes()).expect_err("too deep");
        assert!(error.to_string().contains("recursion limit"), "{error}");
        assert!(first_control_character_in_json(b"{\"a\": 1} trailing").is_err());
    }

    #[test]
    fn form_fields_are_decoded_before_looking() {
        assert_eq!(first_control_character_in_form(b"reason=line+one%0Aline+two&name=na%C3%AFve"), None);
        assert_eq!(first_control_character_in_form(b"a=ok&reason=bell%07"), Some((".reason".into(), '\u{7}')));
        assert_eq!(first_control_character_in_form(b"esc%1B=1"), Some((".esc\\u{1b}".into(), '\u{1b}')));
    }
}
