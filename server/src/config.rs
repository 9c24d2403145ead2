//! Settings the running server is built from.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::auth::AuthSettings;
use crate::integrations::Timeouts;
use crate::scheduler::SchedulerConfig;
use crate::store::redact;

/// Everything [`crate::startup::Application::build`] needs.
#[derive(Clone)]
pub struct Settings {
    pub addr: SocketAddr,
    pub database_url: String,
    pub demo: bool,
    pub site_root: PathBuf,
    pub scheduler: SchedulerConfig,
    /// Whether this process runs the scheduler, the runtime and (with the demo) the demo driver.
    pub run_workers: bool,
    /// Sessions, cookies and the first admin.
    pub auth: AuthSettings,
    /// Deployer, notification and Prometheus timeouts.
    pub timeouts: Timeouts,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("addr", &self.addr)
            .field("database_url", &redact(&self.database_url))
            .field("demo", &self.demo)
            .field("site_root", &self.site_root)
            .field("scheduler", &self.scheduler)
            .field("run_workers", &self.run_workers)
            .field("auth", &self.auth)
            .field("timeouts", &self.timeouts)
            .finish()
    }
}

impl From<crate::cli::ServeArgs> for Settings {
    fn from(args: crate::cli::ServeArgs) -> Self {
        let defaults = SchedulerConfig::default();
        Self {
            addr: args.addr,
            database_url: args.database.database_url,
            demo: args.demo,
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
                admin_password: args.admin_password,
                audit_checkpoint_interval: args.audit_checkpoint_interval,
            },
            timeouts: Timeouts { webhook: args.webhook_timeout, prometheus: args.prometheus_timeout },
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
        Settings::from(serve)
    }

    #[test]
    fn integration_timeouts_default_to_ten_seconds_and_can_be_set() {
        assert_eq!(settings(&[]).timeouts, Timeouts::default());
        let set = settings(&["--prometheus-timeout", "3s", "--webhook-timeout", "1m"]);
        assert_eq!(set.timeouts.prometheus, std::time::Duration::from_secs(3));
        assert_eq!(set.timeouts.webhook, std::time::Duration::from_secs(60));
        assert!(Cli::try_parse_from(["railyard", "serve", "--prometheus-timeout", "soon"]).is_err());
    }
}
