//! The trains-as-code file format and its validation. Pure.
//!
//! ```toml
//! [[domain]]
//! name = "payments"
//! colour = "#0072B2"            # optional
//! notify_webhook_env = "PAYMENTS_SLACK_URL"   # optional: variable holding a Slack-compatible webhook URL
//! notify_on = ["opened", "gate_failed", "approval_requested", "approval_expiring", "held", "rollback_started", "completed", "skipped", "drift"]   # optional
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
//! # or deployer = "gitops" with a [train.gitops] table (below)
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
//! [train.gitops]                # the gitops deployer: commits each step to a repository Argo CD or Flux syncs
//! repository = "https://git.example.com/payments/deploy.git"   # a path or file://, ssh://, https:// URL
//! branch = "main"
//! path = "clusters/{region}/{environment}/{service}"   # a service's directory; {region} is optional
//! image = "ghcr.io/acme/{service}"   # the image repository; releases pin it by digest
//! edit = "kustomize"            # sets images: in <path>/kustomization.yaml (which must exist);
//!                               # or "helm": <path>/<values_file> with the keys below
//! image_name = "acme/{service}" # kustomize, optional: the image as the base manifests name it (default: image)
//! values_file = "values-railyard.yaml"   # helm, optional; repository_key, tag_key and digest_key default
//!                               # to image.repository, image.tag, image.digest ("" leaves one out)
//!
//! [train.gitops.traffic]        # optional: canaries beside the stable deployment, traffic by HTTPRoute
//! canary_path = "clusters/{region}/{environment}/{service}-canary"   # below 100% the canary gets the build
//! gateway = "public"            # the route's parentRef, when Railyard writes the route
//! port = 8080                   # the backends' port
//! route = "clusters/{region}/{environment}/{service}/httproute.yaml"   # optional (this is the default)
//! route_name = "{service}"      # optional; stable_backend = "{service}", canary_backend = "{service}-canary"
//! namespace = "payments"        # optional
//!
//! alert_when_held = "30m"       # optional: a held train raises a ticket after this long (default 30m)
//!
//! [[train.expected_alerts]]     # optional: alerts its cutovers raise on purpose, silenced in Alertmanager
//! matchers = ['alertname="KubeDeploymentReplicasMismatch"', 'namespace=~"payments-.*"']   # one must be name="value"
//! comment = "pods restart while the new version rolls out"
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
//! [[region]]                    # optional: the regions steps name; once any is declared, steps may
//! name = "eu-west"              # only name declared ones (a typo is an error)
//! critical = true               # shown first and marked on the dashboard's rollout success by region
//! description = "Frankfurt"
//!
//! [[role_mapping]]              # optional: roles from the identity provider (single sign-on), recomputed
//! group = "payments-release"    # at every sign-in; the value the claim must hold ("*": everyone)
//! role = "release_manager"      # viewer, release_manager, approver or admin
//! domain = "payments"           # optional: only in this domain (default: every domain)
//! claim = "groups"              # optional: the ID token claim read (default "groups")
//!
//! [[freeze]]
//! name = "year-end"
//! time_zone = "America/New_York"
//! starts = "2026-12-20"         # a date (midnight) or "2026-12-20T18:00"
//! ends = "2027-01-03"           # a date is the last frozen day; a time is when it lifts
//! # or, recurring: cadence = "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=20" and duration = "15d"
//! ```

mod alerting;
mod check;
mod gitops;
mod raw;
mod roles;
#[cfg(test)]
mod tests;

use std::fmt;

use chrono::NaiveDateTime;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use check::Checker;
use raw::RawFile;

use crate::analysis::budget::Slo;
use crate::analysis::CanaryMetric;
use crate::cadence::Cadence;
use crate::engine::{Notice, RolloutStep};
use crate::role_mapping::RoleMapping;
use crate::text::Text;
use crate::train_kind::KindPolicy;

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
    /// The regions rollouts name, in the file's order.
    pub regions: Vec<RegionSpec>,
    /// Roles granted by the identity provider's claims, in the file's order.
    pub role_mappings: Vec<RoleMapping>,
}

/// A region as declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionSpec {
    pub name: String,
    /// Critical regions come first on the dashboard, marked.
    pub critical: bool,
    pub description: String,
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
    /// For the gitops deployer: the repository, its layout and the edit.
    pub gitops: Option<crate::gitops::GitopsSettings>,
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
    /// When a held train tickets, and the alerts its cutovers expect.
    pub alerting: crate::alerting::AlertingSettings,
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

/// A freeze as written: a `[[freeze]]` entry, or the body of a freeze declared in the console or the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FreezeEntry {
    pub name: Text,
    pub domain: Option<Text>,
    #[serde(default)]
    pub reason: Text,
    pub time_zone: Text,
    /// A date (midnight) or `YYYY-MM-DDTHH:MM` in `time_zone`.
    pub starts: Text,
    /// A date (the last frozen day) or a time (when it lifts).
    pub ends: Option<Text>,
    pub cadence: Option<Text>,
    pub duration: Option<Text>,
}

/// Services of a train that board, miss it and roll back together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AtomicGroup {
    pub name: String,
    pub services: Vec<String>,
}

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
        regions: raw.region.into_iter().filter_map(|r| check.region(r)).collect(),
        role_mappings: raw.role_mapping.into_iter().filter_map(|m| check.role_mapping(m)).collect(),
    };
    check.unique("domain", fleet.domains.iter().map(|d| d.name.as_str()));
    check.unique("service", fleet.services.iter().map(|s| s.name.as_str()));
    check.unique("train", fleet.trains.iter().map(|t| t.name.as_str()));
    check.unique("freeze", fleet.freezes.iter().map(|f| f.name.as_str()));
    check.unique("kind", fleet.kinds.iter().map(|k| k.kind.as_str()));
    check.unique("region", fleet.regions.iter().map(|r| r.name.as_str()));
    check.declared_regions(&fleet.regions, &fleet.trains);
    check.repeated_mappings(&fleet.role_mappings);
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
