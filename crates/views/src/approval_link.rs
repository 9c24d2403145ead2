//! The decision page an approval link opens: one candidate, its gates and
//! evidence, the train and its cutover, and where its approvals stand.

use serde::{Deserialize, Serialize};

/// What an approver sees before deciding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalLinkView {
    pub train_id: String,
    /// The train's definition, e.g. `payments-weekly`.
    pub train: String,
    pub domain: String,
    /// RFC 3339; the request (and the link) expire then.
    pub cutover_at: String,
    /// The cutover in the train's zone: `Tue 1 Dec 2026 03:00 Europe/Berlin`.
    pub cutover_shown: String,
    /// When the link lapses (with the request), in the train's zone.
    pub link_expires_shown: String,
    pub service: String,
    pub version: String,
    pub author: String,
    pub commit_sha: String,
    /// The changes the build carries, by title.
    pub changes: Vec<String>,
    pub gates: Vec<GateLine>,
    pub required: i64,
    pub approved: i64,
    /// `aaron approved: looks right`.
    pub decisions: Vec<String>,
}

/// One gate of the candidate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateLine {
    pub name: String,
    /// `passed`, `awaiting` …
    pub state: String,
    pub detail: String,
}
