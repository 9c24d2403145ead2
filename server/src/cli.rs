//! The command line: `railyard serve | migrate | apply`. Every option can
//! also come from a `RAILYARD_*` environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Railyard: release trains on a schedule, gated and observable.
#[derive(Debug, Parser)]
#[command(name = "railyard", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web UI and API, and run the scheduler.
    Serve(Box<ServeArgs>),
    /// Apply pending database migrations and exit.
    Migrate(DatabaseArgs),
    /// Apply a trains-as-code TOML file (domains, services, trains, freezes).
    Apply(ApplyArgs),
    /// Replay analyses offline.
    #[command(subcommand)]
    Analyze(AnalyzeCommand),
    /// Check or export the tamper-evident audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Prometheus rules from the fleet's SLOs.
    #[command(subcommand)]
    Slo(SloCommand),
    /// Prepare the built front end for serving.
    #[command(subcommand)]
    Assets(AssetsCommand),
}

/// What to do with the built front end.
#[derive(Debug, Subcommand)]
pub enum AssetsCommand {
    /// Give the script, wasm and stylesheet content-hashed names with brotli and gzip copies (run after each build).
    Pack(PackArgs),
}

/// Options of `assets pack`.
#[derive(Debug, Clone, Args)]
pub struct PackArgs {
    /// Directory holding the built front end (pkg/, favicon).
    #[arg(long, env = "RAILYARD_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,
}

/// What to do with the audit log.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute the hash chain of the stored log (or of an exported file) and name the first bad record.
    Verify(AuditVerifyArgs),
    /// Write every record as JSON Lines, verifiable offline with `audit verify --file`.
    Export(AuditExportArgs),
}

/// Options of `audit verify`.
#[derive(Debug, Clone, Args)]
pub struct AuditVerifyArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Verify this exported JSON Lines file instead of the database.
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// A checkpoint to hold the log to, as COUNT:HASH (from the server's "audit checkpoint" log lines).
    #[arg(long)]
    pub head: Option<String>,
    /// The servers' audit key: the signed checkpoints in the store are checked with it.
    #[arg(long, env = "RAILYARD_AUDIT_KEY", hide_env_values = true)]
    pub audit_key: Option<String>,
}

/// Options of `audit export`.
#[derive(Debug, Clone, Args)]
pub struct AuditExportArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Where to write the JSON Lines ("-" for standard output).
    #[arg(long, default_value = "-")]
    pub output: PathBuf,
}

/// What to make from the fleet's SLOs.
#[derive(Debug, Subcommand)]
pub enum SloCommand {
    /// Write the recording rules and multi-window burn-rate alerts for every SLO (check it with `promtool check rules`).
    Rules(SloRulesArgs),
}

/// Options of `slo rules`.
#[derive(Debug, Clone, Args)]
pub struct SloRulesArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Where to write the rule file ("-" for standard output).
    #[arg(long, default_value = "-")]
    pub output: PathBuf,
}

/// What to analyse.
#[derive(Debug, Subcommand)]
pub enum AnalyzeCommand {
    /// Judge a canary sample against a baseline sample (one number per line) and print the evidence as JSON.
    Canary(CanaryArgs),
}

/// Options of `analyze canary`.
#[derive(Debug, Clone, Args)]
pub struct CanaryArgs {
    /// File with the baseline's samples, one number per line (`#` starts a comment).
    #[arg(long)]
    pub baseline: PathBuf,
    /// File with the canary's samples, one number per line.
    #[arg(long)]
    pub canary: PathBuf,
    /// Which change counts against the canary.
    #[arg(long, value_enum, default_value = "increase")]
    pub direction: DirectionArg,
    /// Tolerated increase relative to the baseline median (0.1 = 10%).
    #[arg(long, default_value_t = 0.0)]
    pub allowed_increase: f64,
    /// Tolerated decrease relative to the baseline median.
    #[arg(long, default_value_t = 0.0)]
    pub allowed_decrease: f64,
    /// Confidence level of the test and interval.
    #[arg(long, default_value_t = 0.95)]
    pub confidence: f64,
}

