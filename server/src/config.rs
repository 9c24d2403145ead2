//! Settings the running server is built from.

use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::alerter::AlerterSettings;
use crate::auth::oidc::OidcSettings;
use crate::auth::AuthSettings;
use crate::integrations::Timeouts;
use crate::leadership::LeaseConfig;
use crate::scheduler::SchedulerConfig;
use crate::store::redact;

/// Everything [`crate::startup::Application::build`] needs.
#[derive(Clone)]
pub struct Settings {
    pub addr: SocketAddr,
    pub database_url: String,
    pub demo: bool,
    /// With the demo on a fresh store, replay its past weeks through the engine first (a few seconds).
    pub demo_history: bool,
    pub site_root: PathBuf,
    pub scheduler: SchedulerConfig,
    /// Whether this process runs the scheduler, the runtime and (with the demo) the demo driver.
    pub run_workers: bool,
    /// Sessions, cookies and the first admin.
    pub auth: AuthSettings,
    /// Deployer, notification and Prometheus timeouts.
    pub timeouts: Timeouts,
    /// Lease timing for leadership among replicas.
    pub lease: LeaseConfig,
    /// A running train with nothing pending for this long is reported as stuck.
    pub stuck_after: Duration,
    /// How often Argo CD is asked about releases waiting to be applied (and deadlines checked).
    pub gitops_poll: Duration,
    /// Requests handled at once before new ones are shed with 503.
    pub max_concurrent_requests: usize,
    /// Alertmanager, the links in alerts and the alert thresholds.
    pub alerting: AlerterSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 3000)),
            database_url: "sqlite://railyard.db".to_owned(),
            demo: false,
            demo_history: true,
            site_root: PathBuf::from("target/site"),
            scheduler: SchedulerConfig::default(),
            run_workers: true,
            auth: AuthSettings::default(),
            timeouts: Timeouts::default(),
            lease: LeaseConfig::default(),
            stuck_after: Duration::from_secs(30 * 60),
            gitops_poll: Duration::from_secs(10),
            max_concurrent_requests: 512,
            alerting: AlerterSettings::default(),
        }
    }
}

impl Settings {
    /// Refuses settings that cannot work together.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.lease.renew_every >= self.lease.ttl {
            anyhow::bail!(
                "--lease-renew ({}) must be shorter than --lease-ttl ({}), or the lease lapses between renewals",
                humantime::format_duration(self.lease.renew_every),
                humantime::format_duration(self.lease.ttl)
            );
        }
        if let Some(key) = &self.auth.audit_key {
            crate::audit::keyed::check_key(key.expose_secret()).map_err(|rule| anyhow::anyhow!(rule))?;
        }
        if self.gitops_poll.is_zero() {
            anyhow::bail!("--gitops-poll must be longer than zero");
        }
        if self.alerting.interval.is_zero() {
            anyhow::bail!("--alert-interval must be longer than zero");
        }
        if let Some(oidc) = &self.auth.oidc {
            if oidc.client_id.is_empty() || oidc.client_secret.expose_secret().is_empty() {
                anyhow::bail!("RAILYARD_OIDC_ISSUER is set: RAILYARD_OIDC_CLIENT_ID and RAILYARD_OIDC_CLIENT_SECRET are needed too");
            }
        }
        if self.max_concurrent_requests == 0 {
            anyhow::bail!("--max-concurrent-requests must be at least 1");
        }
        Ok(())
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("addr", &self.addr)
            .field("database_url", &redact(&self.database_url))
            .field("demo", &self.demo)
            .field("demo_history", &self.demo_history)
            .field("site_root", &self.site_root)
            .field("scheduler", &self.scheduler)
            .field("run_workers", &self.run_workers)
            .field("auth", &self.auth)
            .field("timeouts", &self.timeouts)
            .field("lease", &self.lease)
            .field("stuck_after", &self.stuck_after)
            .field("gitops_poll", &self.gitops_poll)
            .field("max_concurrent_requests", &self.max_concurrent_requests)
            .field("alerting", &self.alerting)
            .finish()
    }
}

