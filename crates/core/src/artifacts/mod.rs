//! Candidates: artifacts CI registers for the trains, and the checks CI
//! reports on them. Parsing and policy here are pure; storage is in
//! `store::artifacts`, HTTP in `api::artifacts`.

pub mod contracts;
pub mod registration;
pub mod sarif;

pub use contracts::Contracts;
pub use railyard_domain::checks::{self, CheckKind, CheckStatus};
pub use registration::{Change, ChangeKind, Digest, Migration, NewArtifact, NewArtifactRequest};
pub use sarif::{SarifSummary, SeverityCounts};
