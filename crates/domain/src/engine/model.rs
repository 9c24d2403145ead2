//! A train's state as the engine sees it.

use serde::{Deserialize, Serialize};

use super::event::Verdict;
use crate::ids::{ArtifactId, TrainId};
use crate::time::Instant;
use crate::train_state::TrainState;

/// Approvers are reminded this long before a request expires at cutover.
pub const APPROVAL_REMINDER_MS: i64 = 60 * 60_000;

/// The gate that passes when enough approvers (not the author) approved the candidate.
pub const COMPLIANCE_GATE: &str = "compliance";
/// The gate that passes at once without irreversible migrations, and otherwise on an approver's sign-off.
/// Candidates with an irreversible migration always get it.
pub const SCHEMA_GATE: &str = "schema";

/// Whether people with the approver role, and only they, decide `gate`:
/// no release manager waives it.
pub fn is_approval_gate(gate: &str) -> bool {
    crate::gates::GateKind::parse(gate).is_ok_and(crate::gates::GateKind::is_approval)
}

/// How long a release manager's request to override a failed or blocked gate
/// waits for an approver before it lapses.
pub const OVERRIDE_REQUEST_MS: i64 = 4 * 60 * 60_000;

/// How often a step's error-budget burn is checked while it soaks, and while the train is monitored.
pub const BURN_CHECK_MS: i64 = 60_000;

/// Where a rollout step deploys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Staging,
    Production,
}

impl Environment {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Staging => "staging",
            Self::Production => "production",
        }
    }
}

impl std::fmt::Display for Environment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for Environment {
    type Error = crate::candidate::Unknown;

    /// Reads a stored environment (rows decode through this).
    fn try_from(stored: String) -> Result<Self, Self::Error> {
        match stored.as_str() {
            "staging" => Ok(Self::Staging),
            "production" => Ok(Self::Production),
            _ => Err(crate::candidate::Unknown(stored, "environment")),
        }
    }
}

/// One step of the staged rollout, from the train definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolloutStep {
    /// E.g. "canary 5% eu-west".
    pub name: String,
    pub environment: Environment,
    /// Share of traffic, 1-100.
    pub weight: u8,
    /// How long the step soaks before it is judged.
    pub soak_ms: i64,
    /// The region it rolls out to, for region-by-region rollouts (none: everywhere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// The plan a train gets when its definition names no steps: staging, then
/// 5%, 50% and 100% of production.
pub fn default_rollout() -> Vec<RolloutStep> {
    const MINUTE: i64 = 60_000;
    vec![
        RolloutStep::new("staging", Environment::Staging, 100, 10 * MINUTE),
        RolloutStep::new("canary 5%", Environment::Production, 5, 30 * MINUTE),
        RolloutStep::new("50%", Environment::Production, 50, 30 * MINUTE),
        RolloutStep::new("100%", Environment::Production, 100, 0),
    ]
}

impl RolloutStep {
    /// A step sending `weight`% of `environment`'s traffic, soaking `soak_ms`.
    pub fn new(name: &str, environment: Environment, weight: u8, soak_ms: i64) -> Self {
        Self { name: name.to_owned(), environment, weight, soak_ms, region: None }
    }
}

/// How far the current rollout step has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    NotStarted,
    Deploying,
    /// Soaking until the instant given.
    Soaking {
        until: Instant,
    },
    Judging,
    RollingBack,
}

/// The state of one gate for one candidate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum GateState {
    /// Boarded, not started yet.
    Pending,
    /// Its run has been dispatched (CI results are read, a scan is parsed, approvers are asked).
    Running,
    Passed,
    Failed {
        detail: String,
    },
    /// Not now (the service's error budget is spent): the candidate waits for a
    /// later train without being rejected.
    Deferred {
        detail: String,
    },
    /// Could not decide; holds the train for a human. Never counts as passed.
    Inconclusive {
        detail: String,
    },
    /// The gate itself broke on its last attempt.
    Errored {
        detail: String,
    },
    /// The train cannot go as it is (an API contract mismatch); people fix it or waive the gate.
    Blocked {
        detail: String,
    },
    /// Waiting for people to decide (e.g. approvals); the train waits in pre-flight, it is not held.
    Awaiting {
        detail: String,
    },
    Waived {
        by: String,
        reason: String,
    },
    /// A failed or blocked gate let through by two people: a release manager
    /// asked, a different approver granted.
    Overridden {
        requested_by: String,
        granted_by: String,
        reason: String,
        /// What the gate had said before it was overridden.
        was: String,
    },
}

impl GateState {
    /// Whether the gate lets its candidate board.
    pub fn clears(&self) -> bool {
        matches!(self, Self::Passed | Self::Waived { .. } | Self::Overridden { .. })
    }

