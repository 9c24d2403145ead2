//! What the engine asks the runtime to do.

use serde::{Deserialize, Serialize};

use super::event::Event;
use crate::ids::ArtifactId;
use crate::time::Instant;

/// A wake-up the runtime delivers back as an event at `at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "timer")]
pub enum Timer {
    CutoverDue,
    SoakElapsed {
        step: usize,
    },
    MonitoringElapsed,
    /// Remind approvers that a request expires at cutover.
    ApprovalReminder,
    /// Cutover arrived: candidates still waiting for people miss the train.
    ApprovalsExpire,
    /// Time to check the error-budget burn of a soaking step (or of the monitored train).
    BurnCheck {
        step: usize,
    },
}

impl Timer {
    /// The event the runtime delivers when this timer fires.
    pub fn event(self) -> Event {
        match self {
            Self::CutoverDue => Event::CutoverDue,
            Self::SoakElapsed { step } => Event::SoakElapsed { step },
            Self::MonitoringElapsed => Event::MonitoringElapsed,
            Self::BurnCheck { step } => Event::BurnCheckDue { step },
            Self::ApprovalReminder => Event::ApprovalReminderDue,
            Self::ApprovalsExpire => Event::ApprovalsExpired,
        }
    }
}

/// Who should hear about what.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Notice {
    Opened,
    GateFailed,
    /// A candidate waits for approvers.
    ApprovalRequested,
    /// An approval request expires soon (at cutover).
    ApprovalExpiring,
    Held,
    RollbackStarted,
    Completed,
    Skipped,
    /// What runs is not what the train shipped (seed M12).
    Drift,
}

impl Notice {
    /// Every notice.
    pub const ALL: [Notice; 9] = [
        Self::Opened,
        Self::GateFailed,
        Self::ApprovalRequested,
        Self::ApprovalExpiring,
        Self::Held,
        Self::RollbackStarted,
        Self::Completed,
        Self::Skipped,
        Self::Drift,
    ];
}

fn yes() -> bool {
    true
}

/// One thing to do. Every effect that reaches outside carries an
/// idempotency key that stays the same when the runtime retries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "effect")]
pub enum Effect {
    /// Pick the newest passing candidate per service and answer with `Assembled`.
    Assemble,
    RunGate {
        artifact_id: ArtifactId,
        gate: String,
        key: String,
    },
    /// Take the candidate off this train; unless `reject`, offer it to the next.
    CarryOver {
        artifact_id: ArtifactId,
        reason: String,
        /// The artifact itself failed: its digest may never board again.
        #[serde(default = "yes")]
        reject: bool,
    },
    /// An override let a rejected artifact back on the train: lift its rejection.
    Reinstate {
        artifact_id: ArtifactId,
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
    /// Restore the previous version of `services` only; answered with
    /// `ServicesRolledBack` for the train's `index`th service rollback.
    RollBackServices {
        index: usize,
        /// The last step deployed: where the services roll back from.
        step: usize,
        services: Vec<String>,
        key: String,
        reason: String,
    },
    /// Check the multi-window burn rate of the train's services and answer with `BurnChecked`.
    CheckBurn {
        step: usize,
        key: String,
    },
    /// Measure what the train's rollout `[from, to]` cost: error budget consumed (M7) and
    /// latency before and after (M8).
    MeasureRelease {
        from: Instant,
        to: Instant,
        key: String,
    },
    SetTimer {
        at: Instant,
        timer: Timer,
    },
    Notify {
        notice: Notice,
        text: String,
    },
}
