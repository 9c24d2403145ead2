//! The gitops deployer: writes a rollout step into the definition's GitOps
//! repository the way Argo CD or Flux apply it (kustomize overlays' images,
//! Helm values, HTTPRoute weights: `railyard_domain::gitops` decides what
//! changes), commits with the train, step, services and versions in the
//! message, and pushes the branch.
//!
//! Every commit carries a `Railyard-Key:` trailer with the effect's key, so a
//! retry after a commit that landed finds it and commits nothing. A push that
//! is rejected because another train pushed first is rebased (the edits are
//! made again on the new head) and retried, a bounded number of times.

use std::path::Path;

use anyhow::{bail, Context};
use tokio::process::Command;

use super::{Deployer, ReleasePayload, ReleaseRequest, Released, ReleasedArtifact};
use crate::gitops::{Build, FileEdit, GitopsSettings, Release};
use crate::runtime::BoxFuture;

/// How often a push rejected by newer commits is made again on top of them.
const PUSH_ATTEMPTS: usize = 5;

/// Commits release payloads with the `git` command line.
#[derive(Debug, Clone, Default)]
pub struct GitopsDeployer;

/// The commit that carries a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    pub revision: String,
    /// False when an earlier attempt (or identical content) already had it on the branch.
    pub committed: bool,
}

impl GitopsDeployer {
    /// Writes `payload` into the repository of `settings`, commits and pushes; the effect `key` marks the commit.
    pub async fn release(
        &self,
        settings: &GitopsSettings,
        key: &str,
        payload: &ReleasePayload,
    ) -> anyhow::Result<Pushed> {
        let work = tempfile::tempdir().context("making a scratch directory for the clone")?;
        let dir = work.path();
        let repo = settings.repository.as_str();
        let branch = settings.branch.as_str();
        git(dir, &["clone", "--quiet", "--no-tags", "--depth", "200", "--branch", branch, "--", repo, "."]).await?;
        let (shipped, restore) = (builds(&payload.artifacts), builds(&payload.restore));
        let release = Release {
            rollback: payload.action == "rollback",
            environment: payload.step.environment,
            region: payload.step.region.as_deref(),
            weight: payload.step.weight,
            builds: &shipped,
            restore: &restore,
        };
        let changes = settings.plan(&release).map_err(anyhow::Error::msg)?;
        let restores = changes.iter().any(|c| matches!(c.edit, FileEdit::Image(_)));
        let message = commit_message(key, payload, &release, restores);
        for _ in 0..PUSH_ATTEMPTS {
            if let Some(revision) = commit_of(dir, key).await? {
                return Ok(Pushed { revision, committed: false });
            }
            for change in &changes {
                let path = inside(dir, &change.path).await?;
                let existing = match tokio::fs::read_to_string(&path).await {
                    Ok(text) => Some(text),
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
                    Err(error) => return Err(error).with_context(|| format!("reading {}", change.path)),
                };
                let written = settings.apply(change, existing.as_deref())?;
                tokio::fs::write(&path, written).await.with_context(|| format!("writing {}", change.path))?;
            }
            git(dir, &["add", "--all"]).await?;
            if git(dir, &["diff", "--cached", "--quiet"]).await.is_ok() {
                // The branch already says exactly this (another train or a person wrote it).
                return Ok(Pushed { revision: head(dir).await?, committed: false });
            }
            let identity = ["-c", "user.name=Railyard", "-c", "user.email=railyard@localhost"];
            git(dir, &[&identity[..], &["commit", "--quiet", "-m", &message]].concat()).await?;
            match git(dir, &["push", "--quiet", "origin", &format!("HEAD:{branch}")]).await {
                Ok(_) => return Ok(Pushed { revision: head(dir).await?, committed: true }),
                Err(rejected) => {
                    tracing::info!(%key, error = %rejected, "gitops push refused; making the change again on the new head");
                    git(dir, &["fetch", "--quiet", "--depth", "200", "origin", branch]).await?;
                    git(dir, &["reset", "--quiet", "--hard", "FETCH_HEAD"]).await?;
                }
            }
        }
        bail!("the push to {branch} was refused {PUSH_ATTEMPTS} times while other commits kept landing; it will be tried again")
    }
}

impl GitopsDeployer {
    /// Whether commit `later` of the branch includes commit `earlier` (is it, or comes after it).
    pub async fn includes(&self, settings: &GitopsSettings, earlier: &str, later: &str) -> anyhow::Result<bool> {
        if earlier.eq_ignore_ascii_case(later) {
            return Ok(true);
        }
        let is_sha = |s: &str| (7..=64).contains(&s.len()) && s.chars().all(|c| c.is_ascii_hexdigit());
        if !is_sha(earlier) || !is_sha(later) {
            return Ok(false);
        }
        let work = tempfile::tempdir().context("making a scratch directory for the clone")?;
        let dir = work.path();
        let branch = settings.branch.as_str();
        git(dir, &["clone", "--quiet", "--bare", "--no-tags", "--branch", branch, "--", &settings.repository, "."])
            .await?;
        if git(dir, &["cat-file", "-e", &format!("{later}^{{commit}}")]).await.is_err() {
            return Ok(false); // not on the branch Railyard pushes
        }
        Ok(git(dir, &["merge-base", "--is-ancestor", earlier, later]).await.is_ok())
    }
}

