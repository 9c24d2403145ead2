//! Kayenta-style scoring: metric verdicts, grouped and weighted, become a
//! score out of 100 and a pass / marginal / fail classification.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::MetricVerdict;

/// One judged metric as the scorer sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricResult {
    pub name: String,
    pub group: String,
    /// A critical metric that fails fails the whole analysis.
    pub critical: bool,
    pub verdict: MetricVerdict,
}

/// Thresholds and group weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScorePolicy {
    /// Scores at or above this pass.
    pub pass: f64,
    /// Scores at or above this (and below `pass`) are marginal.
    pub marginal: f64,
    /// Relative weight per group; groups not listed weigh 1.
    pub group_weights: BTreeMap<String, f64>,
}

impl Default for ScorePolicy {
    fn default() -> Self {
        Self { pass: 95.0, marginal: 75.0, group_weights: BTreeMap::new() }
    }
}

/// The outcome of an analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Classification {
    Pass,
    Marginal,
    Fail,
    /// Nothing could be judged; never to be read as a pass.
    NoData,
}

/// A group's share of the score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupScore {
    pub group: String,
    pub passed: usize,
    pub judged: usize,
    pub weight: f64,
    /// Passed ÷ judged × 100, when anything was judged.
    pub score: Option<f64>,
}

/// The scored analysis.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scorecard {
    pub score: f64,
    pub classification: Classification,
    pub groups: Vec<GroupScore>,
    pub critical_failures: Vec<String>,
}

/// Scores `results` under `policy`.
pub fn score(results: &[MetricResult], policy: &ScorePolicy) -> Scorecard {
    let mut groups: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for result in results {
        let entry = groups.entry(result.group.as_str()).or_default();
        if result.verdict != MetricVerdict::NoData {
            entry.1 += 1;
            if result.verdict == MetricVerdict::Pass {
                entry.0 += 1;
            }
        }
    }
    let groups: Vec<GroupScore> = groups
        .into_iter()
        .map(|(group, (passed, judged))| GroupScore {
            group: group.to_owned(),
            passed,
            judged,
            weight: policy.group_weights.get(group).copied().unwrap_or(1.0),
            score: (judged > 0).then(|| passed as f64 / judged as f64 * 100.0),
        })
        .collect();
    let critical_failures: Vec<String> = results
        .iter()
        .filter(|r| r.critical && matches!(r.verdict, MetricVerdict::High | MetricVerdict::Low))
        .map(|r| r.name.clone())
        .collect();
    let weight: f64 = groups.iter().filter(|g| g.score.is_some()).map(|g| g.weight).sum();
    let weighted: f64 = groups.iter().filter_map(|g| g.score.map(|s| s * g.weight)).sum();
    let (score, classification) = if !critical_failures.is_empty() {
        (0.0, Classification::Fail)
    } else if weight <= 0.0 {
        (0.0, Classification::NoData)
    } else {
        let score = weighted / weight;
        let classification = if score >= policy.pass {
            Classification::Pass
        } else if score >= policy.marginal {
            Classification::Marginal
        } else {
            Classification::Fail
        };
        (score, classification)
    };
    Scorecard { score, classification, groups, critical_failures }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(name: &str, group: &str, critical: bool, verdict: MetricVerdict) -> MetricResult {
        MetricResult { name: name.into(), group: group.into(), critical, verdict }
    }

    #[test]
    fn weighted_groups_make_the_score() {
        let results = [
            result("p99", "latency", false, MetricVerdict::Pass),
            result("p50", "latency", false, MetricVerdict::High),
            result("5xx", "errors", false, MetricVerdict::Pass),
        ];
        let policy = ScorePolicy { group_weights: [("errors".to_owned(), 3.0)].into(), ..ScorePolicy::default() };
        let card = score(&results, &policy);
        // latency 50 × 1, errors 100 × 3 → 350 / 4.
        assert_eq!(card.score, 87.5);
        assert_eq!(card.classification, Classification::Marginal);
    }

    #[test]
    fn a_critical_failure_fails_everything() {
        let results =
            [result("5xx", "errors", true, MetricVerdict::High), result("p99", "latency", false, MetricVerdict::Pass)];
        let card = score(&results, &ScorePolicy::default());
        assert_eq!(card.classification, Classification::Fail);
        assert_eq!(card.critical_failures, vec!["5xx".to_owned()]);
    }

    #[test]
    fn no_data_is_never_a_pass() {
        let card = score(&[result("p99", "latency", false, MetricVerdict::NoData)], &ScorePolicy::default());
        assert_eq!(card.classification, Classification::NoData);
    }
}
