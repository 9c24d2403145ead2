//! The file as written: serde types that refuse unknown fields; the checker
//! turns them into the validated specs.

use serde::Deserialize;

use super::FreezeEntry;
use crate::analysis::Direction;
use crate::engine::{Environment, Notice};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFile {
    #[serde(default)]
    pub(super) domain: Vec<RawDomain>,
    #[serde(default)]
    pub(super) service: Vec<RawService>,
    #[serde(default)]
    pub(super) train: Vec<RawTrain>,
    #[serde(default)]
    pub(super) freeze: Vec<FreezeEntry>,
    #[serde(default)]
    pub(super) kind: Vec<RawKind>,
    #[serde(default)]
    pub(super) region: Vec<RawRegion>,
    #[serde(default)]
    pub(super) role_mapping: Vec<RawRoleMapping>,
}

/// `[[role_mapping]]`: a claim value from the identity provider granting a role.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRoleMapping {
    pub(super) claim: Option<String>,
    /// The claim's value (for the default claim, a group name).
    pub(super) group: String,
    pub(super) role: String,
    pub(super) domain: Option<String>,
}

/// `[[region]]`: a region rollouts name, and whether leadership watches it first.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRegion {
    pub(super) name: String,
    #[serde(default)]
    pub(super) critical: bool,
    #[serde(default)]
    pub(super) description: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawKind {
    pub(super) name: String,
    pub(super) gates: Option<Vec<String>>,
    pub(super) monitoring: Option<String>,
    #[serde(default)]
    pub(super) approval: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGroup {
    pub(super) name: String,
    pub(super) services: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDomain {
    pub(super) name: String,
    #[serde(default)]
    pub(super) description: String,
    pub(super) colour: Option<String>,
    #[serde(default)]
    pub(super) notify_webhook_env: String,
    pub(super) notify_on: Option<Vec<Notice>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawService {
    pub(super) name: String,
    pub(super) domain: String,
    #[serde(default)]
    pub(super) owner: String,
    #[serde(default)]
    pub(super) runbook: String,
    #[serde(default)]
    pub(super) on_call: String,
    pub(super) slo: Option<RawSlo>,
    #[serde(default)]
    pub(super) calls: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSlo {
    pub(super) target: f64,
    pub(super) window: String,
    #[serde(default)]
    pub(super) good: String,
    #[serde(default)]
    pub(super) total: String,
    #[serde(default)]
    pub(super) latency: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTrain {
    pub(super) name: String,
    pub(super) domain: String,
    #[serde(default)]
    pub(super) services: Vec<String>,
    pub(super) cadence: String,
    pub(super) time_zone: String,
    pub(super) starts: String,
    pub(super) planning_window: String,
    pub(super) cutover_window: String,
    pub(super) preflight: Option<String>,
    pub(super) monitoring: Option<String>,
    pub(super) gates: Option<Vec<String>>,
    pub(super) emergency_gates: Option<Vec<String>>,
    pub(super) overrides: Option<bool>,
    pub(super) deployer: Option<String>,
    #[serde(default)]
    pub(super) webhook_url: String,
    #[serde(default)]
    pub(super) webhook_secret_env: String,
    #[serde(default)]
    pub(super) staging_webhook_url: String,
    pub(super) gitops: Option<RawGitops>,
    pub(super) metrics_provider: Option<String>,
    #[serde(default)]
    pub(super) prometheus_url: String,
    #[serde(default)]
    pub(super) metric: Vec<RawMetric>,
    #[serde(default)]
    pub(super) step: Vec<RawStep>,
    #[serde(default)]
    pub(super) group: Vec<RawGroup>,
    /// A held train raises a ticket after this long, e.g. "30m".
    pub(super) alert_when_held: Option<String>,
    #[serde(default)]
    pub(super) expected_alerts: Vec<RawExpectedAlerts>,
}

/// `[[train.expected_alerts]]`: alerts the cutover is expected to raise, silenced for its window.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawExpectedAlerts {
    pub(super) matchers: Vec<String>,
    #[serde(default)]
    pub(super) comment: String,
}

/// `[train.gitops]`: the repository, its layout and the edit.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGitops {
    pub(super) repository: String,
    pub(super) branch: String,
    pub(super) path: String,
    pub(super) image: String,
    #[serde(default)]
    pub(super) edit: RawEdit,
    pub(super) image_name: Option<String>,
    pub(super) values_file: Option<String>,
    pub(super) repository_key: Option<String>,
    pub(super) tag_key: Option<String>,
    pub(super) digest_key: Option<String>,
    pub(super) traffic: Option<RawTraffic>,
    /// `"none"`: nothing reports back (otherwise one of the tables below).
    pub(super) controller: Option<String>,
    pub(super) argocd: Option<RawArgoCd>,
    pub(super) flux: Option<RawFlux>,
    pub(super) sync_timeout: Option<String>,
}

/// `[train.gitops.argocd]`: the Argo CD API and the Application per service.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawArgoCd {
    pub(super) url: String,
    pub(super) token_env: String,
    pub(super) application: String,
    pub(super) app_namespace: Option<String>,
}

/// `[train.gitops.flux]`: the Provider's token and the Flux object per service.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFlux {
    pub(super) secret_env: String,
    #[serde(default = "kustomization")]
    pub(super) kind: crate::gitops::FluxKind,
    pub(super) name: String,
    pub(super) namespace: Option<String>,
}

fn kustomization() -> crate::gitops::FluxKind {
    crate::gitops::FluxKind::Kustomization
}

#[derive(Deserialize, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(super) enum RawEdit {
    #[default]
    Kustomize,
    Helm,
}

/// `[train.gitops.traffic]`: canary traffic through a Gateway API HTTPRoute.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTraffic {
    pub(super) canary_path: String,
    pub(super) gateway: String,
    pub(super) port: u16,
    pub(super) route: Option<String>,
    pub(super) route_name: Option<String>,
    pub(super) namespace: Option<String>,
    pub(super) stable_backend: Option<String>,
    pub(super) canary_backend: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMetric {
    pub(super) name: String,
    pub(super) query: String,
    #[serde(default = "increase")]
    pub(super) direction: Direction,
    #[serde(default)]
    pub(super) allowed_increase: f64,
    #[serde(default)]
    pub(super) allowed_decrease: f64,
    #[serde(default)]
    pub(super) critical: bool,
    #[serde(default)]
    pub(super) dry_run: bool,
    #[serde(default = "default_group")]
    pub(super) group: String,
}

pub(super) fn increase() -> Direction {
    Direction::Increase
}

pub(super) fn default_group() -> String {
    "default".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStep {
    pub(super) name: String,
    pub(super) environment: Environment,
    pub(super) weight: u8,
    pub(super) soak: String,
    pub(super) region: Option<String>,
}
