//! What the release-manager console shows, computed on the server for the
//! person looking: only what their roles let them act on is offered.

use railyard_domain::train_kind::TrainKind;
use serde::{Deserialize, Serialize};

use crate::session::Viewer;

/// The whole console for one person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleView {
    pub viewer: Viewer,
    /// Trains between opening and their end.
    pub trains: Vec<ConsoleTrain>,
    /// Candidates waiting for this person's approval.
    pub approvals: Vec<PendingCandidate>,
    pub break_glass: Vec<BreakGlassItem>,
    /// Domains where this person may ask for a break-glass.
    pub operable_domains: Vec<String>,
    /// Definitions this person may start an emergency train of, with the candidates it could carry.
    pub emergency: Vec<EmergencyOption>,
    /// Whether this person may freeze every domain at once.
    pub can_freeze_everywhere: bool,
    /// Gates that could not decide (inconclusive, or errored past their retries) on trains
    /// this person may operate, each waiting for a waiver or a fix, and failed
    /// gates this person may ask to override or grant an override of.
    #[serde(default)]
    pub undecided: Vec<UndecidedGate>,
}

/// A gate waiting for a person's decision.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UndecidedGate {
    pub train_id: String,
    pub train: String,
    pub artifact_id: String,
    pub service: String,
    pub gate: String,
    /// `inconclusive`, `errored` or `blocked`.
    pub state: String,
    pub detail: String,
    /// Whether a release manager may waive it: inconclusive or errored, and
    /// not an approval gate (a blocked gate is fixed or its candidate taken off).
    pub waivable: bool,
    /// What this person may do about a failed or blocked gate: ask for a
    /// two-person override, or grant the one asked for.
    #[serde(default)]
    pub override_offer: Option<OverrideStep>,
    /// The open override request, in words (who asked, why, until when).
    #[serde(default)]
    pub override_request: String,
    /// Whether this person may take its candidate off the train (release
    /// managers of the domain, while it is still on it).
    #[serde(default)]
    pub removable: bool,
}

/// A step of a two-person override: a release manager asks, a different approver grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OverrideStep {
    Ask,
    Grant,
}

impl OverrideStep {
    /// The form value and the API's action name stem, `ask`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ask => "ask",
            Self::Grant => "grant",
        }
    }

    /// Parses the form value.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "ask" => Some(Self::Ask),
            "grant" => Some(Self::Grant),
            _ => None,
        }
    }
}

/// A freeze as the console's form states it (the fields of a `[[freeze]]` entry).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FreezeForm {
    pub name: String,
    /// Empty: every domain.
    pub domain: String,
    pub time_zone: String,
    /// `YYYY-MM-DDTHH:MM` (a `datetime-local` input) or a date.
    pub starts: String,
    pub ends: String,
    pub reason: String,
}

/// What a freeze would do, shown before it is declared.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FreezePreviewView {
    /// The form as checked, to confirm with.
    pub form: FreezeForm,
    /// The freeze's windows, as (start, end) instants (RFC 3339).
    pub windows: Vec<(String, String)>,
    pub impacts: Vec<FreezeImpactView>,
}

/// One train the freeze would hold.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FreezeImpactView {
    pub definition: String,
    pub domain: String,
    pub state: String,
    pub cutover_at: String,
    /// `suspended` or `moved`.
    pub effect: String,
    pub until: String,
}

/// A definition an emergency train can be started from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EmergencyOption {
    pub definition: String,
    pub domain: String,
    /// The newest boardable artifact of each of its services.
    pub candidates: Vec<EmergencyCandidate>,
}

/// An artifact an emergency train could carry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EmergencyCandidate {
    pub artifact_id: String,
    pub service: String,
    pub version: String,
}

impl ConsoleView {
    /// Everything that waits for this person: candidates, break-glass requests and held trains they may resume.
    pub fn waiting_count(&self) -> usize {
        self.approvals.len()
            + self.undecided.len()
            + self.break_glass.iter().filter(|item| item.can_approve).count()
            + self.trains.iter().filter(|train| train.phase == "held" && !train.actions.is_empty()).count()
    }
}

/// A train in flight.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ConsoleTrain {
    pub id: String,
    pub name: String,
    pub domain: String,
    pub phase: String,
    /// The current rollout step, e.g. "canary 5% (soaking)".
    pub step: String,
    pub cutover_at: i64,
    /// Why it is held or suspended, if it is.
    pub waiting_reason: String,
    pub kind: TrainKind,
    /// The actions this person may take on it now.
    pub actions: Vec<TrainAction>,
    /// The services "roll back one service" offers (each with its atomic group).
    #[serde(default)]
    pub rollback_services: Vec<String>,
    /// The services it carries, with whom to call.
    pub services: Vec<ServiceContact>,
}

/// A service of a train, with its runbook and on-call contact.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ServiceContact {
    pub name: String,
    pub owner: String,
    /// An http(s) link, or empty.
    pub runbook_url: String,
    pub on_call: String,
}

/// An operator action as the console offers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrainAction {
    Hold,
    Resume,
    Promote,
    Abort,
    RollBack,
    /// Roll back one service (and its atomic group); the rest of the train stays deployed.
    RollBackService,
}

impl TrainAction {
    /// The action's name in the API (`roll_back`).
    pub fn as_str(self) -> &'static str {
        match self {
            TrainAction::Hold => "hold",
            TrainAction::Resume => "resume",
            TrainAction::Promote => "promote",
            TrainAction::Abort => "abort",
            TrainAction::RollBack => "roll_back",
            TrainAction::RollBackService => "roll_back_service",
        }
    }

    /// The button's label.
    pub fn label(self) -> &'static str {
        match self {
            TrainAction::Hold => "Hold…",
            TrainAction::Resume => "Resume",
            TrainAction::Promote => "Promote",
            TrainAction::Abort => "Abort…",
            TrainAction::RollBack => "Roll back…",
            TrainAction::RollBackService => "Roll back one service…",
        }
    }

    /// Whether it undoes work (asks for confirmation, shown in red).
    pub fn destructive(self) -> bool {
        matches!(self, TrainAction::Abort | TrainAction::RollBack | TrainAction::RollBackService)
    }

    /// Whether the timeline needs a reason from the person (holding, and everything destructive).
    pub fn needs_reason(self) -> bool {
        self.destructive() || self == TrainAction::Hold
    }

    /// The action named `text`.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Hold, Self::Resume, Self::Promote, Self::Abort, Self::RollBack, Self::RollBackService]
            .into_iter()
            .find(|a| a.as_str() == text)
    }
}

/// A candidate this person may approve.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PendingCandidate {
    pub artifact_id: String,
    pub service: String,
    pub version: String,
    pub author: String,
    /// Whether the author is a known person (a user name or an identity an
    /// admin recorded); when not, separation of duties could not be checked.
    #[serde(default)]
    pub author_known: bool,
    pub domain: String,
    pub approved: i64,
    pub required: i64,
}

/// A break-glass request.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BreakGlassItem {
    pub id: String,
    pub domain: String,
    pub requested_by: String,
    pub reason: String,
    pub status: String,
    pub approvers: Vec<String>,
    /// Whether this person may approve or reject it now.
    pub can_approve: bool,
}
