//! The on-call view (`/oncall`, and the `oncall` embed panel): per
//! service, what is deploying now and its step, the alerts Railyard holds
//! active, open and recent incidents, and the canary SLIs of failing
//! analyses, with the actions the person looking may take.

use serde::{Deserialize, Serialize};

use crate::console::ConsoleTrain;

/// Everything on the page, for one person (or a read-only embed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OnCallView {
    /// Epoch milliseconds the view was computed at.
    pub now: i64,
    /// Services with something going on first, then the quiet ones.
    pub services: Vec<OnCallService>,
    /// Services this person may report incidents for (empty: no form).
    pub reportable: Vec<String>,
}

/// One service's row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OnCallService {
    pub name: String,
    pub domain: String,
    pub owner: String,
    /// An http(s) link, or empty.
    pub runbook_url: String,
    pub on_call: String,
    /// Trains in flight carrying it, with the actions this person may take.
    pub deploying: Vec<ConsoleTrain>,
    pub alerts: Vec<OnCallAlert>,
    /// Open incidents, then those of the last 24 hours.
    pub incidents: Vec<OnCallIncident>,
    /// Metrics that did not pass in the latest analysis of a train in flight (or of the last day).
    pub failing: Vec<SliDelta>,
}

impl OnCallService {
    /// Whether nothing needs attention.
    pub fn quiet(&self) -> bool {
        self.deploying.is_empty()
            && self.alerts.is_empty()
            && self.failing.is_empty()
            && self.incidents.iter().all(|i| i.resolved_at.is_some())
    }
}

/// An alert Railyard holds active.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnCallAlert {
    pub name: String,
    /// `page` or `ticket`.
    pub severity: String,
    pub summary: String,
    pub train_id: String,
    pub started_at: i64,
}

/// An incident of the service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnCallIncident {
    pub id: String,
    pub title: String,
    pub severity: String,
    pub started_at: i64,
    pub resolved_at: Option<i64>,
    pub train_id: Option<String>,
    /// An http(s) link, or empty.
    pub link: String,
    /// Whether this person may mark it resolved.
    pub can_resolve: bool,
}

/// A canary metric that did not pass: the baseline against the canary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SliDelta {
    pub train_id: String,
    pub train: String,
    pub step: String,
    pub metric: String,
    /// The metric's verdict: `high`, `low` or `nodata`.
    pub verdict: String,
    pub baseline: Option<f64>,
    pub canary: Option<f64>,
    /// The shift relative to the baseline median (0.12 is +12%).
    pub change: Option<f64>,
    pub reason: String,
}
