//! Checking a trains-as-code file entry by entry: every problem is
//! reported with its place, and nothing half-valid comes out.

use std::collections::HashSet;
use std::str::FromStr;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use chrono_tz::Tz;

use super::raw::{RawDomain, RawGroup, RawKind, RawMetric, RawService, RawStep, RawTrain};
use super::{
    AtomicGroup, DomainSpec, FreezeEntry, FreezeSchedule, FreezeSpec, Problem, ServiceSlo, ServiceSpec, TrainSpec,
};
use crate::analysis::budget::Slo;
use crate::analysis::{CanaryMetric, MetricPolicy};
use crate::cadence::{parse_soak, parse_window, Cadence, CadenceError};
use crate::delivery::{DeployerColumns, DeployerSettings, SettingError};
use crate::engine::{default_rollout, Environment, Notice, RolloutStep};
use crate::gates::GateKind;
use crate::links::is_web_link;
use crate::train_kind::{KindPolicy, TrainKind};

/// Colour-blind-safe colours (Okabe–Ito) for domains that name none.
const PALETTE: [&str; 7] = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#8C6D00"];

pub(super) struct Checker<'a> {
    pub(super) file: &'a str,
    pub(super) problems: Vec<Problem>,
}

impl Checker<'_> {
    pub(super) fn problem(&mut self, location: &str, field: &str, message: impl Into<String>) {
        self.problems.push(Problem::new(self.file, location, field, message));
    }

    pub(super) fn name(&mut self, kind: &str, name: &str) -> bool {
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

    pub(super) fn unique<'n>(&mut self, kind: &str, names: impl Iterator<Item = &'n str>) {
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
    pub(super) fn dependencies(&mut self, services: &[ServiceSpec]) {
        for service in services {
            let at = format!("service \"{}\"", service.name);
            let mut seen = HashSet::new();
            for callee in &service.calls {
                if !seen.insert(callee) {
                    self.problem(&at, "calls", format!("lists \"{callee}\" twice"));
                }
            }
        }
        let graph = crate::graph::Graph::new(services.iter().map(|s| (s.name.as_str(), s.calls.as_slice())));
        if let Some(cycle) = graph.cycle() {
            self.problem(
                &format!("service \"{}\"", cycle[0]),
                "calls",
                format!("dependency cycle: {}; services must not call each other in a circle", cycle.join(" → ")),
            );
        }
    }

    pub(super) fn domain(&mut self, raw: RawDomain) -> Option<DomainSpec> {
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

    pub(super) fn service(&mut self, raw: RawService) -> Option<ServiceSpec> {
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

    pub(super) fn train(&mut self, raw: RawTrain) -> Option<TrainSpec> {
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
        let mut ok = ok && !raw.services.is_empty() && seen.len() == raw.services.len();
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
        let default_deployer = if raw.gitops.is_some() { "gitops" } else { "simulated" };
        let deployer = raw.deployer.clone().unwrap_or_else(|| default_deployer.into());
        let deployer_ok = self.deployer(&at, &deployer, &raw);
        let metrics_provider = raw.metrics_provider.clone().unwrap_or_else(|| "simulated".into());
        let metrics = self.metrics(&at, &metrics_provider, &raw.prometheus_url, raw.metric);
        let rollout = self.rollout(&at, raw.step);
        if let (Some(rollout), Some(metrics)) = (&rollout, &metrics) {
            let regional = metrics.iter().find(|m| m.query.contains("{region}"));
            if let (Some(metric), Some(step)) = (regional, rollout.iter().find(|s| s.region.is_none())) {
                let message =
                    format!("metric \"{}\" names {{region}}, but step \"{}\" has no `region`", metric.name, step.name);
                self.problem(&at, "metric.query", message);
                ok = false;
            }
        }
        let gitops = match raw.gitops {
            Some(gitops) if deployer_ok => self.gitops(&at, gitops, rollout.as_deref().unwrap_or_default()).map(Some),
            _ => Some(None),
        };
        let alerting = self.alerting(&at, raw.alert_when_held.as_deref(), raw.expected_alerts);
        let valid = ok && known_gates && deployer_ok && groups.is_some() && gitops.is_some() && alerting.is_some();
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
                gitops: gitops.flatten(),
                metrics_provider,
                prometheus_url: raw.prometheus_url,
                metrics,
                rollout,
                staging_webhook_url: raw.staging_webhook_url,
                groups: groups.unwrap_or_default(),
                overrides: raw.overrides.unwrap_or(true),
                alerting: alerting.unwrap_or_default(),
            }),
            _ => None,
        }
    }

    /// Whether every gate in `list` is one Railyard knows (reporting the others).
    pub(super) fn gates(&mut self, at: &str, field: &str, list: &[String]) -> bool {
        match list.iter().map(|gate| GateKind::parse(gate)).find_map(Result::err) {
            Some(unknown) => {
                self.problem(at, field, unknown.to_string());
                false
            }
            None => true,
        }
    }

    /// A train's atomic groups: named, two or more of its own services, each service in one group.
    pub(super) fn groups(&mut self, at: &str, services: &[String], raw: &[RawGroup]) -> Option<Vec<AtomicGroup>> {
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
    pub(super) fn kind(&mut self, raw: RawKind) -> Option<KindPolicy> {
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
    pub(super) fn deployer(&mut self, at: &str, deployer: &str, raw: &RawTrain) -> bool {
        let webhook_set = !raw.webhook_url.is_empty() || !raw.webhook_secret_env.is_empty();
        let gitops_set = raw.gitops.is_some();
        let named = DeployerColumns { name: deployer, ..DeployerColumns::default() };
        if let Err(SettingError::Unknown(unknown)) = DeployerSettings::from_columns(named) {
            self.problem(at, "deployer", unknown.to_string());
            return false;
        }
        if webhook_set && deployer != "webhook" {
            self.problem(at, "webhook_url", "is only for deployer = \"webhook\"");
            return false;
        }
        if gitops_set && deployer != "gitops" {
            self.problem(at, "gitops", "[train.gitops] is only for deployer = \"gitops\"");
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
            "gitops" if !gitops_set => {
                self.problem(
                    at,
                    "gitops",
                    "the gitops deployer needs a [train.gitops] table (repository, branch, path, image)",
                );
                false
            }
            _ => true,
        }
    }

    /// The metrics a Prometheus-judged train compares, validated.
    pub(super) fn metrics(
        &mut self,
        at: &str,
        provider: &str,
        url: &str,
        raw: Vec<RawMetric>,
    ) -> Option<Vec<CanaryMetric>> {
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
    pub(super) fn rollout(&mut self, at: &str, steps: Vec<RawStep>) -> Option<Vec<RolloutStep>> {
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

    pub(super) fn freeze(&mut self, raw: FreezeEntry) -> Option<FreezeSpec> {
        let ok = self.name("freeze", &raw.name);
        let at = format!("freeze \"{}\"", raw.name);
        let Ok(time_zone) = Tz::from_str(&raw.time_zone) else {
            self.problem(&at, "time_zone", CadenceError::TimeZone(raw.time_zone.to_string()).to_string());
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
        ok.then_some(FreezeSpec {
            name: raw.name.into(),
            domain: raw.domain.map(Into::into),
            reason: raw.reason.into(),
            time_zone,
            schedule,
        })
    }

    pub(super) fn cadence(&mut self, at: &str, rule: &str, time_zone: &str, starts: NaiveDate) -> Option<Cadence> {
        Cadence::parse(rule, time_zone, starts)
            .map_err(|e| {
                let field = if matches!(e, CadenceError::TimeZone(_)) { "time_zone" } else { "cadence" };
                self.problem(at, field, e.to_string());
            })
            .ok()
    }

    pub(super) fn window(&mut self, at: &str, field: &str, text: &str) -> Option<i64> {
        parse_window(text).map_err(|e| self.problem(at, field, e)).ok()
    }

    pub(super) fn date(&mut self, at: &str, field: &str, text: &str) -> Option<NaiveDate> {
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map_err(|_| self.problem(at, field, format!("\"{text}\" is not a date like \"2026-01-06\"")))
            .ok()
    }

    pub(super) fn date_or_time(&mut self, at: &str, field: &str, text: &str) -> Option<(NaiveDateTime, bool)> {
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
pub(super) fn is_env_name(text: &str) -> bool {
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
