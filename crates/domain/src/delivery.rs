//! How a train definition reaches the world: the deployer that carries out
//! its rollout steps and the source its canaries are judged on. Closed sets,
//! so a misspelt name is an error where it is read, never a silent
//! simulated release.

use crate::analysis::CanaryMetric;
use crate::gitops::GitopsSettings;

/// The deployer of a definition, with the settings it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeployerSettings {
    /// The labelled demo deployer: nothing leaves Railyard, every step "runs" what it was given.
    Simulated,
    /// Posts each step to a signed HTTP webhook (a pipeline, a deploy bot).
    Webhook {
        url: String,
        /// Where staging steps go instead, if elsewhere.
        staging_url: Option<String>,
        /// The environment variable holding the signing secret.
        secret_env: String,
    },
    /// Commits each step's images (and canary weights) to a Git repository a GitOps controller syncs.
    Gitops(Box<GitopsSettings>),
}

/// The names a deployer may be given in trains-as-code.
pub const DEPLOYERS: [&str; 3] = ["simulated", "webhook", "gitops"];

/// A setting names something Railyard does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{name}\" is not a {what}; available: {available}")]
pub struct UnknownSetting {
    pub what: &'static str,
    pub name: String,
    pub available: String,
}

/// A deployer's settings as stored or written, column by column.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeployerColumns<'a> {
    pub name: &'a str,
    pub webhook_url: &'a str,
    pub staging_webhook_url: &'a str,
    pub webhook_secret_env: &'a str,
    pub gitops: Option<&'a GitopsSettings>,
}

/// A stored deployer setting Railyard cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingError {
    #[error(transparent)]
    Unknown(#[from] UnknownSetting),
    #[error("the gitops deployer has no [train.gitops] settings")]
    NoGitopsSettings,
}

impl DeployerSettings {
    /// The deployer named `columns.name`, with its settings.
    pub fn from_columns(columns: DeployerColumns<'_>) -> Result<Self, SettingError> {
        Ok(match columns.name {
            "simulated" => Self::Simulated,
            "webhook" => Self::Webhook {
                url: columns.webhook_url.to_owned(),
                staging_url: (!columns.staging_webhook_url.is_empty()).then(|| columns.staging_webhook_url.to_owned()),
                secret_env: columns.webhook_secret_env.to_owned(),
            },
            "gitops" => Self::Gitops(Box::new(columns.gitops.ok_or(SettingError::NoGitopsSettings)?.clone())),
            other => {
                return Err(UnknownSetting {
                    what: "deployer",
                    name: other.to_owned(),
                    available: DEPLOYERS.join(", "),
                }
                .into())
            }
        })
    }

    /// Its name in trains-as-code (`gitops`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Simulated => "simulated",
            Self::Webhook { .. } => "webhook",
            Self::Gitops(_) => "gitops",
        }
    }
}

/// Where a definition's canary metrics come from.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricsSettings {
    /// The labelled demo source: generated samples, deterministic per train.
    Simulated,
    /// A Prometheus server's HTTP API, queried for each metric.
    Prometheus { url: String, metrics: Vec<CanaryMetric> },
}

/// The names a metrics provider may be given in trains-as-code.
pub const METRICS_PROVIDERS: [&str; 2] = ["simulated", "prometheus"];

impl MetricsSettings {
    /// The provider called `name`, with its URL and metrics (ignored by the simulated one).
    pub fn from_columns(name: &str, url: &str, metrics: Vec<CanaryMetric>) -> Result<Self, UnknownSetting> {
        match name {
            "simulated" => Ok(Self::Simulated),
            "prometheus" => Ok(Self::Prometheus { url: url.to_owned(), metrics }),
            other => Err(UnknownSetting {
                what: "metrics provider",
                name: other.to_owned(),
                available: METRICS_PROVIDERS.join(", "),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_misspelt_deployer_is_an_error_naming_the_choices() {
        let columns = DeployerColumns { name: "gitop", ..DeployerColumns::default() };
        let error = DeployerSettings::from_columns(columns).expect_err("unknown");
        assert_eq!(error.to_string(), "\"gitop\" is not a deployer; available: simulated, webhook, gitops");
    }

    #[test]
    fn each_deployer_keeps_only_its_own_settings() {
        let columns = DeployerColumns {
            name: "webhook",
            webhook_url: "https://deploy.example/hook",
            webhook_secret_env: "HOOK_SECRET",
            ..DeployerColumns::default()
        };
        let webhook = DeployerSettings::from_columns(columns).expect("webhook");
        assert_eq!(
            webhook,
            DeployerSettings::Webhook {
                url: "https://deploy.example/hook".into(),
                staging_url: None,
                secret_env: "HOOK_SECRET".into()
            }
        );
        let gitops = DeployerSettings::from_columns(DeployerColumns { name: "gitops", ..columns });
        assert_eq!(gitops, Err(SettingError::NoGitopsSettings), "a gitops deployer without its table is refused");
        for name in DEPLOYERS.into_iter().filter(|name| *name != "gitops") {
            let parsed = DeployerSettings::from_columns(DeployerColumns { name, ..columns }).expect("known");
            assert_eq!(parsed.name(), name);
        }
        let error = MetricsSettings::from_columns("prometeus", "", Vec::new()).expect_err("unknown");
        assert!(error.to_string().contains("available: simulated, prometheus"), "{error}");
    }
}
