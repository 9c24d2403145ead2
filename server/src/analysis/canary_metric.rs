//! A metric the canary judge compares: where to read it and how to judge it.

use serde::{Deserialize, Serialize};

use super::MetricPolicy;

/// One metric of a canary analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CanaryMetric {
    pub name: String,
    /// A PromQL query with `{track}` (replaced by `canary` or `baseline`) and
    /// optionally `{service}` (each service on the train).
    pub query: String,
    /// Scoring group; groups can be weighted.
    pub group: String,
    /// A failure of a critical metric fails the whole analysis.
    pub critical: bool,
    pub policy: MetricPolicy,
}

impl CanaryMetric {
    /// The query for one track and service.
    pub fn query_for(&self, track: &str, service: &str) -> String {
        self.query.replace("{track}", track).replace("{service}", service)
    }
}
