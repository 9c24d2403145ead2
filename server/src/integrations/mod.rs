//! The runtime's integrations for a fleet: assembly, gates and carry-over
//! read and write the store; each train definition picks its deployer
//! (`webhook`, `gitops`, or the labelled `simulated` one); canaries are judged on the
//! simulated metrics provider (the only one so far).

pub mod budget_samples;
mod budgets;
pub mod gitops;
pub mod prometheus;
pub mod redact;
mod simulated;
pub mod webhook;

use std::sync::Arc;

use anyhow::Context;

pub use simulated::SimulatedMetrics;
pub use webhook::WebhookDeployer;

use crate::analysis::report::{AnalysisReport, JudgedMetric};
use crate::analysis::{score, CanaryMetric, Classification, MetricResult, ScorePolicy};
use crate::artifacts::contracts::{self, Contracts, Party, Place};
use crate::artifacts::{CheckStatus, Migration};
use crate::clock::Clock;
use crate::engine::{Boarding, Burn, Environment, GateOutcome, Group, Notice, Verdict};
use crate::fleet::{COMPLIANCE_GATE, CONTRACT_GATE, ERROR_BUDGET_GATE, OBSERVABILITY_GATE, SCHEMA_GATE};
use crate::runtime::{self, BoxFuture, Deployment, EffectContext, Integrations};
use crate::store::{self, definitions::Definition, Db};
use crate::time::to_ms;
use crate::train_kind::TrainKind;
use webhook::{ReleasePayload, ReleaseStep, ReleasedArtifact, RunningDigest};

/// Integrations backed by the store, with simulated deployments and metrics.
pub struct FleetIntegrations {
    db: Db,
    clock: Arc<dyn Clock>,
    metrics: SimulatedMetrics,
    webhook: WebhookDeployer,
    gitops: gitops::GitopsDeployer,
    prometheus: prometheus::PrometheusProvider,
    notifier: reqwest::Client,
}

/// How long the outside world may take to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Deploy webhooks and notification webhooks.
    pub webhook: std::time::Duration,
    /// Each Prometheus query (past it, the analysis is inconclusive).
    pub prometheus: std::time::Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self { webhook: std::time::Duration::from_secs(10), prometheus: std::time::Duration::from_secs(10) }
    }
}

impl FleetIntegrations {
    /// Integrations over `db`, judging canaries on `metrics`, with the default timeouts.
    pub fn new(db: Db, clock: Arc<dyn Clock>, metrics: SimulatedMetrics) -> anyhow::Result<Self> {
        Self::with_timeouts(db, clock, metrics, Timeouts::default())
    }

    /// Integrations with the given timeouts.
    pub fn with_timeouts(
        db: Db,
        clock: Arc<dyn Clock>,
        metrics: SimulatedMetrics,
        timeouts: Timeouts,
    ) -> anyhow::Result<Self> {
        let notifier = reqwest::Client::builder().timeout(timeouts.webhook).build()?;
        let webhook = WebhookDeployer::new(timeouts.webhook)?;
        let prometheus = prometheus::PrometheusProvider::new(timeouts.prometheus)?;
        Ok(Self { db, clock, metrics, webhook, gitops: gitops::GitopsDeployer, prometheus, notifier })
    }

    async fn definition_of(&self, conn: &mut store::Conn, train_id: &str) -> anyhow::Result<Definition> {
        let definition_id = store::trains::definition_id_of(conn, train_id).await?.context("the train is gone")?;
        store::definitions::by_id(conn, &definition_id).await?.context("the train's definition is gone")
    }

