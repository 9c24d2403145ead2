//! The phases a train goes through, as stored and shown.

use std::fmt;
use std::str::FromStr;

/// Where a train is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrainState {
    Scheduled,
    Planning,
    Assembling,
    Preflight,
    Staging,
    Canary,
    Cutover,
    Monitoring,
    Completed,
    Aborted,
    RolledBack,
    Held,
    Suspended,
    Skipped,
}

impl TrainState {
    /// Every state, in lifecycle order.
    pub const ALL: [TrainState; 14] = [
        Self::Scheduled,
        Self::Planning,
        Self::Assembling,
        Self::Preflight,
        Self::Staging,
        Self::Canary,
        Self::Cutover,
        Self::Monitoring,
        Self::Completed,
        Self::Aborted,
        Self::RolledBack,
        Self::Held,
        Self::Suspended,
        Self::Skipped,
    ];

    /// The stored name (`rolled_back`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Planning => "planning",
            Self::Assembling => "assembling",
            Self::Preflight => "preflight",
            Self::Staging => "staging",
            Self::Canary => "canary",
            Self::Cutover => "cutover",
            Self::Monitoring => "monitoring",
            Self::Completed => "completed",
            Self::Aborted => "aborted",
            Self::RolledBack => "rolled_back",
            Self::Held => "held",
            Self::Suspended => "suspended",
            Self::Skipped => "skipped",
        }
    }

    /// The states a train ends in; written once, here.
    pub const FINAL: [TrainState; 4] = [Self::Completed, Self::Aborted, Self::RolledBack, Self::Skipped];

    /// Whether the train is over.
    pub fn is_final(self) -> bool {
        Self::FINAL.contains(&self)
    }

    /// Whether its rollout has started and not finished (a freeze suspends it rather than moving its cutover).
    pub fn rolling_out(self) -> bool {
        matches!(self, Self::Staging | Self::Canary | Self::Cutover | Self::Held | Self::Suspended)
    }

    /// Whether it still takes candidates (its planning window has not closed).
    pub fn boarding(self) -> bool {
        matches!(self, Self::Scheduled | Self::Planning)
    }

    /// Whether a freeze can still change anything for it (not over, not only being watched).
    pub fn freezable(self) -> bool {
        !self.is_final() && self != Self::Monitoring
    }
}

impl fmt::Display for TrainState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TrainState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|state| state.as_str() == s).ok_or_else(|| format!("\"{s}\" is not a train state"))
    }
}

/// A stored name that is no train state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{0}\" is not a train state")]
pub struct UnknownState(pub String);

impl TryFrom<String> for TrainState {
    type Error = UnknownState;

    /// Reads a stored state (rows decode through this).
    fn try_from(stored: String) -> Result<Self, Self::Error> {
        stored.parse().map_err(|_| UnknownState(stored))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_reads_back_from_its_stored_name() {
        for state in TrainState::ALL {
            assert_eq!(state.as_str().parse::<TrainState>(), Ok(state));
        }
        assert!("derailed".parse::<TrainState>().is_err());
    }
}
