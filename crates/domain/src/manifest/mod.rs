//! The trains-as-code file format and its validation. Pure.
//!
//! ```toml
//! [[domain]]
//! name = "payments"
//! colour = "#0072B2"            # optional
//! notify_webhook_env = "PAYMENTS_SLACK_URL"   # optional: variable holding a Slack-compatible webhook URL
//! notify_on = ["opened", "gate_failed", "approval_requested", "approval_expiring", "held", "rollback_started", "completed", "skipped"]   # optional
//!
//! [[service]]
//! name = "ledger"
//! domain = "payments"
//! runbook = "https://wiki.example.com/ledger/runbook"   # optional; shown in the console
//! on_call = "#payments-oncall"  # optional: who to call during a release (shown in the console)
//! calls = ["wallet"]            # optional: services it calls; providers roll out first, cycles are refused
//! slo = { target = 0.999, window = "28d" }   # optional; the `observability` gate needs one
//! # With metrics_provider = "prometheus", the SLO names its ratio SLI ({window} becomes e.g. "3600s"),
//! # and optionally a p95 latency query for the deployment-induced latency delta (seed M8):
//! # slo = { target = 0.999, window = "28d",
//! #         good = 'sum(increase(http_requests_total{service="{service}",code!~"5.."}[{window}]))',
//! #         total = 'sum(increase(http_requests_total{service="{service}"}[{window}]))',
//! #         latency = 'histogram_quantile(0.95, sum by (le) (rate(http_seconds_bucket{service="{service}"}[{window}])))' }
//!
//! [[train]]
//! name = "payments-weekly"
//! domain = "payments"
//! services = ["ledger"]
//! cadence = "FREQ=WEEKLY;BYDAY=TU;BYHOUR=3"
//! time_zone = "Europe/Berlin"
//! starts = "2026-01-06"         # the day the cadence counts from
//! planning_window = "3d"
//! cutover_window = "2h"
//! preflight = "2h"              # optional: planning closes this long before cutover
//! monitoring = "1h"             # optional: watched this long after the last step
//! gates = ["tests", "security_scan"]   # optional: check kinds, "observability" (the service has an SLO) or
//!                                      # "compliance" (enough approvers, never the author, approved the candidate);
//!                                      # "error_budget" (the service's error budget is not exhausted);
//!                                      # "api_contract" (every contract version required after the train is
//!                                      # provided; artifacts declare `contracts`); "contract" reads CI's
//!                                      # consumer-driven contract test results;
//!                                      # "schema" (an irreversible migration was signed off) is added by itself
//! emergency_gates = ["tests"]          # optional: the reduced gate set of this definition's emergency trains
//! overrides = false             # optional (default true): whether a failed or blocked gate may be let
//!                               # through by two people (a release manager asks, another approver grants)
//! deployer = "simulated"        # optional; or "webhook" with the two lines below
//! webhook_url = "https://deploy.example.com/hooks/railyard"
//! webhook_secret_env = "RAILYARD_WEBHOOK_SECRET"   # the variable holding the HMAC key
//! staging_webhook_url = "https://deploy-staging.example.com/hooks/railyard"   # optional: staging steps go here
//! # or deployer = "gitops": commits image tags to environments/<env>/<service>.yaml
//! # gitops_repo = "/srv/git/deploy.git"   # a path or file:// / https:// URL
//! # gitops_branch = "main"
//! metrics_provider = "prometheus"   # optional; default "simulated"
//! prometheus_url = "http://prometheus:9090"
//!
//! [[train.metric]]               # needed with prometheus; {track} is canary or baseline, {environment}
//!                               # the step's (staging or production), {service} each service on the train
//! name = "p95 latency"
//! query = 'histogram_quantile(0.95, sum by (le) (rate(http_seconds_bucket{service="{service}",track="{track}"}[1m])))'
//! direction = "increase"        # or "decrease", "either"
//! allowed_increase = 0.1
//! critical = false
//! dry_run = false               # true: judged and shown on the train page, but not scored
//! group = "latency"
//!
//! [[train.step]]                # optional; default: staging, 5%, 50%, 100%
//! name = "canary 5% eu-west"
//! environment = "production"    # or "staging"
//! weight = 5                    # % of the environment's (or the region's) traffic; grows within a region
//! soak = "30m"
//! region = "eu-west"            # optional: region-by-region rollouts, passed to the deployer
//!
//! [[train.group]]              # optional: services that board, miss and roll back together
//! name = "ledger-core"
//! services = ["ledger", "wallet"]
//!
//! [[kind]]                      # optional: the policy of a kind of train (regular, emergency, hotfix, rehearsal)
//! name = "hotfix"
//! gates = ["tests", "security_scan"]   # default: the definition's gates (regular, rehearsal), its
//!                                      # emergency_gates (emergency), emergency_gates + security_scan (hotfix)
//! approval = true               # optional: every candidate also needs the compliance gate
//! monitoring = "2h"             # optional: replaces the definition's (a rehearsal is never monitored)
//!
//! [[freeze]]
//! name = "year-end"
//! time_zone = "America/New_York"
//! starts = "2026-12-20"         # a date (midnight) or "2026-12-20T18:00"
//! ends = "2027-01-03"           # a date is the last frozen day; a time is when it lifts
//! # or, recurring: cadence = "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=20" and duration = "15d"
//! ```

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::analysis::budget::Slo;
use crate::analysis::{CanaryMetric, Direction, MetricPolicy};
use crate::cadence::{parse_soak, parse_window, Cadence, CadenceError};
use crate::delivery::{DeployerColumns, DeployerSettings};
use crate::engine::{default_rollout, Environment, Notice, RolloutStep};
use crate::gates::GateKind;
use crate::links::is_web_link;
use crate::train_kind::{KindPolicy, TrainKind};

/// One thing wrong with a file: where, which field, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    /// The entry, e.g. `train "payments-weekly"`.
    pub location: String,
    pub field: String,
    pub message: String,
}