    /// The state's name, `passed`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Passed => "passed",
            Self::Failed { .. } => "failed",
            Self::Deferred { .. } => "deferred",
            Self::Inconclusive { .. } => "inconclusive",
            Self::Errored { .. } => "errored",
            Self::Blocked { .. } => "blocked",
            Self::Awaiting { .. } => "awaiting",
            Self::Waived { .. } => "waived",
            Self::Overridden { .. } => "overridden",
        }
    }

    /// What the state says beyond its name: the failure, or who waived it and why.
    pub fn detail(&self) -> String {
        match self {
            Self::Pending | Self::Running | Self::Passed => String::new(),
            Self::Failed { detail }
            | Self::Deferred { detail }
            | Self::Inconclusive { detail }
            | Self::Errored { detail }
            | Self::Blocked { detail }
            | Self::Awaiting { detail } => detail.clone(),
            Self::Waived { by, reason } => format!("waived by {by}: {reason}"),
            Self::Overridden { requested_by, granted_by, reason, was } => {
                format!("overridden, asked by {requested_by} ({reason}), granted by {granted_by}; it had said: {was}")
            }
        }
    }
}

/// A gate a candidate must clear, with how often it has run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gate {
    pub name: String,
    pub state: GateState,
    pub attempts: u32,
    /// A release manager's request to override the gate, while it waits for an approver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub override_request: Option<OverrideRequest>,
}

/// A release manager's request that an approver let a failed or blocked gate through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverrideRequest {
    pub by: String,
    pub reason: String,
    pub at: Instant,
    /// After this instant nobody can grant it; the release manager asks again.
    pub expires_at: Instant,
}

impl OverrideRequest {
    /// Whether an approver can still grant it at `now`.
    pub fn open_at(&self, now: Instant) -> bool {
        now < self.expires_at
    }
}

/// An artifact on this train.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    pub artifact_id: ArtifactId,
    pub service: String,
    pub gates: Vec<Gate>,
    /// Why it was taken off this train and carried to the next, if it was.
    pub missed: Option<String>,
    /// Irreversible migrations it declares.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub irreversible: Vec<String>,
    /// The atomic group it boards, misses and rolls back with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Why it was rolled back on its own while the rest of the train went on, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolled_back: Option<String>,
}

impl Candidate {
    /// Still on the train: neither carried over nor rolled back on its own.
    pub fn boarded(&self) -> bool {
        self.missed.is_none() && self.rolled_back.is_none()
    }
}

/// Services rolled back on their own (seed: "roll back affected services")
/// while the rest of the train stays deployed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceRollback {
    /// The services restored to their previous version, atomic groups whole.
    pub services: Vec<String>,
    pub reason: String,
    pub started_at: Instant,
    /// When the deployer reported the services restored.
    pub finished_at: Option<Instant>,
    /// Why the last attempt failed, until it is tried again.
    pub failure: Option<String>,
    /// Attempts issued (each retry gets its own idempotency key).
    pub attempts: u32,
}

impl ServiceRollback {
    /// Issued and not answered yet.
    pub fn running(&self) -> bool {
        self.finished_at.is_none() && self.failure.is_none()
    }
}

/// Why a train is held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldReason {
    /// An operator asked for it.
    Operator,
    /// A gate is inconclusive or errored beyond its retries.
    Gates,
    /// The canary judge gave a marginal score or no data.
    Analysis,
    /// A rollback failed: people roll back again or restore by hand and abort.
    Rollback,
    /// The GitOps controller did not apply a step in time: people look, then resume waiting or roll back.
    Deploy,
    /// A service burns its error budget past the slow-burn rule: people look, then resume or roll back.
    Burn,
    /// The train's metrics could not be read when monitoring ended (seed F5): it never completes
    /// silently; people look, then resume (accepting the gap) or roll back.
    Metrics,
}

/// A burn rule a service crossed during the train.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Burning {
    pub speed: super::event::BurnSpeed,
    pub service: String,
    /// The rates measured, in words.
    pub detail: String,
    pub at: Instant,
}

/// What happened to one deployed rollout step (seed metrics M4, M5, M9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    pub step: usize,
    pub started_at: Instant,
    /// When the deployer reported the step deployed.
    pub deployed_at: Option<Instant>,
    /// The canary judge's verdict; a fast error-budget burn counts as a failed check.
    pub verdict: Option<Verdict>,
    pub finished_at: Option<Instant>,
    /// Promoted (true), or failed and rolled back or held (false).
    pub succeeded: Option<bool>,
}