    async fn boarding(&self, train_id: &str) -> anyhow::Result<Vec<Boarding>> {
        let mut conn = self.db.acquire().await?;
        let definition = self.definition_of(&mut conn, train_id).await?;
        let kind = store::trains::kind_of(&mut conn, train_id).await?;
        let policy = store::kinds::policy(&mut conn, kind).await?;
        let (regular, reduced) = definition.gate_lists();
        let gates = policy.gates(&regular, &reduced);
        let groups = definition.atomic_groups();
        let listed = store::trains::emergency_candidates(&mut conn, train_id).await?;
        // An emergency train carries exactly what it was started for; the others the newest candidates.
        let artifacts = if listed.is_empty() {
            let service_ids = store::definitions::service_ids(&mut conn, &definition.id).await?;
            store::artifacts::newest_boardable(&mut conn, &service_ids).await?
        } else {
            let mut artifacts = Vec::new();
            for id in &listed {
                if let Some(artifact) =
                    store::artifacts::by_id(&mut conn, id).await?.filter(|a| a.rejected_at.is_none())
                {
                    artifacts.push(artifact);
                }
            }
            artifacts
        };
        Ok(artifacts
            .into_iter()
            .map(|a| {
                let irreversible = irreversible_migrations(&a.migrations);
                let mut gates = gates.clone();
                // An irreversible migration always needs its sign-off, whatever the definition lists.
                if !irreversible.is_empty() && !gates.iter().any(|g| g == SCHEMA_GATE) {
                    gates.push(SCHEMA_GATE.to_owned());
                }
                let group = groups
                    .iter()
                    .find(|g| g.services.contains(&a.service))
                    .map(|g| Group { name: g.name.clone(), services: g.services.clone() });
                Boarding { artifact_id: a.id, service: a.service, gates, irreversible, group }
            })
            .collect())
    }

    async fn gate(&self, train_id: &str, now: i64, artifact_id: &str, gate: &str) -> anyhow::Result<GateOutcome> {
        let mut conn = self.db.acquire().await?;
        if gate == ERROR_BUDGET_GATE {
            let artifact = store::artifacts::by_id(&mut conn, artifact_id).await?.context("the artifact is gone")?;
            drop(conn);
            return self.budget_gate(train_id, &artifact.service, now).await;
        }
        if gate == OBSERVABILITY_GATE {
            let artifact = store::artifacts::by_id(&mut conn, artifact_id).await?.context("the artifact is gone")?;
            let service =
                store::services::by_name(&mut conn, &artifact.service).await?.context("the service is gone")?;
            return Ok(if service.slo.is_empty() {
                GateOutcome::Failed(format!("{} has no SLO; declare one in its trains-as-code entry", service.name))
            } else {
                GateOutcome::Passed
            });
        }
        if gate == CONTRACT_GATE {
            drop(conn);
            return self.contract_gate(train_id, artifact_id).await;
        }
        if gate == COMPLIANCE_GATE {
            return Ok(compliance_outcome(store::approvals::standing(&mut conn, artifact_id).await?));
        }
        if gate == SCHEMA_GATE {
            let artifact = store::artifacts::by_id(&mut conn, artifact_id).await?.context("the artifact is gone")?;
            let irreversible = irreversible_migrations(&artifact.migrations);
            if irreversible.is_empty() {
                return Ok(GateOutcome::Passed);
            }
            let standing = store::approvals::standing(&mut conn, artifact_id).await?;
            return Ok(match compliance_outcome(standing) {
                GateOutcome::Awaiting(detail) => GateOutcome::Awaiting(format!(
                    "irreversible migration {} needs an approver's sign-off ({detail})",
                    irreversible.join(", ")
                )),
                other => other,
            });
        }
        let check = store::artifacts::latest_check(&mut conn, artifact_id, gate).await?;
        let Some(check) = check else {
            anyhow::bail!("no {gate} result has been reported for this artifact yet");
        };
        let status: CheckStatus = serde_json::from_value(serde_json::Value::String(check.status.clone()))?;
        let detail =
            if check.summary.is_empty() { check.name.clone() } else { format!("{}: {}", check.name, check.summary) };
        Ok(match status {
            CheckStatus::Passed => GateOutcome::Passed,
            CheckStatus::Failed => GateOutcome::Failed(detail),
            CheckStatus::Errored => anyhow::bail!("the {gate} check errored ({detail})"),
        })
    }

