//! What CI checks on an artifact, and how a check went. A train's gates are
//! named after check kinds.

use serde::{Deserialize, Serialize};

/// What was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    Tests,
    SecurityScan,
    Contract,
    Lint,
    Build,
}

impl CheckKind {
    /// Every kind.
    pub const ALL: [CheckKind; 5] = [Self::Tests, Self::SecurityScan, Self::Contract, Self::Lint, Self::Build];

    /// The stored and written name, `security_scan`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tests => "tests",
            Self::SecurityScan => "security_scan",
            Self::Contract => "contract",
            Self::Lint => "lint",
            Self::Build => "build",
        }
    }

    /// The kind called `name`.
    pub fn named(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

/// How the check went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Passed,
    Failed,
    /// The check itself broke; says nothing about the artifact.
    Errored,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_json_form() {
        for kind in CheckKind::ALL {
            assert_eq!(serde_json::to_value(kind).expect("json"), kind.as_str());
            assert_eq!(CheckKind::named(kind.as_str()), Some(kind));
        }
    }
}
