//! What the engine asks the runtime to do.

use serde::{Deserialize, Serialize};

/// A wake-up the runtime delivers back as an event at `at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "timer")]
pub enum Timer {
    CutoverDue,
    SoakElapsed { step: usize },
    MonitoringElapsed,
}

/// Who should hear about what.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Notice {
    Opened,
    GateFailed,
    /// A candidate waits for approvers.
    ApprovalRequested,
    Held,
    RollbackStarted,
    Completed,
    Skipped,
}

impl Notice {
    /// Every notice.
    pub const ALL: [Notice; 7] = [
        Self::Opened,
        Self::GateFailed,
        Self::ApprovalRequested,
        Self::Held,
        Self::RollbackStarted,
        Self::Completed,
        Self::Skipped,
    ];
}

/// One thing to do. Every effect that reaches outside carries an
/// idempotency key that stays the same when the runtime retries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "effect")]
pub enum Effect {
    /// Pick the newest passing candidate per service and answer with `Assembled`.
    Assemble,
    RunGate {
        artifact_id: String,
        gate: String,
        key: String,
    },
    /// Take the candidate off this train and offer it to the next.
    CarryOver {
        artifact_id: String,
        reason: String,
    },
    Deploy {
        step: usize,
        key: String,
    },
    Judge {
        step: usize,
        key: String,
    },
    RollBack {
        step: usize,
        key: String,
        reason: String,
    },
    SetTimer {
        at: i64,
        timer: Timer,
    },
    Notify {
        notice: Notice,
        text: String,
    },
}
