//! The record of a canary analysis: for every metric and service, where
//! the samples came from, the window, the samples themselves (for charts),
//! the statistics and the verdict; and the scorecard over them.

use serde::Serialize;

use super::judge::MetricEvidence;
use super::score::Scorecard;
use crate::time::Instant;

/// Most samples per series a report keeps (evenly thinned beyond that).
pub const MAX_KEPT_SAMPLES: usize = 240;

/// One metric of one service, as judged.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JudgedMetric {
    pub metric: String,
    pub service: String,
    pub group: String,
    pub critical: bool,
    /// Shown but not scored.
    pub dry_run: bool,
    /// Where the samples came from: PromQL, or a description of the simulation.
    pub canary_query: String,
    pub baseline_query: String,
    /// The window read.
    pub window_start: Instant,
    pub window_end: Instant,
    pub evidence: MetricEvidence,
    /// The samples (thinned to at most [`MAX_KEPT_SAMPLES`]); the statistics used all of them.
    pub canary: Vec<f64>,
    pub baseline: Vec<f64>,
}

/// A whole analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct AnalysisReport {
    pub metrics: Vec<JudgedMetric>,
    pub scorecard: Option<Scorecard>,
    /// Why nothing could be judged, when reading the metrics failed.
    pub failure: Option<String>,
}

/// `samples` evenly thinned to at most [`MAX_KEPT_SAMPLES`].
pub fn thinned(samples: &[f64]) -> Vec<f64> {
    if samples.len() <= MAX_KEPT_SAMPLES {
        return samples.to_vec();
    }
    (0..MAX_KEPT_SAMPLES).map(|i| samples[i * samples.len() / MAX_KEPT_SAMPLES]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_series_are_thinned_evenly_and_short_ones_kept() {
        let long: Vec<f64> = (0..1000).map(f64::from).collect();
        let kept = thinned(&long);
        assert_eq!(kept.len(), MAX_KEPT_SAMPLES);
        assert_eq!((kept[0], kept[1]), (0.0, 4.0));
        assert_eq!(thinned(&[1.0, 2.0]), vec![1.0, 2.0]);
    }
}
