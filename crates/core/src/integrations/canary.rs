//! Judging a canary step: the definition's metrics provider reads the
//! series, the domain's analysis judges and scores them, and the full
//! analysis is stored for the train page.

use super::metrics::CanaryQuery;
use super::FleetIntegrations;
use crate::analysis::report::{AnalysisReport, JudgedMetric};
use crate::analysis::{score, Classification, MetricResult, ScorePolicy};
use crate::engine::{Environment, Verdict};
use crate::runtime::{self, EffectContext};
use crate::store;

impl FleetIntegrations {
    pub(super) async fn verdict(&self, context: &EffectContext, step: usize) -> anyhow::Result<(Verdict, String)> {
        let train_id = &context.train_id;
        let run = runtime::load(&self.db, train_id).await?;
        let services: Vec<String> = run.candidates.iter().filter(|c| c.boarded()).map(|c| c.service.clone()).collect();
        let definition = {
            let mut conn = self.db.acquire().await?;
            self.definition_of(&mut conn, train_id).await?
        };
        let soak_ms = run.rollout.get(step).map_or(0, |s| s.soak_ms).max(60_000);
        let end = context.now;
        let settings = definition.metrics_settings()?;
        let query = CanaryQuery {
            train_id,
            step,
            services: &services,
            environment: run.rollout.get(step).map_or(Environment::Production, |s| s.environment),
            region: run.rollout.get(step).and_then(|s| s.region.as_deref()),
            window: (end - soak_ms, end),
        };
        let judgement = self.metrics.for_settings(&settings).judge(&query).await;
        let stored = store::analyses::StoredAnalysis {
            effect_key: context.key.clone(),
            train_id: train_id.clone(),
            step: i64::try_from(step)?,
            verdict: serde_json::to_value(judgement.verdict)?.as_str().unwrap_or_default().to_owned(),
            detail: judgement.detail.clone(),
            report: serde_json::to_string(&judgement.report)?,
            at: end,
        };
        let mut conn = self.db.acquire().await?;
        store::analyses::record(&mut conn, &stored).await?;
        Ok((judgement.verdict, judgement.detail))
    }
}

/// A canary analysis's outcome: the engine's verdict, a one-line account, and the full record.
#[derive(Debug, Clone)]
pub struct Judgement {
    pub verdict: Verdict,
    pub detail: String,
    pub report: AnalysisReport,
}

impl Judgement {
    /// Scores judged metrics (Kayenta-style: passes over judged, weighted groups, critical metrics).
    /// Dry-run metrics are in the report and the detail but not in the score.
    pub fn scored(metrics: Vec<JudgedMetric>) -> Self {
        let results: Vec<MetricResult> = metrics
            .iter()
            .filter(|m| !m.dry_run)
            .map(|m| MetricResult {
                name: format!("{} ({})", m.metric, m.service),
                group: m.group.clone(),
                critical: m.critical,
                verdict: m.evidence.verdict,
            })
            .collect();
        let card = score(&results, &ScorePolicy::default());
        let evidence: Vec<String> = metrics
            .iter()
            .map(|m| {
                let dry_run = if m.dry_run { " [dry run, not scored]" } else { "" };
                format!("{} ({}){dry_run}: {:?}, {}", m.metric, m.service, m.evidence.verdict, m.evidence.reason)
            })
            .collect();
        let detail = format!("score {:.0}; {}", card.score, evidence.join("; "));
        let verdict = verdict_of(card.classification);
        Self { verdict, detail, report: AnalysisReport { metrics, scorecard: Some(card), failure: None } }
    }
}

/// The engine's verdict for a scored analysis: no data is never a pass.
fn verdict_of(classification: Classification) -> Verdict {
    match classification {
        Classification::Pass => Verdict::Pass,
        Classification::Marginal => Verdict::Marginal,
        Classification::Fail => Verdict::Fail,
        Classification::NoData => Verdict::NoData,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::judge_metric;
    use crate::time::Instant;

    fn judged(name: &str, dry_run: bool, factor: f64) -> JudgedMetric {
        let baseline: Vec<f64> = (0..60).map(|i| 100.0 + f64::from(i % 7)).collect();
        let canary: Vec<f64> = baseline.iter().map(|v| v * factor).collect();
        JudgedMetric {
            metric: name.to_owned(),
            service: "ledger".to_owned(),
            group: name.to_owned(),
            critical: false,
            dry_run,
            canary_query: String::new(),
            baseline_query: String::new(),
            window_start: Instant::from_ms(0),
            window_end: Instant::from_ms(60_000),
            evidence: judge_metric(&crate::analysis::MetricPolicy::default(), &canary, &baseline),
            canary,
            baseline,
        }
    }

    #[test]
    fn a_dry_run_metric_is_reported_but_never_decides() {
        let judgement = Judgement::scored(vec![judged("latency", false, 1.0), judged("p99 new", true, 1.5)]);
        assert_eq!(judgement.verdict, Verdict::Pass, "the regressing dry-run metric is not scored");
        assert!(judgement.detail.contains("p99 new (ledger) [dry run, not scored]: High"), "{}", judgement.detail);
        assert_eq!(judgement.report.metrics.len(), 2, "both are in the report, with their samples");
        let failing = Judgement::scored(vec![judged("latency", false, 1.5), judged("p99 new", true, 1.0)]);
        assert_eq!(failing.verdict, Verdict::Fail, "a passing dry-run metric cannot rescue a regression");
        let only_dry_run = Judgement::scored(vec![judged("p99 new", true, 1.0)]);
        assert_eq!(only_dry_run.verdict, Verdict::NoData, "nothing scored is never a pass");
    }
}
