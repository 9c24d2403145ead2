//! The HTTP API for CI systems and scripts (`/api/v1`), and health probes.

pub mod artifacts;
pub mod deployments;
mod error;
pub mod health;
pub mod incidents;
pub mod metrics;
pub mod trains;

pub use error::ApiError;

use std::sync::Arc;

use crate::clock::Clock;
use crate::store::Db;

/// What every handler can reach.
#[derive(Clone)]
pub struct ApiState {
    pub db: Db,
    pub clock: Arc<dyn Clock>,
}
