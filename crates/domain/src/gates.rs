//! The gates a candidate can be asked to clear. A definition lists them by
//! name; [`GateKind::parse`] turns a name into what Railyard evaluates, and
//! the evaluations that need no I/O live here as pure functions of the
//! facts the runtime gathers.

use std::fmt;

use crate::checks::{CheckKind, CheckStatus};
use crate::engine::GateOutcome;

/// What a gate checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateKind {
    /// A CI check reported on the artifact (`tests`, `security_scan`, ...).
    Check(CheckKind),
    /// The service declares an SLO, so its release can be watched.
    Observability,
    /// The domain's approvers have approved the candidate.
    Compliance,
    /// Irreversible migrations have an approver's sign-off (passes at once without any).
    Schema,
    /// The service's error budget is not exhausted.
    ErrorBudget,
    /// Every API contract the train's services require is provided.
    ApiContract,
}

/// `gate` is not a gate Railyard can run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{0}\" is not a gate; available: {list}", list = GateKind::names().join(", "))]
pub struct UnknownGate(pub String);

impl GateKind {
    /// The gates that are not CI checks.
    const OWN: [GateKind; 5] =
        [Self::Observability, Self::Compliance, Self::Schema, Self::ErrorBudget, Self::ApiContract];

    /// The gate called `name`.
    pub fn parse(name: &str) -> Result<Self, UnknownGate> {
        Self::OWN
            .into_iter()
            .find(|gate| gate.as_str() == name)
            .or_else(|| CheckKind::named(name).map(Self::Check))
            .ok_or_else(|| UnknownGate(name.to_owned()))
    }

    /// Its name in trains-as-code and on the gate board (`api_contract`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Check(kind) => kind.as_str(),
            Self::Observability => "observability",
            Self::Compliance => "compliance",
            Self::Schema => "schema",
            Self::ErrorBudget => "error_budget",
            Self::ApiContract => "api_contract",
        }
    }

    /// Every gate's name: Railyard's own, then the check kinds.
    pub fn names() -> Vec<&'static str> {
        Self::OWN.iter().map(|g| g.as_str()).chain(CheckKind::ALL.iter().map(|k| k.as_str())).collect()
    }

    /// Whether people with the approver role, and only they, decide it: it can
    /// never be waived, and an override needs an approver.
    pub fn is_approval(self) -> bool {
        matches!(self, Self::Compliance | Self::Schema)
    }
}

impl fmt::Display for GateKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a candidate's approvals stand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Approvals {
    Approved,
    Rejected { by: String, comment: String },
    Pending { approved: i64, required: i64 },
}

/// The compliance gate: approved passes, rejected fails, anything else awaits the approvers.
pub fn compliance(approvals: Approvals) -> GateOutcome {
    match approvals {
        Approvals::Approved => GateOutcome::Passed,
        Approvals::Rejected { by, comment } => GateOutcome::Failed(format!("rejected by {by}: {comment}")),
        Approvals::Pending { approved, required } => {
            GateOutcome::Awaiting(format!("{approved} of {required} approvals; asked the domain's approvers"))
        }
    }
}

/// The schema gate: passes at once without irreversible migrations; with
/// some, it is the compliance gate, saying which migrations wait.
pub fn schema(irreversible: &[String], approvals: Approvals) -> GateOutcome {
    if irreversible.is_empty() {
        return GateOutcome::Passed;
    }
    match compliance(approvals) {
        GateOutcome::Awaiting(detail) => GateOutcome::Awaiting(format!(
            "irreversible migration {} needs an approver's sign-off ({detail})",
            irreversible.join(", ")
        )),
        other => other,
    }
}

/// The observability gate for `service`: passes when it declares an SLO.
pub fn observability(service: &str, has_slo: bool) -> GateOutcome {
    if has_slo {
        GateOutcome::Passed
    } else {
        GateOutcome::Failed(format!("{service} has no SLO; declare one in its trains-as-code entry"))
    }
}

/// A check gate for the latest reported check (`None`: nothing reported yet).
/// An errored check, or none yet, is no answer: `Err` says why, and the runtime tries again.
pub fn check(gate: CheckKind, latest: Option<(CheckStatus, String)>) -> Result<GateOutcome, String> {
    match latest {
        None => Err(format!("no {} result has been reported for this artifact yet", gate.as_str())),
        Some((CheckStatus::Passed, _)) => Ok(GateOutcome::Passed),
        Some((CheckStatus::Failed, detail)) => Ok(GateOutcome::Failed(detail)),
        Some((CheckStatus::Errored, detail)) => Err(format!("the {} check errored ({detail})", gate.as_str())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_gate_name_parses_back_to_itself_and_a_misspelt_one_is_named() {
        for name in GateKind::names() {
            assert_eq!(GateKind::parse(name).map(GateKind::as_str), Ok(name));
        }
        let unknown = GateKind::parse("securty_scan").expect_err("misspelt");
        assert!(
            unknown.to_string().starts_with("\"securty_scan\" is not a gate; available: observability"),
            "{unknown}"
        );
        assert!(GateKind::parse("compliance").is_ok_and(GateKind::is_approval));
        assert!(!GateKind::parse("tests").is_ok_and(GateKind::is_approval));
    }

    #[test]
    fn the_schema_gate_waits_only_for_irreversible_migrations() {
        let pending = Approvals::Pending { approved: 0, required: 1 };
        assert_eq!(schema(&[], pending.clone()), GateOutcome::Passed);
        let waiting = schema(&["drop_ledger".into()], pending);
        assert_eq!(
            waiting,
            GateOutcome::Awaiting(
                "irreversible migration drop_ledger needs an approver's sign-off \
                 (0 of 1 approvals; asked the domain's approvers)"
                    .into()
            )
        );
        let rejected = Approvals::Rejected { by: "ann".into(), comment: "no backup".into() };
        assert_eq!(schema(&["drop_ledger".into()], rejected), GateOutcome::Failed("rejected by ann: no backup".into()));
    }

    #[test]
    fn a_check_gate_needs_a_result_and_an_errored_check_is_no_answer() {
        assert!(check(CheckKind::Tests, None).is_err());
        assert_eq!(check(CheckKind::Tests, Some((CheckStatus::Passed, String::new()))), Ok(GateOutcome::Passed));
        assert_eq!(
            check(CheckKind::SecurityScan, Some((CheckStatus::Failed, "trivy: 2 critical".into()))),
            Ok(GateOutcome::Failed("trivy: 2 critical".into()))
        );
        assert!(check(CheckKind::Tests, Some((CheckStatus::Errored, "runner lost".into())))
            .is_err_and(|why| why.contains("errored (runner lost)")));
    }
}
