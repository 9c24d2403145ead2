//! Judging one metric: canary against baseline, with tolerances.

use serde::{Deserialize, Serialize};

use super::{mann_whitney_u, shift_estimate, MannWhitney, ShiftEstimate};

/// Which change of a metric counts against the canary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Higher is worse (latency, errors).
    Increase,
    /// Lower is worse (throughput, success rate).
    Decrease,
    /// Any change is suspect.
    Either,
}

/// How a metric is judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricPolicy {
    pub direction: Direction,
    /// Largest tolerated increase of the canary, relative to the baseline median (0.1 = 10%).
    pub allowed_increase: f64,
    /// Largest tolerated decrease, relative to the baseline median.
    pub allowed_decrease: f64,
    /// Confidence of the test and interval, e.g. 0.95 (significance 0.05).
    pub confidence: f64,
    /// Fewer samples than this on either side gives no verdict.
    pub min_samples: usize,
}

impl Default for MetricPolicy {
    fn default() -> Self {
        Self {
            direction: Direction::Increase,
            allowed_increase: 0.0,
            allowed_decrease: 0.0,
            confidence: 0.95,
            min_samples: 3,
        }
    }
}

/// The verdict on one metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricVerdict {
    /// No significant change beyond tolerance in a direction that counts.
    Pass,
    /// Significantly higher than the baseline, beyond tolerance.
    High,
    /// Significantly lower than the baseline, beyond tolerance.
    Low,
    /// Too little data to judge.
    NoData,
}

/// A verdict with everything it was based on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricEvidence {
    pub verdict: MetricVerdict,
    pub reason: String,
    pub canary_count: usize,
    pub baseline_count: usize,
    pub canary_median: Option<f64>,
    pub baseline_median: Option<f64>,
    pub mann_whitney: Option<MannWhitney>,
    pub shift: Option<ShiftEstimate>,
    /// The shift estimate relative to the baseline median.
    pub relative_shift: Option<f64>,
}

/// Judges `canary` against `baseline` under `policy`.
pub fn judge_metric(policy: &MetricPolicy, canary: &[f64], baseline: &[f64]) -> MetricEvidence {
    let mut evidence = MetricEvidence {
        verdict: MetricVerdict::NoData,
        reason: String::new(),
        canary_count: canary.len(),
        baseline_count: baseline.len(),
        canary_median: median(canary),
        baseline_median: median(baseline),
        mann_whitney: None,
        shift: None,
        relative_shift: None,
    };
    if canary.len() < policy.min_samples || baseline.len() < policy.min_samples {
        evidence.reason = format!(
            "{} canary and {} baseline samples; at least {} of each are needed",
            canary.len(),
            baseline.len(),
            policy.min_samples
        );
        return evidence;
    }
    let (Some(test), Some(shift)) =
        (mann_whitney_u(canary, baseline), shift_estimate(canary, baseline, policy.confidence))
    else {
        evidence.reason = "the samples contain values that are not numbers".into();
        return evidence;
    };
    let scale = evidence.baseline_median.unwrap_or(0.0).abs();
    let relative = if scale > 0.0 {
        shift.estimate / scale
    } else if shift.estimate == 0.0 {
        0.0
    } else {
        shift.estimate.signum() * f64::INFINITY
    };
    let significant = test.p_value < 1.0 - policy.confidence;
    let counts_up = matches!(policy.direction, Direction::Increase | Direction::Either);
    let counts_down = matches!(policy.direction, Direction::Decrease | Direction::Either);
    let (verdict, reason) = if significant && counts_up && shift.lower > 0.0 && relative > policy.allowed_increase {
        (MetricVerdict::High, format!("canary is {:+.1}% above baseline (p = {:.3e})", relative * 100.0, test.p_value))
    } else if significant && counts_down && shift.upper < 0.0 && -relative > policy.allowed_decrease {
        (MetricVerdict::Low, format!("canary is {:+.1}% below baseline (p = {:.3e})", relative * 100.0, test.p_value))
    } else if significant {
        (MetricVerdict::Pass, format!("shift of {:+.1}% is within tolerance or harmless", relative * 100.0))
    } else {
        (MetricVerdict::Pass, format!("no significant difference (p = {:.3})", test.p_value))
    };
    evidence.verdict = verdict;
    evidence.reason = reason;
    evidence.mann_whitney = Some(test);
    evidence.shift = Some(shift);
    evidence.relative_shift = Some(relative);
    evidence
}

fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() || values.iter().any(|v| v.is_nan()) {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    Some(if sorted.len() % 2 == 1 { sorted[mid] } else { (sorted[mid - 1] + sorted[mid]) / 2.0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(base: f64, len: usize) -> Vec<f64> {
        // A deterministic wobble of ±5% around `base`.
        (0..len).map(|i| base * (1.0 + 0.05 * ((i * 7 % 11) as f64 / 10.0 - 0.5))).collect()
    }

    #[test]
    fn a_latency_regression_is_high() {
        let policy = MetricPolicy { allowed_increase: 0.1, ..MetricPolicy::default() };
        let evidence = judge_metric(&policy, &series(130.0, 60), &series(100.0, 60));
        assert_eq!(evidence.verdict, MetricVerdict::High, "{}", evidence.reason);
        assert!(evidence.relative_shift.expect("shift") > 0.25);
    }

    #[test]
    fn a_change_within_tolerance_passes() {
        let policy = MetricPolicy { allowed_increase: 0.1, ..MetricPolicy::default() };
        let evidence = judge_metric(&policy, &series(104.0, 60), &series(100.0, 60));
        assert_eq!(evidence.verdict, MetricVerdict::Pass, "{}", evidence.reason);
    }

    #[test]
    fn an_improvement_passes_when_only_increases_count() {
        let evidence = judge_metric(&MetricPolicy::default(), &series(50.0, 60), &series(100.0, 60));
        assert_eq!(evidence.verdict, MetricVerdict::Pass);
        let either = MetricPolicy { direction: Direction::Either, ..MetricPolicy::default() };
        assert_eq!(judge_metric(&either, &series(50.0, 60), &series(100.0, 60)).verdict, MetricVerdict::Low);
    }

    #[test]
    fn too_few_samples_give_no_verdict() {
        let evidence = judge_metric(&MetricPolicy::default(), &[1.0, 2.0], &series(100.0, 60));
        assert_eq!(evidence.verdict, MetricVerdict::NoData);
        assert!(evidence.reason.contains("at least 3"));
    }
}
