//! The simulated metrics provider (demo fleet and tests): realistic latency
//! and error-rate series for canary and baseline, with a deterministic
//! regression in one service so the demo shows an automatic rollback; and
//! SLI counts (good/total events) for error budgets, where one service can
//! burn its budget after a deploy and others can have spent theirs. The
//! series are judged by the real canary judge and the real budget rules.

use super::{CanaryQuery, MetricsProvider};
use crate::analysis::budget::{Counts, Slo};
use crate::analysis::report::JudgedMetric;
use crate::analysis::{judge_metric, Direction, MetricPolicy};
use crate::integrations::canary::Judgement;
use crate::runtime::BoxFuture;
use crate::time::Instant;

/// Simulated traffic: events per second of every service.
const EVENTS_PER_SECOND: i64 = 20;

/// Generates metric series for canary analyses.
#[derive(Debug, Clone, Default)]
pub struct SimulatedMetrics {
    /// A service whose canary regresses, and in how many trains out of how many (e.g. 1 of 3).
    pub regression: Option<(String, u64, u64)>,
    /// A service that fails every request once a train's production rollout starts (a crash
    /// loop), and in how many trains out of how many: the fast-burn rule rolls it back.
    pub burning: Option<(String, u64, u64)>,
    /// Services that have spent their error budget (errors at 1.5× the allowance).
    pub exhausted: Vec<String>,
    /// Exactly these `(train id, service)` pairs regress, besides `regression`'s share (the demo's past).
    pub regressing_in: Vec<(String, String)>,
    /// Exactly these `(train id, service)` pairs burn, besides `burning`'s share (the demo's past).
    pub burning_in: Vec<(String, String)>,
}

impl SimulatedMetrics {
    /// Whether `service` burns its budget in `train_id`.
    pub fn burns(&self, train_id: &str, service: &str) -> bool {
        picked(&self.burning, &format!("{train_id}#burn"), service) || listed(&self.burning_in, train_id, service)
    }

    /// Whether `service` regresses in `train_id`.
    fn regresses(&self, train_id: &str, service: &str) -> bool {
        picked(&self.regression, train_id, service) || listed(&self.regressing_in, train_id, service)
    }

    /// Good and all events of `service` over `[from, to]`; from `burning_since` on, every event fails.
    pub fn counts(
        &self,
        service: &str,
        slo: &Slo,
        from: Instant,
        to: Instant,
        burning_since: Option<Instant>,
    ) -> Counts {
        let events = |start: Instant, end: Instant| (end - start).max(0) * EVENTS_PER_SECOND / 1000;
        let burn_start = burning_since.map_or(to, |at| at.clamp(from, to));
        let (calm, burning) = (events(from, burn_start), events(burn_start, to));
        let share = if self.exhausted.iter().any(|s| s == service) { 1.5 } else { 0.2 };
        let calm_bad = (calm as f64 * slo.error_allowance() * share).round() as i64;
        let total = calm + burning;
        Counts {
            good: u64::try_from(total - calm_bad - burning).unwrap_or(0),
            total: u64::try_from(total).unwrap_or(0),
        }
    }

    /// p95 latency (seconds) of `service` before (`after == false`) and during a train's rollout.
    pub fn latency_p95(&self, train_id: &str, service: &str, after: bool) -> f64 {
        let noise = series(fnv(&format!("{train_id}/{service}")), u64::from(after), 1, 1.0, 0.02)[0];
        let regressing = after && self.regresses(train_id, service);
        0.18 * noise * if regressing { 1.35 } else { 1.0 }
    }

