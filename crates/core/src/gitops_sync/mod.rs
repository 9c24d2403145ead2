//! Waiting for the GitOps controller. A pushed release is deployed (or
//! rolled back) when Argo CD or Flux reports every object it touched applied
//! and healthy at the pushed revision or a later one; a failure there fails
//! the step (and the engine rolls back); no answer by the deadline holds the
//! train. Argo CD is polled ([`watch`]); Flux posts its events
//! (`service::gitops`). Both record what they hear with [`observe`], and
//! [`conclude`] turns a complete answer into the engine's event.

pub mod argocd;
pub mod watch;

use std::collections::HashMap;
use std::sync::Mutex;

use crate::candidate::CandidateStatus;
use crate::delivery::DeployerSettings;
use crate::digest::short_digest;
use crate::engine::{Event, RolloutStep};
use crate::gitops::controller::{commit_of, same_revision};
use crate::gitops::{GitopsSettings, Place, Report};
use crate::integrations::deploy::{ReleasedArtifact, RunningDigest};
use crate::integrations::gitops::GitopsDeployer;
use crate::integrations::record_digests;
use crate::runtime::{self, RuntimeError};
use crate::service::deployments::{finished, release_of, Release};
use crate::store::gitops_waits::{ObjectState, Wait};
use crate::store::{self, Db};
use crate::time::Instant;

/// Answers "does this later commit include the pushed one?", remembering answers.
#[derive(Default)]
pub struct Ancestry {
    git: GitopsDeployer,
    known: Mutex<HashMap<(String, String), bool>>,
}

impl Ancestry {
    /// Whether `reported` (a controller's revision) is the `pushed` commit or a later one containing it.
    pub async fn includes(&self, settings: &GitopsSettings, pushed: &str, reported: &str) -> anyhow::Result<bool> {
        if same_revision(reported, pushed) {
            return Ok(true);
        }
        let key = (pushed.to_owned(), commit_of(reported).to_owned());
        if let Some(known) = self.known.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.get(&key) {
            return Ok(*known);
        }
        let answer = self.git.includes(settings, &key.0, &key.1).await?;
        self.known.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.insert(key, answer);
        Ok(answer)
    }
}

/// The first characters of a commit, as people read them.
pub fn short(revision: &str) -> &str {
    let commit = commit_of(revision);
    commit.get(..7).unwrap_or(commit)
}

/// Records what `controller` (`Argo CD`, `Flux`) says about one waiting object.
pub async fn observe(
    db: &Db,
    ancestry: &Ancestry,
    settings: &GitopsSettings,
    wait: &Wait,
    controller: &str,
    report: Report,
) -> anyhow::Result<()> {
    let ours = short(&wait.revision);
    let (state, detail, images) = match report {
        Report::Waiting(why) => (ObjectState::Waiting, why, Vec::new()),
        Report::Applied { revision, images } => {
            if ancestry.includes(settings, &wait.revision, &revision).await? {
                (ObjectState::Applied, format!("{controller} applied {}", short(&revision)), images)
            } else {
                let detail = format!("{controller} reports {} applied, not yet {ours}", short(&revision));
                (ObjectState::Waiting, detail, Vec::new())
            }
        }
        Report::Failed { revision: Some(revision), why }
            if !ancestry.includes(settings, &wait.revision, &revision).await? =>
        {
            (ObjectState::Waiting, format!("{why}, at the earlier revision {}", short(&revision)), Vec::new())
        }
        Report::Failed { why, .. } => (ObjectState::Failed, why, Vec::new()),
    };
    let mut conn = db.acquire().await?;
    store::gitops_waits::report(&mut conn, &wait.effect_key, &wait.object, state, &detail, &images).await?;
    Ok(())
}