/// Where the store is.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// Database URL: sqlite://FILE (created if missing) or postgres://USER:PASSWORD@HOST/DB.
    #[arg(long, env = "RAILYARD_DATABASE_URL", default_value = "sqlite://railyard.db", hide_env_values = true)]
    pub database_url: String,
}

/// Options of `serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Address to listen on.
    #[arg(long, env = "RAILYARD_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,
    /// Load the demo fleet (idempotent) before serving.
    #[arg(long, env = "RAILYARD_DEMO")]
    pub demo: bool,
    /// Directory holding the built front end (pkg/, favicon).
    #[arg(long, env = "RAILYARD_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,
    /// Time between scheduler ticks, e.g. "30s".
    #[arg(long, env = "RAILYARD_SCHEDULER_INTERVAL", default_value = "30s", value_parser = humantime::parse_duration)]
    pub scheduler_interval: std::time::Duration,
    /// How far ahead the scheduler creates trains, e.g. "90d".
    #[arg(long, env = "RAILYARD_SCHEDULER_HORIZON", default_value = "90d", value_parser = humantime::parse_duration)]
    pub scheduler_horizon: std::time::Duration,
    /// Send the session cookie without `Secure` (and without the `__Host-` prefix). Only for plain HTTP
    /// on a host browsers do not treat as secure; http://localhost and 127.0.0.1 do not need it.
    #[arg(long, env = "RAILYARD_INSECURE_COOKIES")]
    pub insecure_cookies: bool,
    /// A session unused this long ends, e.g. "30m".
    #[arg(long, env = "RAILYARD_SESSION_IDLE_TIMEOUT", default_value = "30m", value_parser = humantime::parse_duration)]
    pub session_idle_timeout: std::time::Duration,
    /// A session ends this long after sign-in, e.g. "12h".
    #[arg(long, env = "RAILYARD_SESSION_LIFETIME", default_value = "12h", value_parser = humantime::parse_duration)]
    pub session_lifetime: std::time::Duration,
    /// Password of the first admin, used only when the store has no users yet (otherwise a one-time
    /// password is written to the log).
    #[arg(long, env = "RAILYARD_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,
    /// How often the audit log's head (count and hash) is written to the log output.
    #[arg(long, env = "RAILYARD_AUDIT_CHECKPOINT_INTERVAL", default_value = "10m", value_parser = humantime::parse_duration)]
    pub audit_checkpoint_interval: std::time::Duration,
    /// The key (at least 32 characters) audit checkpoints are signed with, so a rewrite of the whole
    /// log is detected; keep it outside the database and give every replica the same one.
    #[arg(long, env = "RAILYARD_AUDIT_KEY", hide_env_values = true)]
    pub audit_key: Option<String>,
    /// Single sign-on: the OpenID provider's issuer URL (discovery reads its
    /// `/.well-known/openid-configuration`); with it, the client id and secret below.
    #[arg(long, env = "RAILYARD_OIDC_ISSUER")]
    pub oidc_issuer: Option<String>,
    /// The client id Railyard is registered under at the provider.
    #[arg(long, env = "RAILYARD_OIDC_CLIENT_ID", default_value = "")]
    pub oidc_client_id: String,
    /// The client secret that goes with it.
    #[arg(long, env = "RAILYARD_OIDC_CLIENT_SECRET", hide_env_values = true, default_value = "")]
    pub oidc_client_secret: String,
    /// The provider's name on the sign-in page ("Sign in with …").
    #[arg(long, env = "RAILYARD_OIDC_NAME", default_value = "single sign-on")]
    pub oidc_name: String,
    /// Reverse proxies (addresses or CIDR ranges, comma-separated) whose `X-Forwarded-For` names the
    /// client for sign-in limits and the audit log; from any other peer the header is ignored.
    #[arg(long, env = "RAILYARD_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_proxy)]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// How long a deploy or notification webhook may take to answer before the attempt counts as failed.
    #[arg(long, env = "RAILYARD_WEBHOOK_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub webhook_timeout: std::time::Duration,
    /// How long one Prometheus query may take; past it the analysis is inconclusive.
    #[arg(long, env = "RAILYARD_PROMETHEUS_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub prometheus_timeout: std::time::Duration,
    /// How long the orchestrator lease lasts unrenewed; another replica takes over after it.
    #[arg(long, env = "RAILYARD_LEASE_TTL", default_value = "15s", value_parser = humantime::parse_duration)]
    pub lease_ttl: std::time::Duration,
    /// How often the leader renews its lease (and followers try to take it); must be under the TTL.
    #[arg(long, env = "RAILYARD_LEASE_RENEW", default_value = "5s", value_parser = humantime::parse_duration)]
    pub lease_renew: std::time::Duration,
    /// A running train with nothing pending for this long is reported as stuck.
    #[arg(long, env = "RAILYARD_STUCK_AFTER", default_value = "30m", value_parser = humantime::parse_duration)]
    pub stuck_after: std::time::Duration,
    /// How often Argo CD is asked about rollout steps waiting to be applied (and their deadlines checked).
    #[arg(long, env = "RAILYARD_GITOPS_POLL", default_value = "10s", value_parser = humantime::parse_duration)]
    pub gitops_poll: std::time::Duration,
    /// Alertmanager base URLs (every member of a cluster, comma-separated) Railyard sends alerts and
    /// planned-work silences to, e.g. "http://alertmanager:9093"; none: alerts are only shown in Railyard.
    #[arg(long, env = "RAILYARD_ALERTMANAGER_URL", value_delimiter = ',')]
    pub alertmanager_url: Vec<url::Url>,
    /// Where people open Railyard, for the links in alerts; default: http:// and --addr.
    #[arg(long, env = "RAILYARD_PUBLIC_URL")]
    pub public_url: Option<url::Url>,
    /// How often alert conditions are checked and active alerts re-sent.
    #[arg(long, env = "RAILYARD_ALERT_INTERVAL", default_value = "30s", value_parser = humantime::parse_duration)]
    pub alert_interval: std::time::Duration,
    /// A held train raises a ticket after this long (a definition's `alert_when_held` overrides it).
    #[arg(long, env = "RAILYARD_ALERT_HELD_AFTER", default_value = "30m", value_parser = humantime::parse_duration)]
    pub alert_held_after: std::time::Duration,
    /// A rollback still running after this long pages.
    #[arg(long, env = "RAILYARD_ALERT_ROLLBACK_AFTER", default_value = "15m", value_parser = humantime::parse_duration)]
    pub alert_rollback_after: std::time::Duration,
    /// Requests handled at once; beyond it new requests get 503 at once instead of queueing.
    #[arg(long, env = "RAILYARD_MAX_CONCURRENT_REQUESTS", default_value_t = 512)]
    pub max_concurrent_requests: usize,
}

/// Options of `apply`.
#[derive(Debug, Clone, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// The TOML file to apply.
    pub file: PathBuf,
}

/// A trusted proxy: a CIDR range, or one address.
fn parse_proxy(text: &str) -> Result<ipnet::IpNet, String> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("\"{text}\" is neither an IP address nor a CIDR range like 10.0.0.0/8"))
}

/// `--direction`: the analysis's [`Direction`](crate::analysis::Direction), spelt for the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DirectionArg {
    Increase,
    Decrease,
    Either,
}

impl From<DirectionArg> for crate::analysis::Direction {
    fn from(arg: DirectionArg) -> Self {
        match arg {
            DirectionArg::Increase => Self::Increase,
            DirectionArg::Decrease => Self::Decrease,
            DirectionArg::Either => Self::Either,
        }
    }
}