impl From<crate::cli::ServeArgs> for Settings {
    fn from(args: crate::cli::ServeArgs) -> Self {
        let defaults = SchedulerConfig::default();
        let public_url = args.public_url.map_or_else(|| format!("http://{}", args.addr), |u| u.to_string());
        let oidc = args.oidc_issuer.filter(|issuer| !issuer.is_empty()).map(|issuer| OidcSettings {
            issuer,
            client_id: args.oidc_client_id.clone(),
            client_secret: SecretString::from(args.oidc_client_secret.clone()),
            name: args.oidc_name.clone(),
            redirect_url: format!("{}/auth/oidc/callback", public_url.trim_end_matches('/')),
        });
        Self {
            addr: args.addr,
            database_url: args.database.database_url,
            demo: args.demo,
            demo_history: true,
            site_root: args.site_root,
            scheduler: SchedulerConfig {
                interval: args.scheduler_interval,
                horizon: chrono::Duration::from_std(args.scheduler_horizon).unwrap_or(defaults.horizon),
                ..defaults
            },
            run_workers: true,
            auth: AuthSettings {
                secure_cookies: !args.insecure_cookies,
                idle_timeout: args.session_idle_timeout,
                absolute_lifetime: args.session_lifetime,
                admin_password: args.admin_password.map(SecretString::from),
                audit_checkpoint_interval: args.audit_checkpoint_interval,
                trusted_proxies: args.trusted_proxies,
                audit_key: args.audit_key.filter(|key| !key.is_empty()).map(SecretString::from),
                oidc,
            },
            timeouts: Timeouts { webhook: args.webhook_timeout, prometheus: args.prometheus_timeout },
            lease: LeaseConfig { ttl: args.lease_ttl, renew_every: args.lease_renew },
            stuck_after: args.stuck_after,
            gitops_poll: args.gitops_poll,
            max_concurrent_requests: args.max_concurrent_requests,
            alerting: AlerterSettings {
                alertmanagers: args.alertmanager_url.iter().map(|u| u.as_str().to_owned()).collect(),
                public_url,
                interval: args.alert_interval,
                thresholds: crate::alerting::Thresholds {
                    held_ms: i64::try_from(args.alert_held_after.as_millis()).unwrap_or(i64::MAX),
                    rollback_ms: i64::try_from(args.alert_rollback_after.as_millis()).unwrap_or(i64::MAX),
                },
                timeout: args.webhook_timeout,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn settings(args: &[&str]) -> Settings {
        let cli = Cli::try_parse_from([&["railyard", "serve"], args].concat()).expect("valid arguments");
        let Command::Serve(serve) = cli.command else { panic!("serve") };
        Settings::from(*serve)
    }

    #[test]
    fn integration_timeouts_default_to_ten_seconds_and_can_be_set() {
        assert_eq!(settings(&[]).timeouts, Timeouts::default());
        let set = settings(&["--prometheus-timeout", "3s", "--webhook-timeout", "1m"]);
        assert_eq!(set.timeouts.prometheus, Duration::from_secs(3));
        assert_eq!(set.timeouts.webhook, Duration::from_secs(60));
        assert!(Cli::try_parse_from(["railyard", "serve", "--prometheus-timeout", "soon"]).is_err());
    }

    #[test]
    fn alerting_reads_every_alertmanager_and_links_to_the_public_url() {
        let defaults = settings(&[]);
        assert!(defaults.alerting.alertmanagers.is_empty());
        assert_eq!(defaults.alerting.public_url, "http://127.0.0.1:3000");
        assert_eq!(defaults.alerting.thresholds, crate::alerting::Thresholds::default());
        let set = settings(&[
            "--alertmanager-url",
            "http://am-0:9093,http://am-1:9093/",
            "--public-url",
            "https://railyard.example.com",
            "--alert-held-after",
            "2h",
        ]);
        assert_eq!(set.alerting.alertmanagers, ["http://am-0:9093/", "http://am-1:9093/"]);
        assert_eq!(set.alerting.public_url, "https://railyard.example.com/");
        assert_eq!(set.alerting.thresholds.held_ms, 2 * 3600 * 1000);
        assert!(Cli::try_parse_from(["railyard", "serve", "--alertmanager-url", "not a url"]).is_err());
    }

    #[test]
    fn lease_defaults_to_fifteen_seconds_renewed_every_five_and_must_renew_within_its_ttl() {
        let defaults = settings(&[]);
        assert_eq!(defaults.lease, LeaseConfig::default());
        assert_eq!(defaults.lease.ttl, Duration::from_secs(15));
        assert_eq!(defaults.lease.renew_every, Duration::from_secs(5));
        defaults.validate().expect("defaults are valid");
        let set = settings(&["--lease-ttl", "30s", "--lease-renew", "10s"]);
        assert_eq!(set.lease, LeaseConfig { ttl: Duration::from_secs(30), renew_every: Duration::from_secs(10) });
        let error = settings(&["--lease-ttl", "5s", "--lease-renew", "5s"]).validate().expect_err("renew ≥ ttl");
        assert!(error.to_string().contains("must be shorter than --lease-ttl"), "{error}");
    }
}
