//! Deployers: what carries out a rollout step (or its rollback). One trait,
//! one file per adapter; a definition's [`DeployerSettings`] pick the
//! adapter, and a new deployer is one file and one enum variant.

pub mod gitops;
pub mod simulated;
pub mod webhook;

use serde::{Deserialize, Serialize};

use crate::delivery::DeployerSettings;
use crate::engine::Environment;
use crate::runtime::BoxFuture;

/// One artifact in a release payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleasedArtifact {
    pub service: String,
    pub version: String,
    pub digest: String,
}

/// The rollout step a payload is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseStep {
    pub index: usize,
    pub name: String,
    pub environment: Environment,
    pub weight: u8,
    /// The region to roll out to, when the rollout goes region by region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// What the receiver gets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleasePayload {
    /// `deploy` or `rollback`.
    pub action: String,
    pub train_id: String,
    pub definition: String,
    pub step: ReleaseStep,
    /// What to run at this step (for a rollback: what is being removed).
    pub artifacts: Vec<ReleasedArtifact>,
    /// For a rollback: the previous stable version of each service, where one is known.
    pub restore: Vec<ReleasedArtifact>,
}

/// One service's running digest.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
pub struct RunningDigest {
    pub service: String,
    pub digest: String,
}

/// One release for a deployer to carry out.
pub struct ReleaseRequest<'a> {
    /// The effect's idempotency key: a retried release carries the same one.
    pub key: &'a str,
    pub payload: &'a ReleasePayload,
    /// The step's environment (staging steps may go elsewhere).
    pub environment: Environment,
    /// Seconds since the epoch, for signatures.
    pub timestamp_s: i64,
}

/// What a deployer says about a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Released {
    /// Carried out; `running` is what the environment reports it runs (may be empty).
    Done { running: Vec<RunningDigest> },
    /// Accepted; the deployer reports the result later by callback.
    Pending,
    /// Pushed as `revision`; done when the GitOps controller reports every one of `objects` applied.
    Syncing { revision: String, objects: Vec<String> },
}

/// Carries out releases.
pub trait Deployer: Send + Sync {
    fn release<'a>(&'a self, request: &'a ReleaseRequest<'a>) -> BoxFuture<'a, anyhow::Result<Released>>;
}

/// The deployers' shared clients; [`Deployers::for_settings`] binds one to a definition.
pub struct Deployers {
    pub webhook: webhook::WebhookDeployer,
    pub gitops: gitops::GitopsDeployer,
}

impl Deployers {
    /// The deployer a definition's `settings` name.
    pub fn for_settings<'a>(&'a self, settings: &'a DeployerSettings) -> Box<dyn Deployer + 'a> {
        match settings {
            DeployerSettings::Simulated => Box::new(simulated::SimulatedDeployer),
            DeployerSettings::Webhook { url, staging_url, secret_env } => Box::new(webhook::WebhookRelease {
                client: &self.webhook,
                url,
                staging_url: staging_url.as_deref(),
                secret_env,
            }),
            DeployerSettings::Gitops(settings) => Box::new(gitops::GitopsRelease { committer: &self.gitops, settings }),
        }
    }
}
