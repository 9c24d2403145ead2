//! The HTTP API for CI systems and scripts (`/api/v1`), and health probes.

pub mod actions;
pub mod approvals;
pub mod artifacts;
pub mod audit;
pub mod body_guard;
pub mod break_glass;
pub mod calendar_feed;
pub mod demo;
pub mod deployments;
pub mod embed;
pub mod emergency;
mod error;
pub mod freezes;
pub mod gitops;
pub mod health;
pub mod incidents;
pub mod json;
pub mod metrics;
pub mod openapi;
pub mod plan;
pub mod postmortem;
pub mod rejections;
pub mod session;
pub mod sign_in_policy;
pub mod sso;
pub mod tokens;
pub mod trains;
pub mod users;

pub use error::ApiError;
pub use json::AppJson;

use std::sync::Arc;

use crate::auth::AuthContext;
use crate::clock::Clock;
use crate::store::Db;

/// What every handler can reach.
#[derive(Clone)]
pub struct ApiState {
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub auth: AuthContext,
    /// Whether this replica leads (runs the scheduler and runtime).
    pub role: Arc<crate::leadership::Role>,
    /// A running train with nothing pending for this long counts as stuck.
    pub stuck_after: std::time::Duration,
    /// Recent answers to the expensive reads.
    pub caches: Arc<crate::read_cache::ReadCaches>,
    /// Whether this server runs the demo fleet (its pages then say so).
    pub demo: bool,
}

impl ApiState {
    /// What the use cases work with.
    pub fn ctx(&self) -> crate::service::Ctx<'_> {
        crate::service::Ctx { db: &self.db, clock: self.clock.as_ref(), caches: &self.caches }
    }
}

/// A JSON body that may be left out (then `T::default()`); one that is
/// there must parse, or the caller hears why ([`json::parse`]).
pub fn optional_json<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    json::parse(body)
}
