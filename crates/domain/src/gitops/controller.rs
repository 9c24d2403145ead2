//! The GitOps controller that applies what the deployer pushed, and how its
//! reports are read: Argo CD's Application status (polled) and Flux's
//! notification-controller events (received). A step is deployed when every
//! object the step touched reports the pushed revision (or a later one)
//! applied and healthy.

use serde::{Deserialize, Serialize};

use super::template::Template;

/// Which controller applies a definition's repository, and how Railyard hears from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "controller", rename_all = "snake_case")]
pub enum Controller {
    /// Nothing reports back: a step counts as deployed once its commit is pushed.
    #[default]
    None,
    /// Argo CD's API is polled for each Application.
    ArgoCd {
        /// The API server, e.g. `https://argocd.example.com`.
        url: String,
        /// The environment variable holding an API token (a project role or account token).
        token_env: String,
        /// The Application per service, e.g. `{service}-{region}-{environment}`.
        application: Template,
        /// For Applications outside Argo CD's own namespace (`appNamespace`).
        app_namespace: Option<String>,
    },
    /// Flux's notification-controller posts events (a `generic-hmac` Provider) to Railyard.
    Flux {
        /// The environment variable holding the Provider's HMAC token.
        secret_env: String,
        kind: FluxKind,
        /// The Kustomization or HelmRelease per service, e.g. `{service}-{region}`.
        name: Template,
        /// Its namespace (any, when not set).
        namespace: Option<String>,
    },
}

/// The kind of Flux object that applies a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FluxKind {
    Kustomization,
    HelmRelease,
}

impl Controller {
    /// Its name in what people read ("Argo CD applied …").
    pub fn name(&self) -> &'static str {
        match self {
            Self::None => "the controller",
            Self::ArgoCd { .. } => "Argo CD",
            Self::Flux { .. } => "Flux",
        }
    }
}

impl FluxKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Kustomization => "Kustomization",
            Self::HelmRelease => "HelmRelease",
        }
    }
}

/// What a controller says about one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    /// Not there yet; why, in words.
    Waiting(String),
    /// Applied and healthy at `revision`, running `images`.
    Applied { revision: String, images: Vec<String> },
    /// Failed at `revision` (when known).
    Failed { revision: Option<String>, why: String },
}

/// Whether `reported` (as a controller writes it: `main@sha1:<sha>`, `main/<sha>` or `<sha>`) is commit `sha`.
pub fn same_revision(reported: &str, sha: &str) -> bool {
    let commit = reported.rsplit([':', '/', '@']).next().unwrap_or(reported);
    !sha.is_empty() && commit.eq_ignore_ascii_case(sha)
}

/// The commit in a revision as a controller writes it.
pub fn commit_of(reported: &str) -> &str {
    reported.rsplit([':', '/', '@']).next().unwrap_or(reported)
}

/// Argo CD's `Application`, as much of it as Railyard reads (`GET /api/v1/applications/{name}`).
pub mod argocd {
    use serde::Deserialize;

    use super::Report;

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(default)]
    pub struct Application {
        pub status: Status,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(default, rename_all = "camelCase")]
    pub struct Status {
        pub sync: Sync,
        pub health: Health,
        pub operation_state: Option<OperationState>,
        pub summary: Summary,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(default)]
    pub struct Sync {
        /// `Synced`, `OutOfSync` or `Unknown`.
        pub status: String,
        pub revision: String,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(default)]
    pub struct Health {
        /// `Healthy`, `Progressing`, `Degraded`, `Suspended`, `Missing` or `Unknown`.
        pub status: String,
        pub message: String,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(default, rename_all = "camelCase")]
    pub struct OperationState {
        /// `Running`, `Succeeded`, `Failed`, `Error` or `Terminating`.
        pub phase: String,
        pub message: String,
        pub sync_result: Option<SyncResult>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(default)]
    pub struct SyncResult {
        pub revision: String,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(default)]
    pub struct Summary {
        pub images: Vec<String>,
    }

    /// What the Application says.
    pub fn report(app: &Application) -> Report {
        let status = &app.status;
        let synced = Some(status.sync.revision.clone()).filter(|r| !r.is_empty());
        if let Some(operation) = &status.operation_state {
            if matches!(operation.phase.as_str(), "Failed" | "Error") {
                let tried = operation.sync_result.as_ref().map(|r| r.revision.clone()).filter(|r| !r.is_empty());
                return Report::Failed {
                    revision: tried.or(synced),
                    why: format!("the sync {} ({})", operation.phase.to_lowercase(), operation.message),
                };
            }
        }
        if status.health.status == "Degraded" {
            let message = if status.health.message.is_empty() { "no message" } else { &status.health.message };
            return Report::Failed { revision: synced, why: format!("the application is Degraded ({message})") };
        }
        let operation_done = status.operation_state.as_ref().is_none_or(|o| o.phase == "Succeeded");
        if status.sync.status == "Synced" && status.health.status == "Healthy" && operation_done {
            return Report::Applied { revision: status.sync.revision.clone(), images: status.summary.images.clone() };
        }
        let or_unknown = |s: &str| if s.is_empty() { "Unknown".to_owned() } else { s.to_owned() };
        Report::Waiting(format!(
            "sync {}, health {}",
            or_unknown(&status.sync.status),
            or_unknown(&status.health.status)
        ))
    }
}

/// Flux's notification-controller events, as a `generic-hmac` Provider posts them.
pub mod flux {
    use std::collections::BTreeMap;

