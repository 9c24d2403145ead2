//! The watcher, run by the leader: each pass polls Argo CD for every object
//! still waiting, concludes releases whose answer is complete, holds trains
//! whose release is past its deadline (once), and lets go of waits whose
//! train has ended. After a restart it simply carries on from the store.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::argocd::ArgoCdClient;
use super::{conclude, observe, record_running, settings_of, short, Ancestry};
use crate::engine::{Environment, Event};
use crate::gitops::controller::argocd;
use crate::gitops::{Controller, GitopsSettings, Report};
use crate::read_cache::ReadCaches;
use crate::runtime::{self, RuntimeError};
use crate::service::deployments::{release_of, Release};
use crate::store::gitops_waits::{ObjectState, Wait};
use crate::store::{self, Db};
use crate::time::Instant;
use crate::train_state::TrainState;

/// Polls and settles GitOps waits.
pub struct Watcher {
    db: Db,
    argo: ArgoCdClient,
    ancestry: Ancestry,
}

impl Watcher {
    /// A watcher over `db` whose Argo CD requests give up after `timeout`.
    pub fn new(db: Db, timeout: Duration) -> anyhow::Result<Self> {
        Ok(Self { db, argo: ArgoCdClient::new(timeout)?, ancestry: Ancestry::default() })
    }

    /// One pass over every open wait; answers how many trains it moved.
    pub async fn pass(&self, now: Instant) -> anyhow::Result<usize> {
        let mut conn = self.db.acquire().await?;
        let waits = store::gitops_waits::open(&mut conn).await?;
        drop(conn);
        let mut releases: BTreeMap<String, Vec<Wait>> = BTreeMap::new();
        for wait in waits {
            releases.entry(wait.effect_key.clone()).or_default().push(wait);
        }
        let mut moved = self.monitor(now).await?;
        for (key, objects) in releases {
            match self.release(&key, &objects, now).await {
                Ok(true) => moved += 1,
                Ok(false) => {}
                Err(error) => {
                    tracing::warn!(%key, error = %format!("{error:#}"), "checking a gitops release failed; will try again")
                }
            }
        }
        Ok(moved)
    }

    async fn release(&self, key: &str, objects: &[Wait], now: Instant) -> anyhow::Result<bool> {
        let Some(first) = objects.first() else { return Ok(false) };
        let train_id = first.train_id.as_str();
        let ended = match runtime::load(&self.db, train_id).await {
            Ok(run) => run.phase.is_final(),
            Err(RuntimeError::NotFound(_)) => true,
            Err(other) => return Err(other.into()),
        };
        let settings = settings_of(&self.db, train_id).await?;
        let Some(settings) = settings.filter(|_| !ended) else {
            let mut conn = self.db.acquire().await?;
            store::gitops_waits::settle(&mut conn, key, now).await?;
            return Ok(false);
        };
        if let Controller::ArgoCd { url, token_env, app_namespace, .. } = &settings.controller {
            for wait in objects.iter().filter(|w| w.state == ObjectState::Waiting) {
                let report = match self.argo.application(url, token_env, &wait.object, app_namespace.as_deref()).await {
                    Ok(application) => argocd::report(&application),
                    Err(error) => Report::Waiting(format!("{error:#}")),
                };
                observe(&self.db, &self.ancestry, &settings, wait, settings.controller.name(), report).await?;
            }
        }
        if conclude(&self.db, &settings, key, now).await? {
            return Ok(true);
        }
        if now < first.deadline_at || first.overdue() {
            return Ok(false);
        }
        self.overdue(&settings, key, now).await
    }

