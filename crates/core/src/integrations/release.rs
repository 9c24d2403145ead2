//! Releasing a step: what is on board, in dependency order, to the
//! deployer the definition names; and what the environment says it runs.

use crate::candidate::CandidateStatus;
use anyhow::Context;

use super::deploy::{ReleasePayload, ReleaseRequest, ReleaseStep, Released, ReleasedArtifact, RunningDigest};
use super::FleetIntegrations;
use crate::delivery::DeployerSettings;
use crate::engine::Environment;
use crate::runtime::{self, Deployment, EffectContext};
use crate::store::{self, Db};
use crate::time::Instant;

impl FleetIntegrations {
    /// Deploys (or rolls back) step `step` through the definition's deployer.
    /// `only` names the services a rollback restores (none: every service on board).
    pub(super) async fn release(
        &self,
        context: &EffectContext,
        step: usize,
        action: &str,
        only: &[String],
    ) -> anyhow::Result<Deployment> {
        let mut conn = self.db.acquire().await?;
        let definition = self.definition_of(&mut conn, &context.train_id).await?;
        let run = runtime::load(&self.db, &context.train_id).await?;
        let rollout_step = run.rollout.get(step).context("no such rollout step")?;
        let kind = store::trains::kind_of(&mut conn, &context.train_id).await?;
        if rollout_step.environment == Environment::Production && !kind.reaches_production() {
            anyhow::bail!("a {kind} train never deploys to production ({} refused)", rollout_step.name);
        }
        let cargo = store::artifacts::cargo(&mut conn, &context.train_id).await?;
        let mut on_board: Vec<_> = cargo
            .into_iter()
            .filter(|c| if only.is_empty() { c.status == CandidateStatus::Boarded } else { only.contains(&c.service) })
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
                environment: rollout_step.environment,
                weight: rollout_step.weight,
                region: rollout_step.region.clone(),
            },
            artifacts: on_board
                .into_iter()
                .map(|c| ReleasedArtifact { service: c.service, version: c.version, digest: c.digest })
                .collect(),
            restore,
        };
        let settings = definition.deployer_settings()?;
        let request = ReleaseRequest {
            key: &context.key,
            payload: &payload,
            environment: rollout_step.environment,
            timestamp_s: self.clock.instant().ms() / 1000,
        };
        let running = match self.deployers.for_settings(&settings).release(&request).await? {
            Released::Pending => return Ok(Deployment::Pending),
            Released::Syncing { revision, objects } => {
                let DeployerSettings::Gitops(gitops) = &settings else { anyhow::bail!("only gitops releases sync") };
                let now = context.now;
                let deadline = now + gitops.sync_timeout_ms;
                let mut conn = self.db.acquire().await?;
                let train = context.train_id.as_str();
                store::gitops_waits::start(&mut conn, &context.key, train, &revision, &objects, now, deadline).await?;
                return Ok(Deployment::Pending);
            }
            Released::Done { running } => running,
        };
        if action == "deploy" {
            let now = self.clock.instant();
            let shipped = &payload.artifacts;
            let target = (payload.step.environment, payload.step.region.as_deref());
            record_digests(&self.db, now, &context.train_id, step, shipped, target, running).await?;
        }
        Ok(Deployment::Done)
    }
}

/// Stores what an environment runs next to what the train shipped (M12).
pub async fn record_digests(
    db: &Db,
    now: Instant,
    train_id: &str,
    step: usize,
    shipped: &[ReleasedArtifact],
    (environment, region): (Environment, Option<&str>),
    running: Vec<RunningDigest>,
) -> anyhow::Result<()> {
    let mut conn = db.acquire().await?;
    for report in running {
        let Some(expected) = shipped.iter().find(|a| a.service == report.service) else { continue };
        let record = store::digests::DigestReport {
            train_id: train_id.to_owned(),
            step: i64::try_from(step)?,
            service: report.service,
            environment,
            region: region.unwrap_or_default().to_owned(),
            expected_digest: expected.digest.clone(),
            running_digest: report.digest,
            reported_at: now,
        };
        store::digests::record(&mut conn, &record).await?;
    }
    Ok(())
}
