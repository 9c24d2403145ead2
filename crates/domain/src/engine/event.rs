//! What can happen to a train.

use serde::{Deserialize, Serialize};

use super::model::Environment;
use crate::ids::ArtifactId;

/// A candidate the runtime picked at assembly, with the gates it must clear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Boarding {
    pub artifact_id: ArtifactId,
    pub service: String,
    pub gates: Vec<String>,
    /// Irreversible migrations it declares (they make the train roll-forward-only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub irreversible: Vec<String>,
    /// The atomic group it boards with, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<Group>,
}

/// Services of a train that board, miss it and roll back together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub name: String,
    pub services: Vec<String>,
}

/// The result of one gate run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome", content = "detail")]
pub enum GateOutcome {
    Passed,
    /// The artifact is bad: it misses the train and is rejected for good.
    Failed(String),
    /// Not now (e.g. its service's error budget is exhausted): it misses this train and may board the next.
    Deferred(String),
    Inconclusive(String),
    Errored(String),
    /// The train cannot go as it is (e.g. an API contract nobody provides): held until people decide.
    Blocked(String),
    /// Waiting for people (approvals); the gate finishes when they decide.
    Awaiting(String),
}

/// The canary judge's classification of a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Marginal,
    Fail,
    NoData,
}

/// The answer of an error-budget burn check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "burn", content = "detail")]
pub enum Burn {
    /// Below every burn rule.
    Calm,
    /// A service crossed a burn rule on both its windows: fast rolls the step back, slow holds it.
    Breached { speed: BurnSpeed, service: String, detail: String },
    /// The metrics could not be read (or held no events); the canary judge still decides a
    /// step, and monitoring does not complete on it.
    Unknown(String),
}

/// Which of the SRE workbook's paging rules a burn crossed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BurnSpeed {
    /// 14.4× over 1 h and 5 min.
    Fast,
    /// 6× over 6 h and 30 min.
    Slow,
}

impl BurnSpeed {
    /// `fast` or `slow`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fast => "fast",
            Self::Slow => "slow",
        }
    }
}

/// What an operator can ask for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum Action {
    Hold,
    Resume,
    /// Skip the rest of the current step's soak or accept a marginal verdict.
    Promote,
    /// Stop a train before anything is deployed.
    Abort,
    RollBack,
    /// Roll back these services alone (their atomic groups with them) and
    /// keep the rest of the train deployed; naming every service on the
    /// train rolls the whole train back.
    RollBackServices {
        #[cfg_attr(feature = "openapi", schema(min_items = 1, example = json!(["ledger"])))]
        services: Vec<String>,
    },
    /// Let an inconclusive or errored gate through (never an approval gate).
    WaiveGate {
        artifact_id: ArtifactId,
        gate: String,
    },
    /// A release manager asks an approver to let a failed or blocked gate through.
    RequestOverride {
        artifact_id: ArtifactId,
        gate: String,
    },
    /// An approver other than the one who asked grants an open override request.
    GrantOverride {
        artifact_id: ArtifactId,
        gate: String,
    },
    /// Take a candidate (with its atomic group) off the train before anything
    /// is deployed; it may board the next train unless its artifact was rejected.
    RemoveCandidate {
        artifact_id: ArtifactId,
    },
}

/// Something that happened to a train.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "event")]
pub enum Event {
    /// The planning window closed: assemble the cargo.
    PlanningClosed,
    Assembled {
        candidates: Vec<Boarding>,
    },
    GateFinished {
        artifact_id: ArtifactId,
        gate: String,
        outcome: GateOutcome,
    },
    /// The cutover instant arrived: production steps may start.
    CutoverDue,
    Deployed {
        step: usize,
        ok: bool,
        detail: String,
    },
    /// The GitOps controller has not applied the step within its deadline.
    DeployOverdue {
        step: usize,
        detail: String,
    },
    SoakElapsed {
        step: usize,
    },
    Judged {
        step: usize,
        verdict: Verdict,
        detail: String,
    },
    RolledBack {
        step: usize,
    },
    /// The deployer answered the rollback of some services (the
    /// `index`th of the train's service rollbacks).
    ServicesRolledBack {
        index: usize,
        ok: bool,
        detail: String,
    },
    /// The deployer could not restore the previous version.
    RollbackFailed {
        step: usize,
        detail: String,
    },
    /// What an environment runs stopped (or started again) matching what the train shipped.
    Drift {
        service: String,
        environment: Environment,
        drifting: bool,
        detail: String,
    },
    MonitoringElapsed,
    /// The approval reminder timer fired.
    ApprovalReminderDue,
    /// Cutover arrived for candidates still waiting for people.
    ApprovalsExpired,
    /// A burn-check timer fired.
    BurnCheckDue {
        step: usize,
    },
    BurnChecked {
        step: usize,
        burn: Burn,
    },
    FreezeStarted {
        name: String,
    },
    FreezeEnded,
    /// A break-glass lets the train through the freeze that holds it.
    FreezeLifted {
        by: String,
    },
    /// Another train is deploying some of this train's services: no step
    /// starts until it is done (one rollout per service at a time).
    DeploysBusy {
        by: String,
    },
    /// Nothing else deploys this train's services any more.
    DeploysFree,
    Operator {
        actor: String,
        action: Action,
        reason: String,
    },
}
