//! The kinds of train and what each may do. Pure.
//!
//! A regular train runs on its definition's cadence. An emergency train (and
//! a hotfix, the kind of emergency that carries one fix) starts at once for
//! listed candidates through a reduced gate set. A rehearsal runs a
//! definition's candidates and gates through staging with canary analysis
//! and never reaches production.

use std::fmt;
use std::str::FromStr;

use crate::engine::{Environment, RolloutStep};

/// What sort of train a train is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TrainKind {
    #[default]
    Regular,
    Emergency,
    Hotfix,
    Rehearsal,
}

impl TrainKind {
    /// Every kind, in the order they are shown.
    pub const ALL: [TrainKind; 4] = [Self::Regular, Self::Emergency, Self::Hotfix, Self::Rehearsal];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Regular => "regular",
            Self::Emergency => "emergency",
            Self::Hotfix => "hotfix",
            Self::Rehearsal => "rehearsal",
        }
    }

    /// Whether it jumps the cadence for listed candidates (emergency and hotfix).
    pub fn is_emergency(self) -> bool {
        matches!(self, Self::Emergency | Self::Hotfix)
    }

    /// Whether it may deploy to production (every kind but a rehearsal).
    pub fn reaches_production(self) -> bool {
        self != Self::Rehearsal
    }

    /// The gates a kind runs when configuration names none: a regular train
    /// and a rehearsal run the definition's gates, an emergency its reduced
    /// set, a hotfix the reduced set plus the security scan.
    pub fn default_gates(self, definition_gates: &[String], emergency_gates: &[String]) -> Vec<String> {
        match self {
            Self::Regular | Self::Rehearsal => definition_gates.to_vec(),
            Self::Emergency => emergency_gates.to_vec(),
            Self::Hotfix => {
                let mut gates = emergency_gates.to_vec();
                if !gates.iter().any(|g| g == "security_scan") {
                    gates.push("security_scan".into());
                }
                gates
            }
        }
    }
}

impl fmt::Display for TrainKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TrainKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text).ok_or_else(|| {
            format!("\"{text}\" is not a kind of train; kinds are regular, emergency, hotfix, rehearsal")
        })
    }
}

/// A stored name that is no kind of train.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{0}\" is not a kind of train")]
pub struct UnknownKind(pub String);

impl TryFrom<String> for TrainKind {
    type Error = UnknownKind;

    /// Reads a stored kind (rows decode through this).
    fn try_from(stored: String) -> Result<Self, Self::Error> {
        stored.parse().map_err(|_| UnknownKind(stored))
    }
}

/// A kind's policy from the trains-as-code file (`[[kind]]`): what it
/// changes from the definition it runs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KindPolicy {
    pub kind: TrainKind,
    /// The gates every candidate of this kind clears (`None`: the kind's default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gates: Option<Vec<String>>,
    /// How long trains of this kind are watched after their last step (`None`: the definition's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitoring_ms: Option<i64>,
    /// Whether starting one needs an approver's sign-off on each candidate (adds the compliance gate).
    #[serde(default)]
    pub approval: bool,
}

impl KindPolicy {
    /// The policy of `kind` when configuration says nothing about it.
    pub fn default_for(kind: TrainKind) -> Self {
        Self { kind, gates: None, monitoring_ms: None, approval: false }
    }

    /// The gates a train of this kind runs for a definition.
    pub fn gates(&self, definition_gates: &[String], emergency_gates: &[String]) -> Vec<String> {
        let mut gates =
            self.gates.clone().unwrap_or_else(|| self.kind.default_gates(definition_gates, emergency_gates));
        if self.approval && !gates.iter().any(|g| g == "compliance") {
            gates.push("compliance".into());
        }
        gates
    }

    /// How long a train of this kind is watched after its last step; a
    /// rehearsal leaves nothing in production to watch.
    pub fn monitoring_ms(&self, definition_ms: i64) -> i64 {
        if self.kind == TrainKind::Rehearsal {
            return 0;
        }
        self.monitoring_ms.unwrap_or(definition_ms)
    }

    /// The rollout a train of this kind follows: a rehearsal keeps only the
    /// staging steps (one staging step when the definition has none).
    pub fn rollout(&self, definition_rollout: Vec<RolloutStep>) -> Vec<RolloutStep> {
        if self.kind.reaches_production() {
            return definition_rollout;
        }
        let soak = definition_rollout.iter().map(|s| s.soak_ms).find(|&ms| ms > 0).unwrap_or(10 * 60_000);
        let staging: Vec<RolloutStep> =
            definition_rollout.into_iter().filter(|s| s.environment == Environment::Staging).collect();
        if staging.is_empty() {
            vec![RolloutStep::new("staging rehearsal", Environment::Staging, 100, soak)]
        } else {
            staging
        }
    }
}

/// The policy of `kind` among `policies`, or its default.
pub fn policy_of(policies: &[KindPolicy], kind: TrainKind) -> KindPolicy {
    policies.iter().find(|p| p.kind == kind).cloned().unwrap_or_else(|| KindPolicy::default_for(kind))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::default_rollout;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn kinds_round_trip_through_their_stored_names_and_unknown_ones_are_named() {
        for kind in TrainKind::ALL {
            assert_eq!(kind.as_str().parse::<TrainKind>(), Ok(kind));
        }
        let error = "canary".parse::<TrainKind>().expect_err("not a kind");
        assert!(error.contains("\"canary\"") && error.contains("rehearsal"), "{error}");
    }

    #[test]
    fn each_kind_runs_its_own_gate_set() {
        let (regular, reduced) = (names(&["tests", "security_scan", "observability"]), names(&["tests"]));
        let gates = |kind| KindPolicy::default_for(kind).gates(&regular, &reduced);
        assert_eq!(gates(TrainKind::Regular), regular);
        assert_eq!(gates(TrainKind::Rehearsal), regular, "a rehearsal runs the same gates");
        assert_eq!(gates(TrainKind::Emergency), reduced);
        assert_eq!(gates(TrainKind::Hotfix), names(&["tests", "security_scan"]));
        let configured =
            KindPolicy { gates: Some(names(&["tests"])), approval: true, ..KindPolicy::default_for(TrainKind::Hotfix) };
        assert_eq!(configured.gates(&regular, &reduced), names(&["tests", "compliance"]));
    }

    #[test]
    fn a_rehearsal_keeps_only_staging_and_is_not_monitored() {
        let rehearsal = KindPolicy::default_for(TrainKind::Rehearsal);
        let steps = rehearsal.rollout(default_rollout());
        assert_eq!(steps.len(), 1);
        assert!(steps.iter().all(|s| s.environment == Environment::Staging));
        let production_only: Vec<RolloutStep> =
            default_rollout().into_iter().filter(|s| s.environment == Environment::Production).collect();
        let made_up = rehearsal.rollout(production_only);
        assert_eq!(made_up.len(), 1, "a definition without staging still rehearses on staging");
        assert_eq!(made_up[0].environment, Environment::Staging);
        assert!(made_up[0].soak_ms > 0, "the canary judge needs a soak");
        assert_eq!(rehearsal.monitoring_ms(3_600_000), 0);
        let regular = KindPolicy::default_for(TrainKind::Regular);
        assert_eq!(regular.rollout(default_rollout()), default_rollout());
        assert_eq!(regular.monitoring_ms(3_600_000), 3_600_000);
    }
}