/// When every object of release `key` (of a definition with `settings`) has answered (or one
/// failed), gives the train its event and ends the wait. Answers whether it did.
pub async fn conclude(db: &Db, settings: &GitopsSettings, key: &str, now: Instant) -> anyhow::Result<bool> {
    let mut conn = db.acquire().await?;
    let objects = store::gitops_waits::open_release(&mut conn, key).await?;
    let Some(first) = objects.first() else { return Ok(false) };
    let Some((train_id, release, step)) = release_of(key) else {
        store::gitops_waits::settle(&mut conn, key, now).await?;
        return Ok(false);
    };
    let failed = objects.iter().find(|o| o.state == ObjectState::Failed);
    let (ok, detail) = match failed {
        Some(failed) => (false, format!("{}: {}", failed.object, failed.detail)),
        None if objects.iter().all(|o| o.state == ObjectState::Applied) => {
            let names: Vec<&str> = objects.iter().map(|o| o.object.as_str()).collect();
            (true, format!("{} applied {} ({})", settings.controller.name(), short(&first.revision), names.join(", ")))
        }
        None => return Ok(false),
    };
    drop(conn);
    let event = finished(release, step, ok, detail);
    match runtime::apply(db, train_id, &event, "gitops", now).await {
        Ok(_) | Err(RuntimeError::NotFound(_)) => {}
        Err(other) => return Err(other.into()),
    }
    if ok && release == Release::Deploy {
        let images: Vec<String> = objects.iter().flat_map(|o| o.images.0.clone()).collect();
        record_running(db, settings, (train_id, step), &images, now).await?;
    }
    let mut conn = db.acquire().await?;
    store::gitops_waits::settle(&mut conn, key, now).await?;
    Ok(true)
}

/// The gitops settings of `train_id`'s definition, if it uses the gitops deployer.
pub async fn settings_of(db: &Db, train_id: &str) -> anyhow::Result<Option<GitopsSettings>> {
    let mut conn = db.acquire().await?;
    let Some(definition_id) = store::trains::definition_id_of(&mut conn, train_id).await? else { return Ok(None) };
    let Some(definition) = store::definitions::by_id(&mut conn, &definition_id).await? else { return Ok(None) };
    Ok(match definition.deployer_settings() {
        Ok(DeployerSettings::Gitops(settings)) => Some(*settings),
        _ => None,
    })
}

/// A completed step and what its train shipped: what reports of what runs are compared with.
struct Target {
    train_id: String,
    step: usize,
    rollout_step: RolloutStep,
    shipped: Vec<ReleasedArtifact>,
}

impl Target {
    async fn load(db: &Db, train_id: &str, step: usize) -> anyhow::Result<Option<Self>> {
        let run = runtime::load(db, train_id).await?;
        let Some(rollout_step) = run.rollout.get(step).cloned() else { return Ok(None) };
        let mut conn = db.acquire().await?;
        let shipped = store::artifacts::cargo(&mut conn, train_id)
            .await?
            .into_iter()
            .filter(|c| c.status == CandidateStatus::Boarded)
            .map(|c| ReleasedArtifact { service: c.service, version: c.version, digest: c.digest })
            .collect();
        Ok(Some(Self { train_id: train_id.to_owned(), step, rollout_step, shipped }))
    }

    fn place<'a>(&'a self, service: &'a str) -> Place<'a> {
        Place { service, environment: self.rollout_step.environment, region: self.rollout_step.region.as_deref() }
    }
}

/// Records the images the controller (Argo CD) reports running at `step` against what the train
/// shipped (M12); answers how many services started or stopped drifting.
pub async fn record_running(
    db: &Db,
    settings: &GitopsSettings,
    (train_id, step): (&str, usize),
    images: &[String],
    now: Instant,
) -> anyhow::Result<usize> {
    if images.is_empty() {
        return Ok(0);
    }
    let Some(target) = Target::load(db, train_id, step).await? else { return Ok(0) };
    let mut running = Vec::new();
    for artifact in &target.shipped {
        let Ok(repository) = settings.image.render(target.place(&artifact.service)) else { continue };
        // The stable and canary deployments may both run the repository: the shipped digest wins if any runs it.
        let digests: Vec<&str> = images
            .iter()
            .filter(|image| names_repository(image, &repository))
            .map(|image| image.split_once('@').map_or(image.as_str(), |(_, digest)| digest))
            .collect();
        let shipped = digests.iter().find(|d| **d == artifact.digest).or(digests.first());
        if let Some(digest) = shipped {
            running.push(RunningDigest { service: artifact.service.clone(), digest: (*digest).to_owned() });
        }
    }
    record_reports(db, &target, running, now).await
}

