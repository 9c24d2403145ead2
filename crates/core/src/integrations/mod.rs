//! The runtime's integrations for a fleet, by capability: assembly and
//! gates read the store; each definition's settings pick its deployer
//! (`deploy/`: webhook, gitops, or the labelled simulated one) and its
//! metrics provider (`metrics/`: Prometheus, or the labelled simulated
//! one); notices go through a notifier (`notify/`).

mod assembly;
pub mod budget_samples;
mod budgets;
pub mod canary;
pub mod deploy;
mod gates;
pub mod metrics;
mod notices;
pub mod notify;
pub mod redact;
mod release;

use std::sync::Arc;

use anyhow::Context;

pub use assembly::irreversible_migrations;
pub use canary::Judgement;
pub use deploy::{gitops, webhook, webhook::WebhookDeployer};
pub use metrics::{prometheus, simulated::SimulatedMetrics};
pub use release::record_digests;

use crate::clock::Clock;
use crate::engine::{Boarding, Burn, GateOutcome, Notice, Verdict};
use crate::runtime::{BoxFuture, Deployment, EffectContext, Integrations};
use crate::store::{self, definitions::Definition, Db};
use crate::time::Instant;
use crate::train_kind::TrainKind;

/// Integrations backed by the store, with the deployers, metrics providers
/// and notifier the definitions name.
pub struct FleetIntegrations {
    db: Db,
    clock: Arc<dyn Clock>,
    deployers: deploy::Deployers,
    metrics: metrics::MetricsProviders,
    notifier: notify::slack::SlackWebhook,
    /// Where people reach Railyard (links in notifications).
    public_url: String,
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
        let client = reqwest::Client::builder().timeout(timeouts.webhook).build()?;
        let deployers =
            deploy::Deployers { webhook: WebhookDeployer::new(timeouts.webhook)?, gitops: gitops::GitopsDeployer };
        let metrics = metrics::MetricsProviders {
            simulated: metrics,
            prometheus: prometheus::PrometheusProvider::new(timeouts.prometheus)?,
        };
        let notifier = notify::slack::SlackWebhook { client };
        Ok(Self { db, clock, deployers, metrics, notifier, public_url: "http://127.0.0.1:3000".into() })
    }

    /// Links in notifications point at `public_url` (default `http://127.0.0.1:3000`).
    pub fn with_public_url(mut self, public_url: &str) -> Self {
        public_url.trim_end_matches('/').clone_into(&mut self.public_url);
        self
    }

    async fn definition_of(&self, conn: &mut store::Conn, train_id: &str) -> anyhow::Result<Definition> {
        let definition_id = store::trains::definition_id_of(conn, train_id).await?.context("the train is gone")?;
        store::definitions::by_id(conn, &definition_id).await?.context("the train's definition is gone")
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

    fn measure<'a>(
        &'a self,
        context: &'a EffectContext,
        from: Instant,
        to: Instant,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
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
            store::artifacts::reject(&mut conn, artifact_id, reason, self.clock.instant()).await?;
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
