//! Errors as API clients see them: a status and a JSON message a person can act on.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::runtime::RuntimeError;
use crate::store::DbError;

/// An error response. Client mistakes carry their message; our own failures
/// are logged once with their cause and answered with a generic 500.
#[derive(Debug)]
pub enum ApiError {
    /// The request is wrong; the message says how.
    BadRequest(String),
    /// 401: the caller must sign in or send a valid token.
    Unauthorized(String),
    /// 403: the caller may not do this.
    Forbidden(String),
    /// 429: too many attempts; the client may try again after this many seconds.
    TooManyRequests(String, u64),
    /// 503: a dependency is down; retrying later may work.
    Unavailable(String),
    /// Nothing exists at this address.
    NotFound(String),
    /// The request contradicts what is stored.
    Conflict(String),
    /// The body could not be read as the expected JSON (status as axum decided: 400, 413, 415 or 422).
    Rejected(StatusCode, String),
    /// Something failed on our side.
    Internal(anyhow::Error),
}

impl ApiError {
    /// A 400 with `message`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest(message.into())
    }
}

// Store, runtime, sign-in and hashing failures mean what the use cases say
// they mean: one mapping, in `service::ServiceError`, for both surfaces.
impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        crate::service::ServiceError::from(error).into()
    }
}

impl From<DbError> for ApiError {
    fn from(error: DbError) -> Self {
        crate::service::ServiceError::from(error).into()
    }
}

impl From<RuntimeError> for ApiError {
    fn from(error: RuntimeError) -> Self {
        crate::service::ServiceError::from(error).into()
    }
}

impl From<crate::service::ServiceError> for ApiError {
    fn from(error: crate::service::ServiceError) -> Self {
        use crate::service::ServiceError as E;
        match error {
            E::Unauthenticated(message) => Self::Unauthorized(message),
            E::Forbidden(message) => Self::Forbidden(message),
            E::Invalid(message) => Self::BadRequest(message),
            E::Unprocessable(message) => Self::Rejected(StatusCode::UNPROCESSABLE_ENTITY, message),
            E::NotFound(message) => Self::NotFound(message),
            E::Conflict(message) => Self::Conflict(message),
            E::TooMany { message, retry_after_s } => Self::TooManyRequests(message, retry_after_s),
            E::Unavailable(message) => Self::Unavailable(message),
            E::Internal(error) => Self::Internal(error),
        }
    }
}

impl From<crate::auth::rate_limit::Refused> for ApiError {
    fn from(refused: crate::auth::rate_limit::Refused) -> Self {
        crate::service::ServiceError::from(refused).into()
    }
}

impl From<crate::auth::password::HashRefusal> for ApiError {
    fn from(refusal: crate::auth::password::HashRefusal) -> Self {
        crate::service::ServiceError::from(refusal).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            Self::BadRequest(message) => (StatusCode::BAD_REQUEST, message),
            Self::Unauthorized(message) => (StatusCode::UNAUTHORIZED, message),
            Self::Forbidden(message) => (StatusCode::FORBIDDEN, message),
            Self::TooManyRequests(message, retry_after_s) => {
                let mut response = (StatusCode::TOO_MANY_REQUESTS, Json(json!({ "error": message }))).into_response();
                if let Ok(value) = axum::http::HeaderValue::from_str(&retry_after_s.to_string()) {
                    response.headers_mut().insert(axum::http::header::RETRY_AFTER, value);
                }
                return response;
            }
            Self::Unavailable(message) => (StatusCode::SERVICE_UNAVAILABLE, message),
            Self::NotFound(message) => (StatusCode::NOT_FOUND, message),
            Self::Conflict(message) => (StatusCode::CONFLICT, message),
            Self::Rejected(status, message) => (status, message),
            Self::Internal(error) => {
                tracing::error!(error = format!("{error:#}"), "request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error; it has been logged".to_owned())
            }
        };
        let mut response = (status, Json(json!({ "error": message }))).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from_static("5"));
        }
        response
    }
}
