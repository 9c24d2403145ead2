//! The runtime's integrations for a fleet: assembly, gates and carry-over
//! read and write the store (real); the deployer and metrics provider are
//! the labelled simulated ones (the only ones configurable so far).

mod simulated;

use std::sync::Arc;

use anyhow::Context;

pub use simulated::SimulatedMetrics;

use crate::artifacts::CheckStatus;
use crate::clock::Clock;
use crate::engine::{Boarding, GateOutcome, Notice, Verdict};
use crate::runtime::{self, BoxFuture, EffectContext, Integrations};
use crate::store::{self, Db};
use crate::time::to_ms;

/// Integrations backed by the store, with simulated deployments and metrics.
pub struct FleetIntegrations {
    db: Db,
    clock: Arc<dyn Clock>,
    metrics: SimulatedMetrics,
}

impl FleetIntegrations {
    /// Integrations over `db`, judging canaries on `metrics`.
    pub fn new(db: Db, clock: Arc<dyn Clock>, metrics: SimulatedMetrics) -> Self {
        Self { db, clock, metrics }
    }

    async fn boarding(&self, train_id: &str) -> anyhow::Result<Vec<Boarding>> {
        let mut conn = self.db.acquire().await?;
        let (definition_id,): (String,) = sqlx::query_as("SELECT definition_id FROM trains WHERE id = $1")
            .bind(train_id)
            .fetch_one(&mut *conn)
            .await
            .context("loading the train")?;
        let (gates,): (String,) = sqlx::query_as("SELECT gates FROM train_definitions WHERE id = $1")
            .bind(&definition_id)
            .fetch_one(&mut *conn)
            .await
            .context("loading the train definition")?;
        let gates: Vec<String> = serde_json::from_str(&gates).context("reading the definition's gates")?;
        let service_ids = store::definitions::service_ids(&mut conn, &definition_id).await?;
        let artifacts = store::artifacts::newest_boardable(&mut conn, &service_ids).await?;
        Ok(artifacts
            .into_iter()
            .map(|a| Boarding { artifact_id: a.id, service: a.service, gates: gates.clone() })
            .collect())
    }

    async fn gate(&self, artifact_id: &str, gate: &str) -> anyhow::Result<GateOutcome> {
        let mut conn = self.db.acquire().await?;
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

    async fn verdict(&self, train_id: &str, step: usize) -> anyhow::Result<(Verdict, String)> {
        let run = runtime::load(&self.db, train_id).await?;
        let services: Vec<String> = run.candidates.iter().filter(|c| c.boarded()).map(|c| c.service.clone()).collect();
        Ok(self.metrics.judge(train_id, step, &services))
    }
}

impl Integrations for FleetIntegrations {
    fn assemble<'a>(&'a self, context: &'a EffectContext) -> BoxFuture<'a, anyhow::Result<Vec<Boarding>>> {
        Box::pin(self.boarding(&context.train_id))
    }

    fn run_gate<'a>(
        &'a self,
        _: &'a EffectContext,
        artifact_id: &'a str,
        gate: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<GateOutcome>> {
        Box::pin(self.gate(artifact_id, gate))
    }

    fn deploy<'a>(&'a self, context: &'a EffectContext, step: usize) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            tracing::info!(train = %context.train_id, step, key = %context.key, "simulated deployer: step deployed");
            Ok(())
        })
    }

    fn judge<'a>(
        &'a self,
        context: &'a EffectContext,
        step: usize,
    ) -> BoxFuture<'a, anyhow::Result<(Verdict, String)>> {
        Box::pin(self.verdict(&context.train_id, step))
    }

    fn roll_back<'a>(&'a self, context: &'a EffectContext, step: usize) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            tracing::info!(train = %context.train_id, step, key = %context.key, "simulated deployer: previous version restored");
            Ok(())
        })
    }

    fn carry_over<'a>(
        &'a self,
        _: &'a EffectContext,
        artifact_id: &'a str,
        reason: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let mut conn = self.db.acquire().await?;
            store::artifacts::reject(&mut conn, artifact_id, reason, to_ms(self.clock.now())).await?;
            Ok(())
        })
    }

    fn notify<'a>(
        &'a self,
        context: &'a EffectContext,
        notice: Notice,
        text: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            tracing::info!(train = %context.train_id, ?notice, text, "notification");
            Ok(())
        })
    }
}
