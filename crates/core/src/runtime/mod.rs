//! The engine's runtime. [`apply`] feeds one event to the pure engine and
//! stores what it decided — the new state, the timeline entries and the
//! effects — in one transaction. [`work`] then carries out due effects
//! through the [`Integrations`], each with its idempotency key, and feeds
//! their results back as events: the outbox row is marked done in the same
//! transaction that applies the result. A crash anywhere leaves either the
//! effect pending (it runs again, with the same key) or done with its result
//! applied; never half of each.

mod apply;
mod conditions;
mod dispatch;
mod integrations;
mod lifecycle;
mod outbox;
pub mod stuck;

use std::time::Duration;

pub use apply::{apply, apply_in};
pub use conditions::sync_freezes;
pub use integrations::{BoxFuture, Deployment, EffectContext, Integrations};
pub use lifecycle::{load, start, start_in};
pub use outbox::{backoff_ms, run, work};

use crate::engine::{Effect, Refusal};
use crate::store::DbError;

/// Attempts before an effect is given up (deployer calls, judge queries …).
pub const MAX_ATTEMPTS: i64 = 5;
/// First retry delay; doubles per attempt, capped at [`MAX_BACKOFF_MS`].
pub const BASE_BACKOFF_MS: i64 = 2_000;
/// Longest delay between attempts.
pub const MAX_BACKOFF_MS: i64 = 60_000;
/// Longest one effect may take before it counts as a failed attempt.
pub const EFFECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Why an event did not change a train.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("train {0} has no engine state")]
    NotFound(String),
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// Someone else changed the train at the same moment; safe to retry.
    #[error("train {0} changed concurrently; try again")]
    Conflict(String),
    #[error("stored engine state is unreadable: {0}")]
    Corrupt(#[from] serde_json::Error),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for RuntimeError {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(DbError::Other(e))
    }
}

/// What an outbox row holds: an engine effect, or the wake-up that closes planning.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub(crate) enum WakeUp {
    PlanningClosed,
    Effect(Effect),
}