    use serde::Deserialize;

    use super::Report;

    #[derive(Debug, Clone, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Event {
        pub involved_object: ObjectReference,
        #[serde(default)]
        pub severity: String,
        #[serde(default)]
        pub reason: String,
        #[serde(default)]
        pub message: String,
        #[serde(default)]
        pub metadata: BTreeMap<String, String>,
    }

    #[derive(Debug, Clone, Deserialize)]
    pub struct ObjectReference {
        pub kind: String,
        pub name: String,
        #[serde(default)]
        pub namespace: String,
    }

    impl Event {
        /// The source revision it reports (`kustomize.toolkit.fluxcd.io/revision` and the like).
        pub fn revision(&self) -> Option<&str> {
            self.metadata
                .iter()
                .find(|(key, _)| *key == "revision" || key.ends_with("/revision"))
                .map(|(_, value)| value.as_str())
        }

        /// What it says about its object; `None` for events that decide nothing (progress, info).
        pub fn report(&self) -> Option<Report> {
            let revision = self.revision().map(str::to_owned);
            match self.reason.as_str() {
                "ReconciliationSucceeded" | "UpgradeSucceeded" | "InstallSucceeded" => {
                    Some(Report::Applied { revision: revision?, images: Vec::new() })
                }
                "HealthCheckFailed" | "ReconciliationFailed" | "UpgradeFailed" | "InstallFailed" => {
                    Some(Report::Failed { revision, why: format!("{}: {}", self.reason, self.message) })
                }
                _ => None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn application(json: serde_json::Value) -> argocd::Application {
        serde_json::from_value(json).expect("an Application")
    }

    #[test]
    fn revisions_match_however_the_controller_writes_them() {
        let sha = "731f7eaddfb6af01cb2173e18f0f75b0ba780ef1";
        for written in [sha.to_owned(), format!("main@sha1:{sha}"), format!("main/{sha}"), sha.to_uppercase()] {
            assert!(same_revision(&written, sha), "{written}");
        }
        assert!(!same_revision("main@sha1:0000", sha));
        assert!(!same_revision(sha, ""));
        assert_eq!(commit_of(&format!("main@sha1:{sha}")), sha);
    }

    #[test]
    fn an_argo_cd_application_is_applied_only_when_synced_healthy_and_done() {
        let synced = application(serde_json::json!({"status": {
            "sync": {"status": "Synced", "revision": "abc"},
            "health": {"status": "Healthy"},
            "operationState": {"phase": "Succeeded", "syncResult": {"revision": "abc"}},
            "summary": {"images": ["ghcr.io/acme/ledger@sha256:1"]}
        }}));
        assert_eq!(
            argocd::report(&synced),
            Report::Applied { revision: "abc".into(), images: vec!["ghcr.io/acme/ledger@sha256:1".into()] }
        );
        let progressing = application(serde_json::json!({"status": {
            "sync": {"status": "Synced", "revision": "abc"}, "health": {"status": "Progressing"}
        }}));
        assert_eq!(argocd::report(&progressing), Report::Waiting("sync Synced, health Progressing".into()));
        assert_eq!(
            argocd::report(&application(serde_json::json!({}))),
            Report::Waiting("sync Unknown, health Unknown".into())
        );
    }

    #[test]
    fn degraded_health_or_a_failed_sync_fails_at_its_revision() {
        let degraded = application(serde_json::json!({"status": {
            "sync": {"status": "Synced", "revision": "abc"},
            "health": {"status": "Degraded", "message": "Deployment ledger exceeded its progress deadline"}
        }}));
        assert_eq!(
            argocd::report(&degraded),
            Report::Failed {
                revision: Some("abc".into()),
                why: "the application is Degraded (Deployment ledger exceeded its progress deadline)".into()
            }
        );
        let failed = application(serde_json::json!({"status": {
            "sync": {"status": "OutOfSync", "revision": "old"},
            "health": {"status": "Healthy"},
            "operationState": {"phase": "Failed", "message": "one or more objects failed to apply", "syncResult": {"revision": "abc"}}
        }}));
        assert_eq!(
            argocd::report(&failed),
            Report::Failed {
                revision: Some("abc".into()),
                why: "the sync failed (one or more objects failed to apply)".into()
            }
        );
    }

    #[test]
    fn flux_events_decide_on_success_and_failure_reasons_only() {
        let event = |reason: &str| -> flux::Event {
            serde_json::from_value(serde_json::json!({
                "involvedObject": {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization", "name": "ledger-eu-west", "namespace": "flux-system"},
                "metadata": {"kustomize.toolkit.fluxcd.io/revision": "main@sha1:abc"},
                "severity": "info", "reason": reason, "message": "health check failed after 5m",
                "reportingController": "kustomize-controller", "timestamp": "2026-12-07T10:00:00Z"
            }))
            .expect("an event")
        };
        assert_eq!(
            event("ReconciliationSucceeded").report(),
            Some(Report::Applied { revision: "main@sha1:abc".into(), images: vec![] })
        );
        assert_eq!(
            event("HealthCheckFailed").report(),
            Some(Report::Failed {
                revision: Some("main@sha1:abc".into()),
                why: "HealthCheckFailed: health check failed after 5m".into()
            })
        );
        assert_eq!(event("Progressing").report(), None);
        assert_eq!(event("ReconciliationSucceeded").involved_object.name, "ledger-eu-west");
    }
}
