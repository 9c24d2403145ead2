//! Errors as API clients see them: a status and a JSON message a person can act on.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::store::DbError;

/// An error response. Client mistakes carry their message; our own failures
/// are logged once with their cause and answered with a generic 500.
#[derive(Debug)]
pub enum ApiError {
    /// The request is wrong; the message says how.
    BadRequest(String),
    /// Nothing exists at this address.
    NotFound(String),
    /// Something failed on our side.
    Internal(anyhow::Error),
}

impl ApiError {
    /// A 400 with `message`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest(message.into())
    }
}

impl From<DbError> for ApiError {
    fn from(error: DbError) -> Self {
        match error {
            DbError::NotFound => Self::NotFound("not found".into()),
            DbError::Other(e) => Self::Internal(e.into()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            Self::BadRequest(message) => (StatusCode::BAD_REQUEST, message),
            Self::NotFound(message) => (StatusCode::NOT_FOUND, message),
            Self::Internal(error) => {
                tracing::error!(error = format!("{error:#}"), "request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error; it has been logged".to_owned())
            }
        };
        (status, Json(json!({ "error": message }))).into_response()
    }
}