fn builds(artifacts: &[ReleasedArtifact]) -> Vec<Build<'_>> {
    artifacts.iter().map(|a| Build { service: &a.service, version: &a.version, digest: &a.digest }).collect()
}

/// The commit message: what, where, which train and step, and the key a retry looks for.
fn commit_message(key: &str, payload: &ReleasePayload, release: &Release<'_>, restores: bool) -> String {
    let place = match &payload.step.region {
        Some(region) => format!("{} {region}", payload.step.environment),
        None => payload.step.environment.to_string(),
    };
    let list = |builds: &[Build<'_>]| builds.iter().map(|b| format!("{} {}", b.service, b.version)).collect::<Vec<_>>();
    let subject = if !release.rollback {
        format!("railyard: deploy {} to {place} at {}%", list(release.builds).join(", "), payload.step.weight)
    } else if !restores {
        format!("railyard: roll back {} in {place} (all traffic to stable)", list(release.builds).join(", "))
    } else {
        format!("railyard: roll back to {} in {place}", list(release.restore).join(", "))
    };
    let shipped: Vec<String> =
        payload.artifacts.iter().map(|a| format!("{} {} {}", a.service, a.version, a.digest)).collect();
    format!(
        "{subject}\n\nTrain: {}\nDefinition: {}\nStep: {} ({}%)\nServices: {}\nRailyard-Key: {key}\n",
        payload.train_id,
        payload.definition,
        payload.step.name,
        payload.step.weight,
        shipped.join("; ")
    )
}

/// The commit on the branch that carries `key`, if one does.
async fn commit_of(dir: &Path, key: &str) -> anyhow::Result<Option<String>> {
    let trailer = format!("Railyard-Key: {key}");
    let found = git(dir, &["log", "-n", "1", "--format=%H", "--fixed-strings", "--grep", &trailer, "HEAD"]).await?;
    Ok(Some(found.trim().to_owned()).filter(|found| !found.is_empty()))
}

async fn head(dir: &Path) -> anyhow::Result<String> {
    Ok(git(dir, &["rev-parse", "HEAD"]).await?.trim().to_owned())
}

/// `relative` inside the clone, its directories made; a path that leaves the clone (through a link) is refused.
async fn inside(dir: &Path, relative: &str) -> anyhow::Result<std::path::PathBuf> {
    let path = dir.join(relative);
    let parent = path.parent().context("the file has a directory")?;
    tokio::fs::create_dir_all(parent).await.with_context(|| format!("making the directory of {relative}"))?;
    let root = tokio::fs::canonicalize(dir).await?;
    let real_parent = tokio::fs::canonicalize(parent).await?;
    let is_link = tokio::fs::symlink_metadata(&path).await.is_ok_and(|m| m.file_type().is_symlink());
    if !real_parent.starts_with(&root) || is_link {
        bail!("{relative} leads out of the repository through a symbolic link; refusing to write it");
    }
    Ok(path)
}

/// Runs git in `dir`; answers its standard output.
async fn git(dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .await
        .context("running git (is it installed?)")?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        // git quotes the remote, which may carry credentials: never let them reach the timeline.
        let remotes: Vec<&str> = args.iter().copied().filter(|arg| arg.contains("://")).collect();
        let stderr = crate::integrations::redact::scrub(String::from_utf8_lossy(&output.stderr).trim(), &remotes);
        bail!("git {} failed: {stderr}", args.iter().find(|a| !a.starts_with('-') && !a.contains('=')).unwrap_or(&""))
    }
}

/// The gitops deployer bound to one definition's settings.
pub struct GitopsRelease<'a> {
    pub committer: &'a GitopsDeployer,
    pub settings: &'a GitopsSettings,
}

impl Deployer for GitopsRelease<'_> {
    fn release<'a>(&'a self, request: &'a ReleaseRequest<'a>) -> BoxFuture<'a, anyhow::Result<Released>> {
        Box::pin(async move {
            let payload = request.payload;
            let pushed = self.committer.release(self.settings, request.key, payload).await?;
            let services: Vec<&str> = payload.artifacts.iter().map(|a| a.service.as_str()).collect();
            let objects = self
                .settings
                .objects(&services, payload.step.environment, payload.step.region.as_deref())
                .map_err(anyhow::Error::msg)?;
            Ok(if objects.is_empty() {
                // No controller reports back (controller = "none"): pushed is deployed.
                Released::Done { running: Vec::new() }
            } else {
                Released::Syncing { revision: pushed.revision, objects }
            })
        })
    }
}