impl Problem {
    /// A problem with `field` of the entry at `location` in `file`.
    pub fn new(file: &str, location: &str, field: &str, message: impl Into<String>) -> Self {
        Self { file: file.to_owned(), location: location.to_owned(), field: field.to_owned(), message: message.into() }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.file)?;
        if !self.location.is_empty() {
            write!(f, "{}: ", self.location)?;
        }
        if !self.field.is_empty() {
            write!(f, "field `{}`: ", self.field)?;
        }
        f.write_str(&self.message)
    }
}

/// A validated file, ready to apply.
#[derive(Debug, Clone, Default)]
pub struct Fleet {
    pub file: String,
    /// SHA-256 of the file's text (hex), recorded in the audit log by `apply`.
    pub digest: String,
    pub domains: Vec<DomainSpec>,
    pub services: Vec<ServiceSpec>,
    pub trains: Vec<TrainSpec>,
    pub freezes: Vec<FreezeSpec>,
    /// The policies of the kinds the file configures.
    pub kinds: Vec<KindPolicy>,
}

/// A domain as declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainSpec {
    pub name: String,
    pub description: String,
    pub colour: String,
    pub notify_webhook_env: String,
    pub notify_on: Vec<Notice>,
}

/// A service as declared.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceSpec {
    pub name: String,
    pub domain: String,
    pub owner: String,
    pub runbook_url: String,
    /// Who to call during a release, e.g. "#payments-oncall" or "pagerduty:payments-primary".
    pub on_call: String,
    pub slo: Option<ServiceSlo>,
    /// The services it calls (its providers), by name.
    pub calls: Vec<String>,
}

/// A service's SLO with the queries that measure it (as stored with the service).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceSlo {
    #[serde(flatten)]
    pub slo: Slo,
    /// PromQL counting good events over `{window}` for `{service}`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub good_query: String,
    /// PromQL counting all events over `{window}`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub total_query: String,
    /// PromQL for the p95 latency over `{window}`, in seconds.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub latency_query: String,
}

/// A train definition as declared.
#[derive(Debug, Clone)]
pub struct TrainSpec {
    pub name: String,
    pub domain: String,
    pub services: Vec<String>,
    pub cadence: Cadence,
    pub planning_window_ms: i64,
    pub cutover_window_ms: i64,
    pub preflight_ms: i64,
    pub monitoring_ms: i64,
    pub gates: Vec<String>,
    /// The reduced gate set of emergency trains.
    pub emergency_gates: Vec<String>,
    pub deployer: String,
    /// For the webhook deployer: the URL and the environment variable with its secret.
    pub webhook_url: String,
    pub webhook_secret_env: String,
    /// For the gitops deployer: the repository and branch.
    pub gitops_repo: String,
    pub gitops_branch: String,
    pub metrics_provider: String,
    pub prometheus_url: String,
    pub metrics: Vec<CanaryMetric>,
    pub rollout: Vec<RolloutStep>,
    /// Where the webhook deployer posts staging steps (empty: `webhook_url`).
    pub staging_webhook_url: String,
    /// Services that board, miss the train and roll back together.
    pub groups: Vec<AtomicGroup>,
    /// Whether a failed or blocked gate may be overridden by two people.
    pub overrides: bool,
}

/// When a freeze holds.
#[derive(Debug, Clone)]
pub enum FreezeSchedule {
    /// Once, from `start` until `end` (wall-clock times in the freeze's zone).
    Once { start: NaiveDateTime, end: NaiveDateTime },
    /// At every occurrence of `cadence`, for `duration_ms`.
    Recurring { cadence: Box<Cadence>, duration_ms: i64 },
}