    /// Judges step `step` of `train_id` carrying `services` over `window`: p95 latency and error
    /// rate, and p99 latency as a dry run (shown, never scored: it runs 6% slower on every canary).
    pub fn judge(&self, train_id: &str, step: usize, services: &[String], window: (Instant, Instant)) -> Judgement {
        let seed = fnv(train_id) ^ (step as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let regressing = services.iter().any(|service| self.regresses(train_id, service));
        let latency_factor = if regressing { 1.35 } else { 1.0 };
        let baseline_latency = series(seed, 1, 120, 180.0, 0.08);
        let canary_latency: Vec<f64> =
            series(seed, 2, 120, 180.0, 0.08).into_iter().map(|v| v * latency_factor).collect();
        let baseline_errors = series(seed, 3, 120, 0.4, 0.3);
        let canary_errors = series(seed, 4, 120, 0.4, 0.3);
        let baseline_tail = series(seed, 5, 120, 320.0, 0.05);
        let canary_tail: Vec<f64> =
            series(seed, 6, 120, 320.0, 0.05).into_iter().map(|v| v * latency_factor * 1.06).collect();
        let metric = |name: &str, group: &str, critical: bool, allowed: f64, canary: Vec<f64>, baseline: Vec<f64>| {
            let policy =
                MetricPolicy { direction: Direction::Increase, allowed_increase: allowed, ..MetricPolicy::default() };
            JudgedMetric {
                metric: name.to_owned(),
                service: services.join(", "),
                group: group.to_owned(),
                critical,
                dry_run: false,
                canary_query: format!("simulated {name} of the canary"),
                baseline_query: format!("simulated {name} of the baseline"),
                window_start: window.0,
                window_end: window.1,
                evidence: judge_metric(&policy, &canary, &baseline),
                canary,
                baseline,
            }
        };
        Judgement::scored(vec![
            metric("p95 latency", "latency", false, 0.10, canary_latency, baseline_latency),
            metric("error rate", "errors", true, 0.25, canary_errors, baseline_errors),
            JudgedMetric { dry_run: true, ..metric("p99 latency", "latency", false, 0.02, canary_tail, baseline_tail) },
        ])
    }
}

/// Whether `service` is the one `choice` names and `train_id` falls among its `of` in `every` trains.
fn picked(choice: &Option<(String, u64, u64)>, train_id: &str, service: &str) -> bool {
    choice.as_ref().is_some_and(|(chosen, of, every)| chosen == service && *every > 0 && fnv(train_id) % every < *of)
}

fn listed(pairs: &[(String, String)], train_id: &str, service: &str) -> bool {
    pairs.iter().any(|(train, chosen)| train == train_id && chosen == service)
}

/// `len` samples around `level` with relative noise `spread`: stream `stream` of `seed` (SplitMix64).
fn series(seed: u64, stream: u64, len: usize, level: f64, spread: f64) -> Vec<f64> {
    let mut state = seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03);
    (0..len)
        .map(|_| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            let unit = (z >> 11) as f64 / (1_u64 << 53) as f64;
            level * (1.0 + spread * (unit - 0.5) * 2.0)
        })
        .collect()
}

fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

impl MetricsProvider for &SimulatedMetrics {
    fn judge<'a>(&'a self, query: &'a CanaryQuery<'a>) -> BoxFuture<'a, Judgement> {
        let judgement = SimulatedMetrics::judge(self, query.train_id, query.step, query.services, query.window);
        Box::pin(async move { judgement })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Verdict;

    #[test]
    fn healthy_canaries_mostly_pass_across_many_trains() {
        let metrics = SimulatedMetrics::default();
        let passed = (0..200)
            .filter(|i| {
                metrics
                    .judge(&format!("train-{i}"), 1, &["ledger".to_owned()], (Instant::from_ms(0), Instant::from_ms(1)))
                    .verdict
                    == Verdict::Pass
            })
            .count();
        assert!(passed >= 190, "{passed} of 200 healthy canaries passed");
    }

    #[test]
    fn healthy_canaries_pass_and_the_regressing_service_fails() {
        let metrics = SimulatedMetrics { regression: Some(("checkout".into(), 1, 1)), ..SimulatedMetrics::default() };
        let judged =
            metrics.judge("train-1", 1, &["ledger".to_owned()], (Instant::from_ms(0), Instant::from_ms(60_000)));
        assert_eq!(judged.verdict, Verdict::Pass, "{}", judged.detail);
        let judged =
            metrics.judge("train-1", 1, &["checkout".to_owned()], (Instant::from_ms(0), Instant::from_ms(60_000)));
        assert_eq!(judged.verdict, Verdict::Fail, "{}", judged.detail);
        assert!(judged.detail.contains("above baseline"), "{}", judged.detail);
        let latency = &judged.report.metrics[0];
        assert_eq!(
            (latency.metric.as_str(), latency.evidence.canary_count, latency.canary.len()),
            ("p95 latency", 120, 120)
        );
        assert!(
            latency.evidence.mann_whitney.is_some() && judged.report.scorecard.is_some(),
            "the statistics are kept"
        );
    }
}