    /// The API-contract gate: blocked when, after this train, a consumer
    /// (on it or in production) requires a contract version nobody provides
    /// and this candidate requires it or stopped providing it.
    async fn contract_gate(&self, train_id: &str, artifact_id: &str) -> anyhow::Result<GateOutcome> {
        let run = runtime::load(&self.db, train_id).await?;
        let mut conn = self.db.acquire().await?;
        let party = |a: store::artifacts::Artifact, place| Party {
            contracts: Contracts::parse_stored(&a.contracts),
            service: a.service,
            version: a.version,
            place,
        };
        let mut on_train = Vec::new();
        for candidate in run.candidates.iter().filter(|c| c.boarded() || c.artifact_id == artifact_id) {
            if let Some(artifact) = store::artifacts::by_id(&mut conn, &candidate.artifact_id).await? {
                on_train.push(party(artifact, Place::Train));
            }
        }
        let production: Vec<Party> = store::artifacts::in_production(&mut conn)
            .await?
            .into_iter()
            .map(|a| party(a, Place::Production))
            .collect();
        let artifact = store::artifacts::by_id(&mut conn, artifact_id).await?.context("the artifact is gone")?;
        let previous = production.iter().find(|p| p.service == artifact.service).map(|p| p.contracts.clone());
        let found = contracts::mismatches(&contracts::after_train(on_train, production));
        let blamed = contracts::blamed_on(&artifact.service, previous.as_ref(), &found);
        Ok(if blamed.is_empty() {
            GateOutcome::Passed
        } else {
            GateOutcome::Blocked(blamed.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))
        })
    }

    /// Deploys (or rolls back) step `step` through the definition's deployer.
    /// `only` names the services a rollback restores (none: every service on board).
    async fn release(
        &self,
        context: &EffectContext,
        step: usize,
        action: &str,
        only: &[String],
    ) -> anyhow::Result<Deployment> {
        let mut conn = self.db.acquire().await?;
        let definition = self.definition_of(&mut conn, &context.train_id).await?;
        if definition.deployer == "simulated" {
            tracing::info!(train = %context.train_id, step, action, key = %context.key, "simulated deployer: done");
        }
        let run = runtime::load(&self.db, &context.train_id).await?;
        let rollout_step = run.rollout.get(step).context("no such rollout step")?;
        let kind = store::trains::kind_of(&mut conn, &context.train_id).await?;
        if rollout_step.environment == Environment::Production && !kind.reaches_production() {
            anyhow::bail!("a {kind} train never deploys to production ({} refused)", rollout_step.name);
        }
        let cargo = store::artifacts::cargo(&mut conn, &context.train_id).await?;
        let mut on_board: Vec<_> = cargo
            .into_iter()
            .filter(|c| if only.is_empty() { c.status == "boarded" } else { only.contains(&c.service) })
            .collect();
        // Providers deploy before their consumers; a rollback undoes consumers first.
        let graph = crate::fleet::dependency_graph(&mut conn).await?;
        let order: Vec<String> = {
            let names: Vec<&str> = on_board.iter().map(|c| c.service.as_str()).collect();
            graph.rollout_order(&names).into_iter().map(str::to_owned).collect()
        };
        on_board.sort_by_key(|c| order.iter().position(|s| s == &c.service));
        if action == "rollback" {
            on_board.reverse();
        }
        let mut restore = Vec::new();
        if action == "rollback" {
            for candidate in &on_board {
                if let Some(previous) = store::artifacts::last_shipped(&mut conn, &candidate.service).await? {
                    restore.push(ReleasedArtifact {
                        service: previous.service,
                        version: previous.version,
                        digest: previous.digest,
                    });
                }
            }
        }
        drop(conn);
        let payload = ReleasePayload {
            action: action.to_owned(),
            train_id: context.train_id.clone(),
            definition: definition.name.clone(),
            step: ReleaseStep {
                index: step,
                name: rollout_step.name.clone(),
                environment: match rollout_step.environment {
                    Environment::Staging => "staging".into(),
                    Environment::Production => "production".into(),
                },
                weight: rollout_step.weight,
                region: rollout_step.region.clone(),
            },
            artifacts: on_board
                .into_iter()
                .map(|c| ReleasedArtifact { service: c.service, version: c.version, digest: c.digest })
                .collect(),
            restore,
        };
        let running = match definition.deployer.as_str() {
            "gitops" => {
                self.gitops.release(&definition.gitops_repo, &definition.gitops_branch, &payload).await?;
                return Ok(Deployment::Done); // Argo CD or Flux applies it; nothing reports back yet
            }
            "webhook" => {
                let secret = std::env::var(&definition.webhook_secret_env).with_context(|| {
                    format!("the webhook secret variable {} is not set for this server", definition.webhook_secret_env)
                })?;
                let timestamp = to_ms(self.clock.now()) / 1000;
                let url = match rollout_step.environment {
                    Environment::Staging if !definition.staging_webhook_url.is_empty() => {
                        &definition.staging_webhook_url
                    }
                    _ => &definition.webhook_url,
                };
                let report = self.webhook.send(url, secret.as_bytes(), &context.key, timestamp, &payload).await?;
                if report.pending() {
                    return Ok(Deployment::Pending);
                }
                report.running
            }
            // The simulated deployer runs exactly what it was given.
            _ => payload
                .artifacts
                .iter()
                .map(|a| RunningDigest { service: a.service.clone(), digest: a.digest.clone() })
                .collect(),
        };
        if action == "deploy" {
            let now = to_ms(self.clock.now());
            let shipped = &payload.artifacts;
            record_digests(&self.db, now, &context.train_id, step, shipped, &payload.step.environment, running).await?;
        }
        Ok(Deployment::Done)
    }

    /// Posts `text` to the train's domain's incoming webhook, if it wants `notice`.
    async fn post_notice(&self, train_id: &str, notice: Notice, text: &str) -> anyhow::Result<()> {
        let mut conn = self.db.acquire().await?;
        let definition = self.definition_of(&mut conn, train_id).await?;
        let domains = store::domains::list(&mut conn).await?;
        drop(conn);
        let domain =
            domains.into_iter().find(|d| d.id == definition.domain_id).context("the train's domain is gone")?;
        let wanted: Vec<Notice> = serde_json::from_str(&domain.notify_on).unwrap_or_default();
        if domain.notify_webhook_env.is_empty() || !wanted.contains(&notice) {
            tracing::info!(train = %train_id, ?notice, text, "notification (no webhook for it)");
            return Ok(());
        }
        let url = std::env::var(&domain.notify_webhook_env).with_context(|| {
            format!("the notification variable {} is not set for this server", domain.notify_webhook_env)
        })?;
        let text = format!("[{}] {}: {text}", domain.name, definition.name);
        let message = serde_json::json!({ "text": crate::markdown::escape_slack(&text) });
        // The URL is the secret (Slack's carry their token in the path): errors name only its host.
        let shown = redact::url_for_display(&url);
        let response = self.notifier.post(&url).json(&message).send().await.map_err(|error| {
            anyhow::anyhow!("the notification webhook at {shown} did not answer: {}", error.without_url())
        })?;
        if !response.status().is_success() {
            anyhow::bail!("the notification webhook at {shown} answered {}", response.status());
        }
        Ok(())
    }

    async fn verdict(&self, context: &EffectContext, step: usize) -> anyhow::Result<(Verdict, String)> {
        let train_id = &context.train_id;
        let run = runtime::load(&self.db, train_id).await?;
        let services: Vec<String> = run.candidates.iter().filter(|c| c.boarded()).map(|c| c.service.clone()).collect();
        let definition = {
            let mut conn = self.db.acquire().await?;
            self.definition_of(&mut conn, train_id).await?
        };
        let soak_ms = run.rollout.get(step).map_or(0, |s| s.soak_ms).max(60_000);
        let end = context.now;
        let judgement = if definition.metrics_provider == "prometheus" {
            let metrics: Vec<CanaryMetric> =
                serde_json::from_str(&definition.metrics).context("reading the definition's metrics")?;
            let url = &definition.prometheus_url;
            let environment = match run.rollout.get(step).map(|s| s.environment) {
                Some(Environment::Staging) => "staging",
                _ => "production",
            };
            let target = (services.as_slice(), environment);
            prometheus::canary_verdict(&self.prometheus, url, &metrics, target, end - soak_ms, end).await
        } else {
            self.metrics.judge(train_id, step, &services, (end - soak_ms, end))
        };
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

/// Stores what an environment runs next to what the train shipped (M12).
pub async fn record_digests(
    db: &Db,
    now: i64,
    train_id: &str,
    step: usize,
    shipped: &[ReleasedArtifact],
    environment: &str,
    running: Vec<RunningDigest>,
) -> anyhow::Result<()> {
    let mut conn = db.acquire().await?;
    for report in running {
        let Some(expected) = shipped.iter().find(|a| a.service == report.service) else { continue };
        let record = store::digests::DigestReport {
            train_id: train_id.to_owned(),
            step: i64::try_from(step)?,
            service: report.service,
            environment: environment.to_owned(),
            expected_digest: expected.digest.clone(),
            running_digest: report.digest,
            reported_at: now,
        };
        store::digests::record(&mut conn, &record).await?;
    }
    Ok(())
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

impl Integrations for FleetIntegrations {
    fn assemble<'a>(&'a self, context: &'a EffectContext) -> BoxFuture<'a, anyhow::Result<Vec<Boarding>>> {
        Box::pin(self.boarding(&context.train_id))
    }

    fn run_gate<'a>(
        &'a self,
        context: &'a EffectContext,
        artifact_id: &'a str,
        gate: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<GateOutcome>> {
        Box::pin(self.gate(&context.train_id, context.now, artifact_id, gate))
    }

    fn check_burn<'a>(&'a self, context: &'a EffectContext, _: usize) -> BoxFuture<'a, anyhow::Result<Burn>> {
        Box::pin(self.burn(&context.train_id, context.now))
    }

    fn measure<'a>(&'a self, context: &'a EffectContext, from: i64, to: i64) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(self.measure_release(&context.train_id, from, to, context.now))
    }

    fn deploy<'a>(&'a self, context: &'a EffectContext, step: usize) -> BoxFuture<'a, anyhow::Result<Deployment>> {
        Box::pin(self.release(context, step, "deploy", &[]))
    }

    fn judge<'a>(
        &'a self,
        context: &'a EffectContext,
        step: usize,
    ) -> BoxFuture<'a, anyhow::Result<(Verdict, String)>> {
        Box::pin(self.verdict(context, step))
    }

    fn roll_back<'a>(
        &'a self,
        context: &'a EffectContext,
        step: usize,
        services: &'a [String],
    ) -> BoxFuture<'a, anyhow::Result<Deployment>> {
        Box::pin(self.release(context, step, "rollback", services))
    }

    fn reject<'a>(
        &'a self,
        context: &'a EffectContext,
        artifact_id: &'a str,
        reason: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let mut conn = self.db.acquire().await?;
            // A rehearsal's findings are recorded on the rehearsal; they do not bar the candidate for good.
            if store::trains::kind_of(&mut conn, &context.train_id).await? == TrainKind::Rehearsal {
                tracing::info!(train = %context.train_id, artifact_id, reason, "rehearsal: candidate not rejected");
                return Ok(());
            }
            store::artifacts::reject(&mut conn, artifact_id, reason, to_ms(self.clock.now())).await?;
            Ok(())
        })
    }

    fn reinstate<'a>(
        &'a self,
        _: &'a EffectContext,
        artifact_id: &'a str,
        reason: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let mut conn = self.db.acquire().await?;
            if store::artifacts::reinstate(&mut conn, artifact_id).await? {
                tracing::info!(artifact_id, reason, "rejection lifted by an override");
            }
            Ok(())
        })
    }

    fn notify<'a>(
        &'a self,
        context: &'a EffectContext,
        notice: Notice,
        text: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(self.post_notice(&context.train_id, notice, text))
    }
}

/// The names of the irreversible migrations in an artifact's stored migrations (JSON).
pub fn irreversible_migrations(migrations: &str) -> Vec<String> {
    serde_json::from_str::<Vec<Migration>>(migrations)
        .unwrap_or_default()
        .into_iter()
        .filter(|m| !m.reversible)
        .map(|m| m.name)
        .collect()
}

/// The compliance gate's answer for a candidate's approval standing.
pub fn compliance_outcome(standing: store::approvals::Standing) -> GateOutcome {
    use store::approvals::Standing;
    match standing {
        Standing::Approved { .. } => GateOutcome::Passed,
        Standing::Rejected { by, comment } => GateOutcome::Failed(format!("rejected by {by}: {comment}")),
        Standing::Pending { approved, required } => {
            GateOutcome::Awaiting(format!("{approved} of {required} approvals; asked the domain's approvers"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::judge_metric;

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
            window_start: 0,
            window_end: 60_000,
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