/// A freeze as declared.
#[derive(Debug, Clone)]
pub struct FreezeSpec {
    pub name: String,
    /// `None` freezes every domain.
    pub domain: Option<String>,
    pub reason: String,
    pub time_zone: Tz,
    pub schedule: FreezeSchedule,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    domain: Vec<RawDomain>,
    #[serde(default)]
    service: Vec<RawService>,
    #[serde(default)]
    train: Vec<RawTrain>,
    #[serde(default)]
    freeze: Vec<FreezeEntry>,
    #[serde(default)]
    kind: Vec<RawKind>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKind {
    name: String,
    gates: Option<Vec<String>>,
    monitoring: Option<String>,
    #[serde(default)]
    approval: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    name: String,
    services: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDomain {
    name: String,
    #[serde(default)]
    description: String,
    colour: Option<String>,
    #[serde(default)]
    notify_webhook_env: String,
    notify_on: Option<Vec<Notice>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawService {
    name: String,
    domain: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    runbook: String,
    #[serde(default)]
    on_call: String,
    slo: Option<RawSlo>,
    #[serde(default)]
    calls: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSlo {
    target: f64,
    window: String,
    #[serde(default)]
    good: String,
    #[serde(default)]
    total: String,
    #[serde(default)]
    latency: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTrain {
    name: String,
    domain: String,
    #[serde(default)]
    services: Vec<String>,
    cadence: String,
    time_zone: String,
    starts: String,
    planning_window: String,
    cutover_window: String,
    preflight: Option<String>,
    monitoring: Option<String>,
    gates: Option<Vec<String>>,
    emergency_gates: Option<Vec<String>>,
    overrides: Option<bool>,
    deployer: Option<String>,
    #[serde(default)]
    webhook_url: String,
    #[serde(default)]
    webhook_secret_env: String,
    #[serde(default)]
    staging_webhook_url: String,
    #[serde(default)]
    gitops_repo: String,
    #[serde(default)]
    gitops_branch: String,
    metrics_provider: Option<String>,
    #[serde(default)]
    prometheus_url: String,
    #[serde(default)]
    metric: Vec<RawMetric>,
    #[serde(default)]
    step: Vec<RawStep>,
    #[serde(default)]
    group: Vec<RawGroup>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMetric {
    name: String,
    query: String,
    #[serde(default = "increase")]
    direction: Direction,
    #[serde(default)]
    allowed_increase: f64,
    #[serde(default)]
    allowed_decrease: f64,
    #[serde(default)]
    critical: bool,
    #[serde(default)]
    dry_run: bool,
    #[serde(default = "default_group")]
    group: String,
}

fn increase() -> Direction {
    Direction::Increase
}

fn default_group() -> String {
    "default".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    name: String,
    environment: Environment,
    weight: u8,
    soak: String,
    region: Option<String>,
}

/// A freeze as written: a `[[freeze]]` entry, or the body of a freeze declared in the console or the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FreezeEntry {
    pub name: String,
    pub domain: Option<String>,
    #[serde(default)]
    pub reason: String,
    pub time_zone: String,
    /// A date (midnight) or `YYYY-MM-DDTHH:MM` in `time_zone`.
    pub starts: String,
    /// A date (the last frozen day) or a time (when it lifts).
    pub ends: Option<String>,
    pub cadence: Option<String>,
    pub duration: Option<String>,
}

/// Services of a train that board, miss it and roll back together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AtomicGroup {
    pub name: String,
    pub services: Vec<String>,
}

/// Colour-blind-safe colours (Okabe–Ito) for domains that name none.
const PALETTE: [&str; 7] = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#8C6D00"];

/// Parses and validates a whole file; every problem found is reported.
pub fn parse(file: &str, text: &str) -> Result<Fleet, Vec<Problem>> {
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let place = e.span().map(|span| line_and_column(text, span.start)).unwrap_or_default();
        vec![Problem::new(file, &place, "", e.message().to_owned())]
    })?;
    let mut check = Checker { file, problems: Vec::new() };
    let fleet = Fleet {
        file: file.to_owned(),
        digest: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(text.as_bytes())),
        domains: raw.domain.into_iter().filter_map(|d| check.domain(d)).collect(),
        services: raw.service.into_iter().filter_map(|s| check.service(s)).collect(),
        trains: raw.train.into_iter().filter_map(|t| check.train(t)).collect(),
        freezes: raw.freeze.into_iter().filter_map(|f| check.freeze(f)).collect(),
        kinds: raw.kind.into_iter().filter_map(|k| check.kind(k)).collect(),
    };
    check.unique("domain", fleet.domains.iter().map(|d| d.name.as_str()));
    check.unique("service", fleet.services.iter().map(|s| s.name.as_str()));
    check.unique("train", fleet.trains.iter().map(|t| t.name.as_str()));
    check.unique("freeze", fleet.freezes.iter().map(|f| f.name.as_str()));
    check.unique("kind", fleet.kinds.iter().map(|k| k.kind.as_str()));
    check.dependencies(&fleet.services);
    if check.problems.is_empty() {
        Ok(fleet)
    } else {
        Err(check.problems)
    }
}

/// Validates one freeze declared outside a file (`source` names where it came from), exactly as
/// a `[[freeze]]` entry is validated.
pub fn parse_freeze(source: &str, entry: FreezeEntry) -> Result<FreezeSpec, Vec<Problem>> {
    let mut check = Checker { file: source, problems: Vec::new() };
    match check.freeze(entry) {
        Some(spec) if check.problems.is_empty() => Ok(spec),
        _ => Err(check.problems),
    }
}

fn line_and_column(text: &str, offset: usize) -> String {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(before.len(), |nl| before.len() - nl - 1) + 1;
    format!("line {line}, column {column}")
}

struct Checker<'a> {
    file: &'a str,
    problems: Vec<Problem>,
}

