//! A metric the canary judge compares: where to read it and how to judge it.

use serde::{Deserialize, Serialize};

use super::MetricPolicy;

/// One metric of a canary analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CanaryMetric {
    pub name: String,
    /// A PromQL query with `{track}` (replaced by `canary` or `baseline`) and
    /// optionally `{service}` (each service on the train), `{environment}`
    /// (`staging` or `production`: the step's, so a rehearsal reads staging)
    /// and `{region}` (the step's region; every step then names one).
    pub query: String,
    /// Scoring group; groups can be weighted.
    pub group: String,
    /// A failure of a critical metric fails the whole analysis.
    pub critical: bool,
    /// Judged and shown, but left out of the score: a new metric on probation.
    #[serde(default)]
    pub dry_run: bool,
    pub policy: MetricPolicy,
}

impl CanaryMetric {
    /// The query for one track and service in one environment (and region).
    pub fn query_for(&self, track: &str, service: &str, environment: &str, region: Option<&str>) -> String {
        self.query
            .replace("{track}", track)
            .replace("{service}", service)
            .replace("{environment}", environment)
            .replace("{region}", region.unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_names_its_track_service_environment_and_region() {
        let metric = CanaryMetric {
            name: "errors".into(),
            query: r#"rate(errors{service="{service}",track="{track}",env="{environment}",region="{region}"}[1m])"#
                .into(),
            group: "errors".into(),
            critical: false,
            dry_run: false,
            policy: MetricPolicy::default(),
        };
        assert_eq!(
            metric.query_for("canary", "ledger", "staging", Some("eu-west")),
            r#"rate(errors{service="ledger",track="canary",env="staging",region="eu-west"}[1m])"#,
            "a rehearsal's staging step reads staging's series"
        );
    }
}
