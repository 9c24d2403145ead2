//! The closed sets a candidate's records use: where it stands on its train
//! ([`CandidateStatus`], as `train_candidates.status` stores it) and an
//! approver's [`Decision`] on it (as `approvals.decision` stores it).

use std::fmt;
use std::str::FromStr;

/// Where a candidate stands on its train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CandidateStatus {
    /// On the train, going out with it.
    Boarded,
    /// Left behind (a gate, a conflict or a person took it off); the reason says why.
    Missed,
    /// Its release was undone.
    RolledBack,
    /// A rehearsal carried it through staging; nothing shipped.
    Rehearsed,
    /// Reached production with a completed train.
    Shipped,
}

impl CandidateStatus {
    pub const ALL: [Self; 5] = [Self::Boarded, Self::Missed, Self::RolledBack, Self::Rehearsed, Self::Shipped];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Boarded => "boarded",
            Self::Missed => "missed",
            Self::RolledBack => "rolled_back",
            Self::Rehearsed => "rehearsed",
            Self::Shipped => "shipped",
        }
    }
}

/// A stored name that is not one of the set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{0}\" is not a known {1}")]
pub struct Unknown(pub String, pub &'static str);

impl fmt::Display for CandidateStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CandidateStatus {
    type Err = Unknown;

    fn from_str(text: &str) -> Result<Self, Unknown> {
        Self::ALL.into_iter().find(|s| s.as_str() == text).ok_or_else(|| Unknown(text.to_owned(), "candidate status"))
    }
}

impl TryFrom<String> for CandidateStatus {
    type Error = Unknown;

    /// Reads a stored status (rows decode through this).
    fn try_from(stored: String) -> Result<Self, Unknown> {
        stored.parse()
    }
}

/// An approver's decision on a candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    Approve,
    Reject,
}

impl Decision {
    /// `approve` or `reject`, as the API and the console send it.
    pub fn asked(text: &str) -> Option<Self> {
        match text {
            "approve" => Some(Self::Approve),
            "reject" => Some(Self::Reject),
            _ => None,
        }
    }

    /// The stored name: `approved` or `rejected`.
    pub fn stored(self) -> &'static str {
        match self {
            Self::Approve => "approved",
            Self::Reject => "rejected",
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.stored())
    }
}

impl TryFrom<String> for Decision {
    type Error = Unknown;

    /// Reads a stored decision (rows decode through this).
    fn try_from(stored: String) -> Result<Self, Unknown> {
        match stored.as_str() {
            "approved" => Ok(Self::Approve),
            "rejected" => Ok(Self::Reject),
            _ => Err(Unknown(stored, "decision")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_names_read_back_and_strangers_are_refused() {
        for status in CandidateStatus::ALL {
            assert_eq!(CandidateStatus::try_from(status.as_str().to_owned()), Ok(status));
        }
        assert_eq!(CandidateStatus::try_from("sailed".to_owned()), Err(Unknown("sailed".into(), "candidate status")));
        for decision in [Decision::Approve, Decision::Reject] {
            assert_eq!(Decision::try_from(decision.stored().to_owned()), Ok(decision));
        }
        assert_eq!(Decision::asked("approve"), Some(Decision::Approve));
        assert!(Decision::try_from("approve".to_owned()).is_err(), "the stored form is `approved`");
    }
}