impl Checker<'_> {
    fn problem(&mut self, location: &str, field: &str, message: impl Into<String>) {
        self.problems.push(Problem::new(self.file, location, field, message));
    }

    fn name(&mut self, kind: &str, name: &str) -> bool {
        let valid = !name.is_empty()
            && name.len() <= 63
            && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !name.starts_with('-');
        if !valid {
            self.problem(
                &format!("{kind} \"{name}\""),
                "name",
                "must be 1-63 characters of lowercase letters, digits and '-', not starting with '-'",
            );
        }
        valid
    }

    fn unique<'n>(&mut self, kind: &str, names: impl Iterator<Item = &'n str>) {
        let mut seen = HashSet::new();
        for name in names {
            if !seen.insert(name) {
                self.problem(
                    &format!("{kind} \"{name}\""),
                    "name",
                    format!("another {kind} is already called \"{name}\""),
                );
            }
        }
    }

    /// Calls name services, a service does not call itself twice, and the
    /// calls within the file form no cycle (apply checks them again with the
    /// services already stored).
    fn dependencies(&mut self, services: &[ServiceSpec]) {
        for service in services {
            let at = format!("service \"{}\"", service.name);
            let mut seen = HashSet::new();
            for callee in &service.calls {
                if !seen.insert(callee) {
                    self.problem(&at, "calls", format!("lists \"{callee}\" twice"));
                }
            }
        }
        let graph = super::graph::Graph::new(services.iter().map(|s| (s.name.as_str(), s.calls.as_slice())));
        if let Some(cycle) = graph.cycle() {
            self.problem(
                &format!("service \"{}\"", cycle[0]),
                "calls",
                format!("dependency cycle: {}; services must not call each other in a circle", cycle.join(" → ")),
            );
        }
    }

    fn domain(&mut self, raw: RawDomain) -> Option<DomainSpec> {
        let ok = self.name("domain", &raw.name);
        let colour = match raw.colour {
            Some(colour) if is_hex_colour(&colour) => colour.to_ascii_uppercase(),
            Some(colour) => {
                self.problem(
                    &format!("domain \"{}\"", raw.name),
                    "colour",
                    format!("\"{colour}\" is not a colour like \"#0072B2\""),
                );
                return None;
            }
            None => default_colour(&raw.name).to_owned(),
        };
        let env_ok = raw.notify_webhook_env.is_empty() || is_env_name(&raw.notify_webhook_env);
        if !env_ok {
            self.problem(
                &format!("domain \"{}\"", raw.name),
                "notify_webhook_env",
                "must name an environment variable, e.g. PAYMENTS_SLACK_URL",
            );
        }
        let notify_on = raw.notify_on.unwrap_or_else(|| Notice::ALL.to_vec());
        (ok && env_ok).then_some(DomainSpec {
            name: raw.name,
            description: raw.description,
            colour,
            notify_webhook_env: raw.notify_webhook_env,
            notify_on,
        })
    }

    fn service(&mut self, raw: RawService) -> Option<ServiceSpec> {
        let ok = self.name("service", &raw.name);
        if !raw.runbook.is_empty() && !is_web_link(&raw.runbook) {
            self.problem(&format!("service \"{}\"", raw.name), "runbook", "must be an http(s) URL");
            return None;
        }
        let at = format!("service \"{}\"", raw.name);
        let slo = match raw.slo {
            None => None,
            Some(slo) => {
                let window = self.window(&at, "slo.window", &slo.window)?;
                let target = Slo::new(slo.target, window).map_err(|e| self.problem(&at, "slo.target", e)).ok()?;
                if slo.good.is_empty() != slo.total.is_empty() {
                    self.problem(&at, "slo.good", "`good` and `total` SLI queries go together");
                    return None;
                }
                for (field, query) in
                    [("slo.good", &slo.good), ("slo.total", &slo.total), ("slo.latency", &slo.latency)]
                {
                    if !query.is_empty() && !query.contains("{window}") {
                        self.problem(&at, field, "must contain {window} (the span Railyard asks about)");
                        return None;
                    }
                }
                Some(ServiceSlo {
                    slo: target,
                    good_query: slo.good,
                    total_query: slo.total,
                    latency_query: slo.latency,
                })
            }
        };
        ok.then_some(ServiceSpec {
            name: raw.name,
            domain: raw.domain,
            owner: raw.owner,
            runbook_url: raw.runbook,
            on_call: raw.on_call.trim().to_owned(),
            slo,
            calls: raw.calls,
        })
    }

    fn train(&mut self, raw: RawTrain) -> Option<TrainSpec> {
        let ok = self.name("train", &raw.name);
        let at = format!("train \"{}\"", raw.name);
        let starts = self.date(&at, "starts", &raw.starts);
        let planning = self.window(&at, "planning_window", &raw.planning_window);
        let cutover = self.window(&at, "cutover_window", &raw.cutover_window);
        let cadence = starts.and_then(|starts| self.cadence(&at, &raw.cadence, &raw.time_zone, starts));
        if raw.services.is_empty() {
            self.problem(&at, "services", "must name at least one service");
        }
        let mut seen = HashSet::new();
        for service in &raw.services {
            if !seen.insert(service) {
                self.problem(&at, "services", format!("names \"{service}\" twice"));
            }
        }
        let ok = ok && !raw.services.is_empty() && seen.len() == raw.services.len();
        let preflight = self.window(&at, "preflight", raw.preflight.as_deref().unwrap_or("2h"));
        let monitoring = self.window(&at, "monitoring", raw.monitoring.as_deref().unwrap_or("1h"));
        if let (Some(preflight), Some(planning)) = (preflight, planning) {
            if preflight >= planning {
                self.problem(&at, "preflight", "must be shorter than `planning_window`");
            }
        }
        let gates = raw.gates.clone().unwrap_or_else(|| vec!["tests".into(), "security_scan".into()]);
        let emergency_gates = raw.emergency_gates.clone().unwrap_or_else(|| vec!["tests".into()]);
        let known_gates = self.gates(&at, "gates", &gates) & self.gates(&at, "emergency_gates", &emergency_gates);
        let groups = self.groups(&at, &raw.services, &raw.group);
        let deployer = raw.deployer.clone().unwrap_or_else(|| "simulated".into());
        let deployer_ok = self.deployer(&at, &deployer, &raw);
        let metrics_provider = raw.metrics_provider.clone().unwrap_or_else(|| "simulated".into());
        let metrics = self.metrics(&at, &metrics_provider, &raw.prometheus_url, raw.metric);
        let rollout = self.rollout(&at, raw.step);
        let valid = ok && known_gates && deployer_ok && groups.is_some();
        match (valid, cadence, planning, cutover, preflight, monitoring, rollout, metrics) {
            (
                true,
                Some(cadence),
                Some(planning_window_ms),
                Some(cutover_window_ms),
                Some(preflight_ms),
                Some(monitoring_ms),
                Some(rollout),
                Some(metrics),
            ) if preflight_ms < planning_window_ms => Some(TrainSpec {
                name: raw.name,
                domain: raw.domain,
                services: raw.services,
                cadence,
                planning_window_ms,
                cutover_window_ms,
                preflight_ms,
                monitoring_ms,
                gates,
                emergency_gates,
                deployer,
                webhook_url: raw.webhook_url,
                webhook_secret_env: raw.webhook_secret_env,
                gitops_repo: raw.gitops_repo,
                gitops_branch: raw.gitops_branch,
                metrics_provider,
                prometheus_url: raw.prometheus_url,
                metrics,
                rollout,
                staging_webhook_url: raw.staging_webhook_url,
                groups: groups.unwrap_or_default(),
                overrides: raw.overrides.unwrap_or(true),
            }),
            _ => None,
        }
    }

    /// Whether every gate in `list` is one Railyard knows (reporting the others).
    fn gates(&mut self, at: &str, field: &str, list: &[String]) -> bool {
        match list.iter().map(|gate| GateKind::parse(gate)).find_map(Result::err) {
            Some(unknown) => {
                self.problem(at, field, unknown.to_string());
                false
            }
            None => true,
        }
    }

    /// A train's atomic groups: named, two or more of its own services, each service in one group.
    fn groups(&mut self, at: &str, services: &[String], raw: &[RawGroup]) -> Option<Vec<AtomicGroup>> {
        let before = self.problems.len();
        let mut grouped: HashSet<&str> = HashSet::new();
        let mut names: HashSet<&str> = HashSet::new();
        for group in raw {
            if !names.insert(group.name.as_str()) {
                self.problem(at, "group", format!("two groups are called \"{}\"", group.name));
            }
            if group.services.len() < 2 {
                self.problem(at, "group", format!("group \"{}\" needs at least two services", group.name));
            }
            for service in &group.services {
                if !services.contains(service) {
                    self.problem(
                        at,
                        "group",
                        format!(
                            "group \"{}\" names \"{service}\", which is not one of the train's services",
                            group.name
                        ),
                    );
                } else if !grouped.insert(service.as_str()) {
                    self.problem(
                        at,
                        "group",
                        format!("\"{service}\" is in two groups; a service boards with one group"),
                    );
                }
            }
        }
        (self.problems.len() == before)
            .then(|| raw.iter().map(|g| AtomicGroup { name: g.name.clone(), services: g.services.clone() }).collect())
    }

    /// The policy of one kind of train.
    fn kind(&mut self, raw: RawKind) -> Option<KindPolicy> {
        let at = format!("kind \"{}\"", raw.name);
        let kind = match raw.name.parse::<TrainKind>() {
            Ok(kind) => kind,
            Err(message) => {
                self.problem(&at, "name", message);
                return None;
            }
        };
        let gates_ok = raw.gates.as_ref().is_none_or(|gates| self.gates(&at, "gates", gates));
        if kind == TrainKind::Rehearsal && raw.monitoring.is_some() {
            self.problem(&at, "monitoring", "a rehearsal never reaches production, so there is nothing to monitor");
            return None;
        }
        if kind == TrainKind::Regular && raw.gates.is_some() {
            self.problem(&at, "gates", "a regular train runs its definition's `gates`; set them there");
            return None;
        }
        let monitoring_ms = match raw.monitoring.as_deref() {
            Some(text) => Some(self.window(&at, "monitoring", text)?),
            None => None,
        };
        gates_ok.then_some(KindPolicy { kind, gates: raw.gates, monitoring_ms, approval: raw.approval })
    }

    /// Checks the deployer and the settings it needs (and only those).
    fn deployer(&mut self, at: &str, deployer: &str, raw: &RawTrain) -> bool {
        let webhook_set = !raw.webhook_url.is_empty() || !raw.webhook_secret_env.is_empty();
        let gitops_set = !raw.gitops_repo.is_empty() || !raw.gitops_branch.is_empty();
        let named = DeployerColumns { name: deployer, ..DeployerColumns::default() };
        if let Err(unknown) = DeployerSettings::from_columns(named) {
            self.problem(at, "deployer", unknown.to_string());
            return false;
        }
        if webhook_set && deployer != "webhook" {
            self.problem(at, "webhook_url", "is only for deployer = \"webhook\"");
            return false;
        }
        if gitops_set && deployer != "gitops" {
            self.problem(at, "gitops_repo", "is only for deployer = \"gitops\"");
            return false;
        }
        if !raw.staging_webhook_url.is_empty() && (deployer != "webhook" || !is_web_link(&raw.staging_webhook_url)) {
            self.problem(at, "staging_webhook_url", "is an http(s) URL, and only for deployer = \"webhook\"");
            return false;
        }
        match deployer {
            "webhook" => {
                let url_ok = is_web_link(&raw.webhook_url);
                if !url_ok {
                    self.problem(at, "webhook_url", "the webhook deployer needs an http(s) URL to post to");
                }
                let env_ok = is_env_name(&raw.webhook_secret_env);
                if !env_ok {
                    self.problem(
                        at,
                        "webhook_secret_env",
                        "name the environment variable holding the signing secret, e.g. RAILYARD_WEBHOOK_SECRET",
                    );
                }
                url_ok && env_ok
            }
            "gitops" => {
                let repo_ok = !raw.gitops_repo.trim().is_empty() && !raw.gitops_repo.starts_with('-');
                if !repo_ok {
                    self.problem(at, "gitops_repo", "the gitops deployer needs a repository path or URL");
                }
                let branch = raw.gitops_branch.as_str();
                let branch_ok = !branch.is_empty()
                    && !branch.starts_with('-')
                    && !branch.contains("..")
                    && branch.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c));
                if !branch_ok {
                    self.problem(at, "gitops_branch", "name the branch Argo CD or Flux syncs, e.g. \"main\"");
                }
                repo_ok && branch_ok
            }
            _ => true,
        }
    }

    /// The metrics a Prometheus-judged train compares, validated.
    fn metrics(&mut self, at: &str, provider: &str, url: &str, raw: Vec<RawMetric>) -> Option<Vec<CanaryMetric>> {
        match provider {
            "simulated" => {
                if !url.is_empty() || !raw.is_empty() {
                    self.problem(
                        at,
                        "metrics_provider",
                        "prometheus_url and [[train.metric]] need metrics_provider = \"prometheus\"",
                    );
                    return None;
                }
                return Some(Vec::new());
            }
            "prometheus" => {}
            other => {
                self.problem(
                    at,
                    "metrics_provider",
                    format!("\"{other}\" is not a metrics provider; available: simulated, prometheus"),
                );
                return None;
            }
        }
        if !is_web_link(url) {
            self.problem(at, "prometheus_url", "must be the http(s) base URL of Prometheus");
            return None;
        }
        if raw.is_empty() {
            self.problem(at, "metric", "a Prometheus-judged train needs at least one [[train.metric]]");
            return None;
        }
        let mut metrics = Vec::new();
        for (index, metric) in raw.into_iter().enumerate() {
            let field = format!("metric[{index}]");
            if metric.name.trim().is_empty() {
                self.problem(at, &format!("{field}.name"), "every metric needs a name");
                return None;
            }
            if !metric.query.contains("{track}") {
                self.problem(at, &format!("{field}.query"), "must contain {track}, so canary and baseline differ");
                return None;
            }
            if metric.critical && metric.dry_run {
                self.problem(
                    at,
                    &format!("{field}.dry_run"),
                    "a dry-run metric decides nothing, so it cannot be critical",
                );
                return None;
            }
            if metric.allowed_increase < 0.0 || metric.allowed_decrease < 0.0 {
                self.problem(at, &format!("{field}.allowed_increase"), "tolerances cannot be negative");
                return None;
            }
            metrics.push(CanaryMetric {
                name: metric.name,
                query: metric.query,
                group: metric.group,
                critical: metric.critical,
                dry_run: metric.dry_run,
                policy: MetricPolicy {
                    direction: metric.direction,
                    allowed_increase: metric.allowed_increase,
                    allowed_decrease: metric.allowed_decrease,
                    ..MetricPolicy::default()
                },
            });
        }
        Some(metrics)
    }

    /// The rollout steps, or the default plan: staging, then 5%, 50% and 100% of production.
    fn rollout(&mut self, at: &str, steps: Vec<RawStep>) -> Option<Vec<RolloutStep>> {
        if steps.is_empty() {
            return Some(default_rollout());
        }
        if steps.len() > 20 {
            self.problem(at, "step", "a train may have at most 20 rollout steps");
            return None;
        }
        let mut rollout = Vec::new();
        let mut names = HashSet::new();
        for (index, raw) in steps.into_iter().enumerate() {
            let field = format!("step[{index}]");
            if raw.name.trim().is_empty() || !names.insert(raw.name.clone()) {
                self.problem(at, &format!("{field}.name"), "every step needs its own name");
                return None;
            }
            if !(1..=100).contains(&raw.weight) {
                self.problem(at, &format!("{field}.weight"), "must be a percentage from 1 to 100");
                return None;
            }
            let soak_ms = parse_soak(&raw.soak).map_err(|e| self.problem(at, &format!("{field}.soak"), e)).ok()?;
            if let Some(previous) = rollout.last() {
                let previous: &RolloutStep = previous;
                if previous.environment == Environment::Production && raw.environment == Environment::Staging {
                    self.problem(
                        at,
                        &format!("{field}.environment"),
                        "staging steps must come before production steps",
                    );
                    return None;
                }
            }
            // Within a region (or a rollout without regions) traffic only grows; a new region starts small again.
            let same_region = rollout
                .iter()
                .rev()
                .find(|step: &&RolloutStep| step.environment == Environment::Production && step.region == raw.region);
            if raw.environment == Environment::Production && same_region.is_some_and(|s| raw.weight < s.weight) {
                self.problem(at, &format!("{field}.weight"), "production weights may only grow within a region");
                return None;
            }
            let region = raw.region.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty());
            rollout.push(RolloutStep {
                name: raw.name,
                environment: raw.environment,
                weight: raw.weight,
                soak_ms,
                region,
            });
        }
        match rollout.last() {
            Some(last) if last.environment == Environment::Production && last.weight == 100 => Some(rollout),
            _ => {
                self.problem(at, "step", "the last step must send 100% of production traffic");
                None
            }
        }
    }

    fn freeze(&mut self, raw: FreezeEntry) -> Option<FreezeSpec> {
        let ok = self.name("freeze", &raw.name);
        let at = format!("freeze \"{}\"", raw.name);
        let Ok(time_zone) = Tz::from_str(&raw.time_zone) else {
            self.problem(&at, "time_zone", CadenceError::TimeZone(raw.time_zone.clone()).to_string());
            return None;
        };
        let (start, start_is_date) = self.date_or_time(&at, "starts", &raw.starts)?;
        let schedule = match (raw.ends, raw.cadence, raw.duration) {
            (Some(ends), None, None) => {
                let (end, end_is_date) = self.date_or_time(&at, "ends", &ends)?;
                // A date names the last frozen day, so the freeze lifts at the following midnight.
                let end = if end_is_date { end + Duration::days(1) } else { end };
                if end <= start {
                    self.problem(&at, "ends", "must be after `starts`");
                    return None;
                }
                FreezeSchedule::Once { start, end }
            }
            (None, Some(rule), Some(duration)) => {
                if !start_is_date {
                    self.problem(
                        &at,
                        "starts",
                        "of a recurring freeze must be a date (the day the cadence counts from)",
                    );
                    return None;
                }
                let cadence = self.cadence(&at, &rule, &raw.time_zone, start.date());
                let duration_ms = self.window(&at, "duration", &duration);
                FreezeSchedule::Recurring { cadence: Box::new(cadence?), duration_ms: duration_ms? }
            }
            _ => {
                self.problem(&at, "ends", "give either `ends`, or both `cadence` and `duration`");
                return None;
            }
        };
        ok.then_some(FreezeSpec { name: raw.name, domain: raw.domain, reason: raw.reason, time_zone, schedule })
    }

    fn cadence(&mut self, at: &str, rule: &str, time_zone: &str, starts: NaiveDate) -> Option<Cadence> {
        Cadence::parse(rule, time_zone, starts)
            .map_err(|e| {
                let field = if matches!(e, CadenceError::TimeZone(_)) { "time_zone" } else { "cadence" };
                self.problem(at, field, e.to_string());
            })
            .ok()
    }

    fn window(&mut self, at: &str, field: &str, text: &str) -> Option<i64> {
        parse_window(text).map_err(|e| self.problem(at, field, e)).ok()
    }

    fn date(&mut self, at: &str, field: &str, text: &str) -> Option<NaiveDate> {
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map_err(|_| self.problem(at, field, format!("\"{text}\" is not a date like \"2026-01-06\"")))
            .ok()
    }

    fn date_or_time(&mut self, at: &str, field: &str, text: &str) -> Option<(NaiveDateTime, bool)> {
        if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            return Some((date.and_hms_opt(0, 0, 0).unwrap_or_default(), true));
        }
        NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
            .map(|t| (t, false))
            .map_err(|_| {
                self.problem(
                    at,
                    field,
                    format!("\"{text}\" is not a date or time like \"2026-12-20\" or \"2026-12-20T18:00\""),
                )
            })
            .ok()
    }
}

