//! Why a use case did not happen, in the terms a person acts on. Each
//! surface converts it once: `From<ServiceError> for ApiError` (HTTP) and
//! `From<ServiceError> for BackendError` (the pages).

use crate::auth::password::HashRefusal;
use crate::auth::Denied;
use crate::runtime::RuntimeError;
use crate::store::DbError;

/// A use case's refusal or failure.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The caller is not signed in (or their credentials are not valid).
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The request is wrong; the message says how.
    #[error("{0}")]
    Invalid(String),
    /// The request is well-formed but names something that cannot be used (an unknown definition, a rejected build).
    #[error("{0}")]
    Unprocessable(String),
    /// What the request is about does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request contradicts what is stored (a duplicate, a train that no longer allows it).
    #[error("{0}")]
    Conflict(String),
    /// Too many attempts; try again after `retry_after_s` seconds.
    #[error("{message}")]
    TooMany { message: String, retry_after_s: u64 },
    /// A dependency is down or busy; trying again shortly may work, nothing was changed.
    #[error("{0}")]
    Unavailable(String),
    /// Something failed on our side; logged once with its cause where it is answered.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ServiceError {
    /// A 400-class refusal with `message`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid(message.into())
    }

    /// The refusal of a load that several readers waited on, for one of them.
    pub fn shared(shared: std::sync::Arc<ServiceError>) -> Self {
        std::sync::Arc::try_unwrap(shared).unwrap_or_else(|shared| match &*shared {
            Self::Unauthenticated(m) => Self::Unauthenticated(m.clone()),
            Self::Forbidden(m) => Self::Forbidden(m.clone()),
            Self::Invalid(m) => Self::Invalid(m.clone()),
            Self::Unprocessable(m) => Self::Unprocessable(m.clone()),
            Self::NotFound(m) => Self::NotFound(m.clone()),
            Self::Conflict(m) => Self::Conflict(m.clone()),
            Self::TooMany { message, retry_after_s } => {
                Self::TooMany { message: message.clone(), retry_after_s: *retry_after_s }
            }
            Self::Unavailable(m) => Self::Unavailable(m.clone()),
            Self::Internal(error) => Self::Internal(anyhow::anyhow!("{error:#}")),
        })
    }
}

impl From<Denied> for ServiceError {
    fn from(denied: Denied) -> Self {
        match denied {
            Denied::Unauthenticated => Self::Unauthenticated(denied.to_string()),
            Denied::Forbidden(message) => Self::Forbidden(message),
        }
    }
}

impl From<DbError> for ServiceError {
    fn from(error: DbError) -> Self {
        match error {
            DbError::NotFound => Self::NotFound("not found".into()),
            DbError::StaleTerm(_) => Self::Unavailable(format!("{error}; try again")),
            DbError::Corrupt { .. } => Self::Internal(anyhow::Error::from(error)),
            DbError::Other(error) => Self::from(error),
        }
    }
}

impl From<sqlx::Error> for ServiceError {
    fn from(error: sqlx::Error) -> Self {
        if crate::store::is_unreachable(&error) {
            tracing::warn!(%error, "database unreachable");
            Self::Unavailable("the database cannot be reached right now; nothing was changed, try again shortly".into())
        } else {
            Self::Internal(anyhow::Error::from(error).context("the database refused a query"))
        }
    }
}

impl From<RuntimeError> for ServiceError {
    fn from(error: RuntimeError) -> Self {
        match error {
            RuntimeError::NotFound(_) => Self::Conflict("the train has not opened yet; nothing to act on".into()),
            RuntimeError::Refused(refusal) => Self::Conflict(refusal.to_string()),
            RuntimeError::Conflict(_) => Self::Conflict("the train changed at the same moment; try again".into()),
            RuntimeError::Db(error) => Self::from(error),
            RuntimeError::Corrupt(error) => {
                Self::Internal(anyhow::Error::from(error).context("reading a train's state"))
            }
        }
    }
}

impl From<HashRefusal> for ServiceError {
    fn from(refusal: HashRefusal) -> Self {
        match refusal {
            HashRefusal::Busy => Self::Unavailable(refusal.to_string()),
            HashRefusal::Failed(_) => Self::Internal(anyhow::Error::from(refusal).context("hashing a password")),
        }
    }
}

impl From<crate::auth::rate_limit::Refused> for ServiceError {
    fn from(refused: crate::auth::rate_limit::Refused) -> Self {
        Self::TooMany { message: refused.message.to_owned(), retry_after_s: refused.retry_after_s }
    }
}