/// Records what Flux applied for `object` after `step`: the services it applies run what shipped
/// when `revision` includes the step's commit (`includes`), and something else (`git:<commit>`) when
/// it does not. Answers how many services started or stopped drifting.
pub async fn record_revision(
    db: &Db,
    settings: &GitopsSettings,
    (train_id, step): (&str, usize),
    object: &str,
    revision: &str,
    includes: bool,
    now: Instant,
) -> anyhow::Result<usize> {
    let Some(target) = Target::load(db, train_id, step).await? else { return Ok(0) };
    let running = target
        .shipped
        .iter()
        .filter(|artifact| {
            let place = target.place(&artifact.service);
            settings.objects(&[&artifact.service], place.environment, place.region).unwrap_or_default() == [object]
        })
        .map(|artifact| RunningDigest {
            service: artifact.service.clone(),
            digest: if includes { artifact.digest.clone() } else { format!("git:{}", short(revision)) },
        })
        .collect();
    record_reports(db, &target, running, now).await
}

/// Stores `running` against what `target` shipped; a service that starts or stops running
/// something else goes on the train's timeline (and, starting, out as a notice).
async fn record_reports(db: &Db, target: &Target, running: Vec<RunningDigest>, now: Instant) -> anyhow::Result<usize> {
    let environment = target.rollout_step.environment;
    let region = target.rollout_step.region.as_deref();
    let place = match region {
        Some(region) => format!("{environment} {region}"),
        None => environment.to_string(),
    };
    let mut events = Vec::new();
    let mut conn = db.acquire().await?;
    for report in &running {
        let Some(expected) = target.shipped.iter().find(|a| a.service == report.service) else { continue };
        let before =
            store::digests::latest(&mut conn, &report.service, environment, region.unwrap_or_default()).await?;
        let drifting = report.digest != expected.digest;
        if drifting == before.is_some_and(|b| b.drifted()) {
            continue;
        }
        let detail = if drifting {
            format!(
                "drift: {} in {place} runs {}, not {} as shipped",
                report.service,
                short_digest(&report.digest),
                short_digest(&expected.digest)
            )
        } else {
            format!("drift resolved: {} in {place} runs {} as shipped", report.service, short_digest(&expected.digest))
        };
        events.push(Event::Drift { service: report.service.clone(), environment, drifting, detail });
    }
    drop(conn);
    let (train_id, step) = (target.train_id.as_str(), target.step);
    record_digests(db, now, train_id, step, &target.shipped, (environment, region), running).await?;
    for event in &events {
        match runtime::apply(db, train_id, event, "gitops", now).await {
            // A finished train keeps no timeline; the drift is still on the dashboard and in /metrics.
            Ok(_) | Err(RuntimeError::NotFound(_) | RuntimeError::Refused(_)) => {}
            Err(other) => return Err(other.into()),
        }
    }
    Ok(events.len())
}

/// Whether image reference `image` (`repo@sha256:…`, `repo:tag`) is of `repository`.
fn names_repository(image: &str, repository: &str) -> bool {
    image.strip_prefix(repository).is_some_and(|rest| rest.is_empty() || rest.starts_with(['@', ':']))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_reference_names_its_repository_exactly() {
        assert!(names_repository("ghcr.io/acme/ledger@sha256:ab", "ghcr.io/acme/ledger"));
        assert!(names_repository("ghcr.io/acme/ledger:1.0", "ghcr.io/acme/ledger"));
        assert!(!names_repository("ghcr.io/acme/ledger-canary@sha256:ab", "ghcr.io/acme/ledger"));
        assert_eq!(short("main@sha1:731f7eaddfb6af01cb2173e18f0f75b0ba780ef1"), "731f7ea");
    }
}