/// An environment variable name: upper-case letters, digits and `_`, not starting with a digit.
fn is_env_name(text: &str) -> bool {
    !text.is_empty()
        && text.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        && !text.starts_with(|c: char| c.is_ascii_digit())
}

fn is_hex_colour(text: &str) -> bool {
    text.len() == 7 && text.starts_with('#') && text[1..].chars().all(|c| c.is_ascii_hexdigit())
}

/// A stable palette colour for a domain that names none.
fn default_colour(name: &str) -> &'static str {
    let hash = name.bytes().fold(2_166_136_261_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(16_777_619));
    PALETTE[hash as usize % PALETTE.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = r##"
        [[domain]]
        name = "payments"
        colour = "#0072b2"

        [[service]]
        name = "ledger"
        domain = "payments"

        [[train]]
        name = "payments-weekly"
        domain = "payments"
        services = ["ledger"]
        cadence = "FREQ=WEEKLY;BYDAY=TU;BYHOUR=3"
        time_zone = "Europe/Berlin"
        starts = "2026-01-06"
        planning_window = "3d"
        cutover_window = "2h"

        [[freeze]]
        name = "year-end"
        time_zone = "America/New_York"
        starts = "2026-12-20"
        ends = "2027-01-03"
    "##;

    fn problems(text: &str) -> Vec<String> {
        parse("fleet.toml", text).expect_err("should be refused").iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_valid_file_parses_with_its_windows_and_colours() {
        let fleet = parse("fleet.toml", VALID).expect("valid");
        assert_eq!(fleet.domains[0].colour, "#0072B2");
        assert_eq!(fleet.trains[0].planning_window_ms, 3 * 86_400_000);
        let FreezeSchedule::Once { start, end } = fleet.freezes[0].schedule else { panic!("one-off freeze") };
        assert_eq!(end - start, Duration::days(15), "an end date is the last frozen day");
    }

    #[test]
    fn an_invalid_rrule_names_the_train_and_field() {
        let text = VALID.replace("FREQ=WEEKLY;BYDAY=TU;BYHOUR=3", "FREQ=WEEKLY;BYDAY=FUNDAY");
        let found = problems(&text);
        assert_eq!(found.len(), 1);
        assert!(found[0].starts_with("fleet.toml: train \"payments-weekly\": field `cadence`: "), "{found:?}");
    }

    #[test]
    fn an_unknown_time_zone_is_named() {
        let found = problems(&VALID.replace("Europe/Berlin", "Europe/Atlantis"));
        assert_eq!(found, vec!["fleet.toml: train \"payments-weekly\": field `time_zone`: \"Europe/Atlantis\" is not an IANA time zone name like \"Europe/Berlin\"".to_owned()]);
    }

    #[test]
    fn a_zero_length_window_is_refused() {
        let found = problems(&VALID.replace("\"2h\"", "\"0m\""));
        assert_eq!(found.len(), 1);
        assert!(found[0].contains("field `cutover_window`") && found[0].contains("zero"), "{found:?}");
    }

    #[test]
    fn slo_queries_come_in_pairs_and_name_their_window() {
        let service = |slo: &str| format!("{VALID}\n[[service]]\nname = \"fx\"\ndomain = \"payments\"\nslo = {slo}\n");
        let text = service(
            r#"{ target = 0.999, window = "28d", good = 'sum(increase(ok{service="{service}"}[{window}]))', total = 'sum(increase(all[{window}]))' }"#,
        );
        let fleet = parse("fleet.toml", &text).expect("valid");
        let slo = fleet.services.iter().find(|s| s.name == "fx").and_then(|s| s.slo.clone()).expect("an SLO");
        assert_eq!(slo.good_query, r#"sum(increase(ok{service="{service}"}[{window}]))"#);
        let stored = serde_json::to_string(&slo).expect("JSON");
        assert_eq!(serde_json::from_str::<ServiceSlo>(&stored).ok(), Some(slo), "stored and read back");
        let older = serde_json::from_str::<ServiceSlo>(r#"{"target":0.999,"window_ms":2419200000}"#)
            .expect("an SLO stored before queries");
        assert!(older.good_query.is_empty());

        let found = problems(&service(r#"{ target = 0.999, window = "28d", good = 'x[{window}]' }"#));
        assert!(found[0].contains("field `slo.good`: `good` and `total` SLI queries go together"), "{found:?}");
        let found = problems(&service(r#"{ target = 0.999, window = "28d", good = 'x[5m]', total = 'y[{window}]' }"#));
        assert!(found[0].contains("field `slo.good`: must contain {window}"), "{found:?}");
    }

    #[test]
    fn duplicate_names_are_refused() {
        let text = format!("{VALID}\n[[domain]]\nname = \"payments\"\n");
        assert!(problems(&text).iter().any(|p| p.contains("domain \"payments\": field `name`: another domain")));
    }

    #[test]
    fn unknown_fields_and_syntax_errors_give_a_line() {
        let found = problems("[[domain]]\nname = \"x\"\ncolor = \"#000000\"\n");
        assert!(found[0].starts_with("fleet.toml: line 3, column 1: unknown field `color`"), "{found:?}");
    }

    const STEPS: &str = r#"
        [[train.step]]
        name = "staging"
        environment = "staging"
        weight = 100
        soak = "10m"

        [[train.step]]
        name = "canary"
        environment = "production"
        weight = 10
        soak = "30m"

        [[train.step]]
        name = "everyone"
        environment = "production"
        weight = 100
        soak = "0s"
    "#;

    fn with_steps(steps: &str) -> String {
        VALID.replace("        [[freeze]]", &format!("{steps}\n        [[freeze]]"))
    }

    #[test]
    fn a_train_declares_its_rollout_steps_or_gets_the_default_plan() {
        let fleet = parse("fleet.toml", &with_steps(STEPS)).expect("valid");
        let weights: Vec<u8> = fleet.trains[0].rollout.iter().map(|s| s.weight).collect();
        assert_eq!(weights, vec![100, 10, 100]);
        assert_eq!(fleet.trains[0].rollout[2].soak_ms, 0);
        let default = parse("fleet.toml", VALID).expect("valid");
        assert_eq!(default.trains[0].rollout.len(), 4);
        assert_eq!(default.trains[0].gates, vec!["tests".to_owned(), "security_scan".to_owned()]);
    }

    #[test]
    fn a_rollout_can_go_region_by_region() {
        let regions = r#"
        [[train.step]]
        name = "canary 5% eu-west"
        environment = "production"
        weight = 5
        soak = "15m"
        region = "eu-west"

        [[train.step]]
        name = "eu-west"
        environment = "production"
        weight = 100
        soak = "15m"
        region = "eu-west"

        [[train.step]]
        name = "canary 5% us-east"
        environment = "production"
        weight = 5
        soak = "15m"
        region = "us-east"

        [[train.step]]
        name = "us-east"
        environment = "production"
        weight = 100
        soak = "0s"
        region = "us-east"
"#;
        let fleet = parse("fleet.toml", &with_steps(regions)).expect("valid");
        let plan: Vec<(u8, Option<&str>)> =
            fleet.trains[0].rollout.iter().map(|s| (s.weight, s.region.as_deref())).collect();
        assert_eq!(
            plan,
            vec![(5, Some("eu-west")), (100, Some("eu-west")), (5, Some("us-east")), (100, Some("us-east"))]
        );
        let shrinking = regions.replace(
            "weight = 100\n        soak = \"15m\"\n        region = \"eu-west\"",
            "weight = 3\n        soak = \"15m\"\n        region = \"eu-west\"",
        );
        assert!(problems(&with_steps(&shrinking)).iter().any(|p| p.contains("only grow within a region")));
    }

    #[test]
    fn rollout_plans_that_cannot_work_are_refused() {
        let shrinking = STEPS
            .replace("weight = 10\n", "weight = 60\n")
            .replace("\"everyone\"", "\"half\"")
            .replace("weight = 100\n        soak = \"0s\"", "weight = 50\n        soak = \"0s\"");
        assert!(problems(&with_steps(&shrinking)).iter().any(|p| p.contains("production weights may only grow")));
        let same_region = STEPS.replace("weight = 10\n", "weight = 60\n").replace(
            "weight = 100\n        soak = \"0s\"",
            "weight = 100\n        soak = \"0s\"\n        region = \"eu-west\"",
        );
        assert!(parse("fleet.toml", &with_steps(&same_region)).is_ok(), "60% everywhere, then 100% in eu-west");
        let unfinished = STEPS.replace("weight = 100\n        soak = \"0s\"", "weight = 90\n        soak = \"0s\"");
        assert!(problems(&with_steps(&unfinished)).iter().any(|p| p.contains("100% of production traffic")));
        let bad_gate = VALID.replace("cutover_window = \"2h\"", "cutover_window = \"2h\"\n        gates = [\"vibes\"]");
        assert!(problems(&bad_gate).iter().any(|p| p.contains("field `gates`")));
        let late_planning =
            VALID.replace("cutover_window = \"2h\"", "cutover_window = \"2h\"\n        preflight = \"4d\"");
        assert!(problems(&late_planning).iter().any(|p| p.contains("field `preflight`: must be shorter")));
    }

    #[test]
    fn prometheus_judged_trains_need_metrics_that_tell_canary_from_baseline() {
        let provider = "cutover_window = \"2h\"\n        metrics_provider = \"prometheus\"\n        prometheus_url = \"http://prom:9090\"";
        let without_metrics = VALID.replace("cutover_window = \"2h\"", provider);
        assert!(problems(&without_metrics).iter().any(|p| p.contains("at least one [[train.metric]]")));
        let metric =
            "\n        [[train.metric]]\n        name = \"p95\"\n        query = 'latency{track=\"canary\"}'\n";
        let same_track = with_steps(&format!("{metric}{STEPS}")).replace("cutover_window = \"2h\"", provider);
        assert!(
            problems(&same_track).iter().any(|p| p.contains("must contain {track}")),
            "{:?}",
            problems(&same_track)
        );
        let good = with_steps(&format!("{}{STEPS}", metric.replace("\"canary\"", "\"{track}\"")))
            .replace("cutover_window = \"2h\"", provider);
        let fleet = parse("fleet.toml", &good).expect("valid");
        assert_eq!(
            fleet.trains[0].metrics[0].query_for("baseline", "ledger", "production"),
            "latency{track=\"baseline\"}"
        );
        assert!(!fleet.trains[0].metrics[0].dry_run, "metrics are scored unless they say otherwise");
        let on_probation = good.replace("name = \"p95\"", "name = \"p95\"\n        dry_run = true");
        assert!(parse("fleet.toml", &on_probation).expect("valid").trains[0].metrics[0].dry_run);
        let critical = on_probation.replace("dry_run = true", "dry_run = true\n        critical = true");
        assert!(problems(&critical).iter().any(|p| p.contains("cannot be critical")), "{:?}", problems(&critical));
    }

    #[test]
    fn every_problem_in_a_file_is_reported_at_once() {
        let text = VALID.replace("\"3d\"", "\"never\"").replace("Europe/Berlin", "Nowhere");
        assert_eq!(problems(&text).len(), 2);
    }

    #[test]
    fn kinds_of_train_are_configured_by_name_with_their_own_gates() {
        let kinds = format!(
            "{VALID}\n[[kind]]\nname = \"hotfix\"\ngates = [\"tests\"]\napproval = true\nmonitoring = \"2h\"\n"
        );
        let fleet = parse("fleet.toml", &kinds).expect("valid");
        assert_eq!(
            fleet.kinds,
            vec![KindPolicy {
                kind: TrainKind::Hotfix,
                gates: Some(vec!["tests".into()]),
                monitoring_ms: Some(2 * 3_600_000),
                approval: true,
            }]
        );
        for (entry, expected) in [
            ("name = \"canary\"", "\"canary\" is not a kind of train"),
            ("name = \"rehearsal\"\nmonitoring = \"1h\"", "nothing to monitor"),
            ("name = \"regular\"\ngates = [\"tests\"]", "set them there"),
            ("name = \"emergency\"\ngates = [\"smoke\"]", "\"smoke\" is not a gate; available: observability"),
        ] {
            let text = format!("{VALID}\n[[kind]]\n{entry}\n");
            assert!(problems(&text).iter().any(|p| p.contains(expected)), "{entry}: {:?}", problems(&text));
        }
    }
}
