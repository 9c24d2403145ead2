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
    async fn includes(&self, settings: &GitopsSettings, pushed: &str, reported: &str) -> anyhow::Result<bool> {
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

/// When every object of release `key` has answered (or one failed), gives the train its
/// event and ends the wait. Answers whether it did.
pub async fn conclude(db: &Db, key: &str, now: Instant) -> anyhow::Result<bool> {
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
            (
                true,
                format!(
                    "{} applied {} ({})",
                    controller_name(db, train_id).await?,
                    short(&first.revision),
                    names.join(", ")
                ),
            )
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
        record_running(db, train_id, step, &images, now).await?;
    }
    let mut conn = db.acquire().await?;
    store::gitops_waits::settle(&mut conn, key, now).await?;
    Ok(true)
}

async fn controller_name(db: &Db, train_id: &str) -> anyhow::Result<&'static str> {
    Ok(match settings_of(db, train_id).await?.map(|s| s.controller) {
        Some(crate::gitops::Controller::Flux { .. }) => "Flux",
        Some(crate::gitops::Controller::ArgoCd { .. }) => "Argo CD",
        _ => "the controller",
    })
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

/// Records the images the controller reports running against what the train shipped (M12, drift).
async fn record_running(db: &Db, train_id: &str, step: usize, images: &[String], now: Instant) -> anyhow::Result<()> {
    if images.is_empty() {
        return Ok(());
    }
    let Some(settings) = settings_of(db, train_id).await? else { return Ok(()) };
    let run = runtime::load(db, train_id).await?;
    let Some(rollout_step) = run.rollout.get(step) else { return Ok(()) };
    let mut conn = db.acquire().await?;
    let shipped: Vec<ReleasedArtifact> = store::artifacts::cargo(&mut conn, train_id)
        .await?
        .into_iter()
        .filter(|c| c.status == CandidateStatus::Boarded)
        .map(|c| ReleasedArtifact { service: c.service, version: c.version, digest: c.digest })
        .collect();
    drop(conn);
    let mut running = Vec::new();
    for artifact in &shipped {
        let place = Place {
            service: &artifact.service,
            environment: rollout_step.environment,
            region: rollout_step.region.as_deref(),
        };
        let Ok(repository) = settings.image.render(place) else { continue };
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
    record_digests(db, now, train_id, step, &shipped, rollout_step.environment, running).await
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
