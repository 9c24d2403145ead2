//! The gitops deployer: commits the image tags of a rollout step to a Git
//! repository that Argo CD or Flux syncs, one file per service and
//! environment (`environments/<environment>/<service>.yaml`), with the train
//! id in the commit message, and pushes the branch. Rolling back commits the
//! previous stable version the same way. A retry after a commit that already
//! landed finds nothing to change and succeeds without a second commit.

use std::path::Path;

use anyhow::{bail, Context};
use tokio::process::Command;

use super::{Deployer, ReleasePayload, ReleaseRequest, Released, ReleasedArtifact};
use crate::runtime::BoxFuture;

/// Commits release payloads with the `git` command line.
#[derive(Debug, Clone, Default)]
pub struct GitopsDeployer;

impl GitopsDeployer {
    /// Writes `payload` into `branch` of `repo` and pushes it.
    pub async fn release(&self, repo: &str, branch: &str, payload: &ReleasePayload) -> anyhow::Result<()> {
        let work = tempfile::tempdir().context("making a scratch directory for the clone")?;
        let dir = work.path();
        git(dir, &["clone", "--quiet", "--depth", "1", "--branch", branch, "--", repo, "."]).await?;
        let (artifacts, verb): (&[ReleasedArtifact], &str) = if payload.action == "rollback" {
            if payload.restore.is_empty() {
                bail!(
                    "no earlier version of these services was shipped by Railyard, so there is nothing to roll back to"
                );
            }
            (&payload.restore, "roll back")
        } else {
            (&payload.artifacts, "deploy")
        };
        let environment = payload.step.environment.as_str();
        for artifact in artifacts {
            let path = dir.join("environments").join(environment).join(format!("{}.yaml", artifact.service));
            let parent = path.parent().context("the file has a directory")?;
            tokio::fs::create_dir_all(parent).await?;
            tokio::fs::write(&path, manifest(payload, artifact)).await?;
        }
        git(dir, &["add", "--all"]).await?;
        if git(dir, &["diff", "--cached", "--quiet"]).await.is_ok() {
            return Ok(()); // an earlier attempt already committed exactly this
        }
        let services: Vec<String> = artifacts.iter().map(|a| format!("{} {}", a.service, a.version)).collect();
        let message = format!(
            "railyard: {verb} {} in {environment} ({}%)\n\nTrain: {}\nDefinition: {}\nStep: {}",
            services.join(", "),
            payload.step.weight,
            payload.train_id,
            payload.definition,
            payload.step.name
        );
        git(
            dir,
            &["-c", "user.name=Railyard", "-c", "user.email=railyard@localhost", "commit", "--quiet", "-m", &message],
        )
        .await?;
        git(dir, &["push", "--quiet", "origin", &format!("HEAD:{branch}")]).await
    }
}

/// The file Argo CD or Flux reads for one service.
fn manifest(payload: &ReleasePayload, artifact: &ReleasedArtifact) -> String {
    format!(
        "# Managed by Railyard (train {}, step \"{}\"). Do not edit by hand.\nservice: {}\nversion: \"{}\"\nimage: \"{}\"\nweight: {}\n",
        payload.train_id, payload.step.name, artifact.service, artifact.version, artifact.digest, payload.step.weight
    )
}

async fn git(dir: &Path, args: &[&str]) -> anyhow::Result<()> {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .await
        .context("running git (is it installed?)")?;
    if output.status.success() {
        Ok(())
    } else {
        // git quotes the remote, which may carry credentials: never let them reach the timeline.
        let remotes: Vec<&str> = args.iter().copied().filter(|arg| arg.contains("://")).collect();
        let stderr = crate::integrations::redact::scrub(String::from_utf8_lossy(&output.stderr).trim(), &remotes);
        bail!("git {} failed: {stderr}", args.first().unwrap_or(&""))
    }
}
/// The gitops deployer bound to one definition's repository and branch.
pub struct GitopsRelease<'a> {
    pub committer: &'a GitopsDeployer,
    pub repo: &'a str,
    pub branch: &'a str,
}

impl Deployer for GitopsRelease<'_> {
    fn release<'a>(&'a self, request: &'a ReleaseRequest<'a>) -> BoxFuture<'a, anyhow::Result<Released>> {
        Box::pin(async move {
            self.committer.release(self.repo, self.branch, request.payload).await?;
            // Argo CD or Flux applies it; nothing reports what runs yet.
            Ok(Released::Done { running: Vec::new() })
        })
    }
}