    /// While a train is monitored, asks Argo CD what each Application its production steps
    /// touched runs now (the last step per Application): drift shows up here. Answers how many
    /// trains heard of a drift change.
    async fn monitor(&self, now: Instant) -> anyhow::Result<usize> {
        let mut conn = self.db.acquire().await?;
        let trains = store::trains::ids_in_state(&mut conn, TrainState::Monitoring).await?;
        drop(conn);
        let mut moved = 0;
        for train_id in trains {
            let Some(settings) = settings_of(&self.db, &train_id).await? else { continue };
            let Controller::ArgoCd { url, token_env, app_namespace, .. } = &settings.controller else { continue };
            let run = runtime::load(&self.db, &train_id).await?;
            let services: Vec<&str> =
                run.candidates.iter().filter(|c| c.boarded()).map(|c| c.service.as_str()).collect();
            let mut last_step_of: BTreeMap<String, usize> = BTreeMap::new();
            for record in run.steps.iter().filter(|r| r.succeeded == Some(true)) {
                let Some(step) = run.rollout.get(record.step) else { continue };
                if step.environment != Environment::Production {
                    continue;
                }
                for object in settings.objects(&services, step.environment, step.region.as_deref()).unwrap_or_default()
                {
                    last_step_of.insert(object, record.step);
                }
            }
            let mut changes = 0;
            for (object, step) in last_step_of {
                match self.argo.application(url, token_env, &object, app_namespace.as_deref()).await {
                    Ok(application) => {
                        let images = application.status.summary.images;
                        let target = (train_id.as_str(), step);
                        changes += record_running(&self.db, &settings, target, &images, now).await?;
                    }
                    Err(error) => {
                        tracing::warn!(train = %train_id, %object, error = %format!("{error:#}"), "reading what runs failed")
                    }
                }
            }
            if changes > 0 {
                moved += 1;
            }
        }
        Ok(moved)
    }

    /// Holds the train for a release past its deadline, saying what each object last reported.
    async fn overdue(&self, settings: &GitopsSettings, key: &str, now: Instant) -> anyhow::Result<bool> {
        let mut conn = self.db.acquire().await?;
        let objects = store::gitops_waits::open_release(&mut conn, key).await?;
        drop(conn);
        let (Some(first), Some((train_id, release, step))) = (objects.first(), release_of(key)) else {
            return Ok(false);
        };
        let controller = settings.controller.name();
        let waiting: Vec<String> = objects
            .iter()
            .filter(|o| o.state != ObjectState::Applied)
            .map(|o| {
                if o.detail.is_empty() {
                    format!("{}: no report", o.object)
                } else {
                    format!("{}: {}", o.object, o.detail)
                }
            })
            .collect();
        let detail = format!(
            "{controller} has not applied revision {} after {} ({})",
            short(&first.revision),
            minutes(first.deadline_at - first.started_at),
            waiting.join("; ")
        );
        let event = match release {
            Release::Deploy => Event::DeployOverdue { step, detail },
            Release::Rollback => Event::RollbackFailed { step, detail },
            Release::ServiceRollback => Event::ServicesRolledBack { index: step, ok: false, detail },
        };
        match runtime::apply(&self.db, train_id, &event, "gitops", now).await {
            Ok(_) | Err(RuntimeError::NotFound(_)) => {}
            Err(other) => return Err(other.into()),
        }
        let mut conn = self.db.acquire().await?;
        store::gitops_waits::mark_overdue(&mut conn, key).await?;
        Ok(true)
    }
}

/// A deadline in words: "10 min", "90 s".
fn minutes(ms: i64) -> String {
    if ms % 60_000 == 0 {
        format!("{} min", ms / 60_000)
    } else {
        format!("{} s", ms / 1000)
    }
}

/// Passes every `interval` until `shutdown`.
pub async fn run(
    watcher: Arc<Watcher>,
    caches: Arc<ReadCaches>,
    clock: Arc<dyn crate::clock::Clock>,
    interval: Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        match watcher.pass(clock.instant()).await {
            Ok(0) => {}
            Ok(_) => caches.changed(),
            Err(error) => {
                tracing::warn!(error = %format!("{error:#}"), "watching gitops releases failed; will try again")
            }
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            break;
        }
    }
}