/// Everything the engine knows about one train.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrainRun {
    pub train_id: TrainId,
    pub phase: TrainState,
    /// While held or suspended: the phase to return to.
    pub paused_from: Option<TrainState>,
    pub hold: Option<HoldReason>,
    /// Production steps do not start before this instant.
    pub cutover_at: Instant,
    pub candidates: Vec<Candidate>,
    pub rollout: Vec<RolloutStep>,
    pub current_step: usize,
    pub step_status: StepStatus,
    /// How long the train is watched after its last step.
    pub monitoring_ms: i64,
    /// The freeze holding now, if one does.
    pub frozen_by: Option<String>,
    /// The other train deploying some of this train's services, if one is:
    /// no step starts until it is done.
    #[serde(default)]
    pub waiting_for: Option<String>,
    /// Whether the runtime has been asked to wake the train at cutover.
    pub cutover_timer_set: bool,
    pub rollback_started_at: Option<Instant>,
    /// Whether the approval reminder and expiry are scheduled.
    #[serde(default)]
    pub approval_timers_set: bool,
    /// Rollbacks issued (a failed one can be tried again, under a new key).
    #[serde(default)]
    pub rollback_attempts: u32,
    /// Every step deployed so far, in order.
    #[serde(default)]
    pub steps: Vec<StepRecord>,
    /// When the last step succeeded and monitoring began (seed M2).
    #[serde(default)]
    pub rolled_out_at: Option<Instant>,
    /// Interval of error-budget burn checks.
    #[serde(default = "burn_check_ms")]
    pub burn_check_ms: i64,
    /// Burn checks issued so far (each gets its own idempotency key).
    #[serde(default)]
    pub burn_checks: u32,
    /// Rollbacks of some services while the rest of the train went on, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_rollbacks: Vec<ServiceRollback>,
    /// Whether the definition lets a failed or blocked gate be overridden by
    /// two people (`overrides = false` forbids it).
    #[serde(default = "yes")]
    pub overrides_allowed: bool,
    /// When the train was last held or suspended (cleared when it goes on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused_at: Option<Instant>,
    /// The last burn rule crossed, kept after a rollback (the alert on it lasts until the train ends).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burning: Option<Burning>,
    /// Why the last burn check could not read the metrics, until one can again (seed F5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_missing: Option<String>,
}

fn yes() -> bool {
    true
}

fn burn_check_ms() -> i64 {
    BURN_CHECK_MS
}

impl TrainRun {
    /// Whether the train waits for approvers to decide on `artifact_id` (its compliance gate is open).
    pub fn awaits_approval(&self, artifact_id: &str) -> bool {
        self.candidates.iter().filter(|c| c.artifact_id == artifact_id).flat_map(|c| &c.gates).any(|g| {
            g.name == COMPLIANCE_GATE
                && matches!(g.state, GateState::Pending | GateState::Running | GateState::Awaiting { .. })
        })
    }

    /// A train that has just opened for planning.
    pub fn opened(train_id: &str, cutover_at: Instant, rollout: Vec<RolloutStep>, monitoring_ms: i64) -> Self {
        Self {
            train_id: train_id.into(),
            phase: TrainState::Planning,
            paused_from: None,
            hold: None,
            cutover_at,
            candidates: Vec::new(),
            rollout,
            current_step: 0,
            step_status: StepStatus::NotStarted,
            monitoring_ms,
            frozen_by: None,
            waiting_for: None,
            cutover_timer_set: false,
            rollback_started_at: None,
            approval_timers_set: false,
            rollback_attempts: 0,
            steps: Vec::new(),
            rolled_out_at: None,
            burn_check_ms: BURN_CHECK_MS,
            burn_checks: 0,
            service_rollbacks: Vec::new(),
            overrides_allowed: true,
            paused_at: None,
            burning: None,
            metrics_missing: None,
        }
    }

    /// The phase a rollout step runs in.
    pub fn phase_of(step: &RolloutStep) -> TrainState {
        match (step.environment, step.weight) {
            (Environment::Staging, _) => TrainState::Staging,
            (Environment::Production, 100) => TrainState::Cutover,
            (Environment::Production, _) => TrainState::Canary,
        }
    }

    /// Why the train cannot be rolled back, if it cannot: a boarded candidate
    /// declares an irreversible migration, so the only way out is forward.
    pub fn roll_forward_only(&self) -> Option<String> {
        let reasons: Vec<String> = self
            .candidates
            .iter()
            .filter(|c| c.boarded() && !c.irreversible.is_empty())
            .map(|c| format!("{} ({})", c.service, c.irreversible.join(", ")))
            .collect();
        (!reasons.is_empty()).then(|| format!("irreversible migrations in {}", reasons.join("; ")))
    }

    /// When the first production step started, if one has.
    pub fn production_started_at(&self) -> Option<Instant> {
        self.steps
            .iter()
            .find(|r| self.rollout.get(r.step).is_some_and(|s| s.environment == Environment::Production))
            .map(|r| r.started_at)
    }

    /// The rollback of some services that is still running, if one is.
    pub fn service_rollback_running(&self) -> Option<&ServiceRollback> {
        self.service_rollbacks.iter().find(|r| r.running())
    }

    /// When each finished rollback of some services ended and how many
    /// seconds it took from its trigger (they count towards M3).
    pub fn service_rollback_times(&self) -> impl Iterator<Item = (Instant, f64)> + '_ {
        self.service_rollbacks.iter().filter_map(|r| {
            let ended = r.finished_at?;
            Some((ended, (ended - r.started_at) as f64 / 1000.0))
        })
    }

    /// Whether any step has been deployed (so stopping means rolling back).
    pub fn has_deployed(&self) -> bool {
        self.current_step > 0 || !matches!(self.step_status, StepStatus::NotStarted)
    }
}
