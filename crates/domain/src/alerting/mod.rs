//! Which conditions need a person now, as Alertmanager alerts: a pure
//! function of the trains' state (and of drift reports), recomputed each
//! pass. An alert is active while its condition holds and resolves when it
//! no longer does; its fingerprint (name and labels) keeps it the same alert
//! across passes. Severity follows the seed: `page` for SLO breaches caused
//! by a deployment and for rollbacks that need hands, `ticket` for the rest.

pub mod silence;

use std::collections::BTreeMap;

use crate::analysis::budget::{BurnRule, FAST_BURN, SLOW_BURN};
use crate::engine::{BurnSpeed, Burning, Environment, HoldReason, StepStatus, TrainRun, Verdict};
use crate::time::{span_words, Instant};
use crate::train_state::TrainState;

/// How urgently a person is needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Wake someone up.
    Page,
    /// Someone looks during working hours.
    Ticket,
}

impl Severity {
    /// `page` or `ticket`, the `severity` label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Page => "page",
            Self::Ticket => "ticket",
        }
    }
}

/// The conditions Railyard alerts on; each name is the `alertname` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AlertName {
    /// A service of the train crossed a burn rule (fast: rolled back; slow: held), until the train
    /// ends and at least the rule's short window.
    ErrorBudgetBurn,
    /// A rollback failed and the train waits for hands.
    RollbackFailed,
    /// A rollback has run longer than it should.
    RollbackStuck,
    /// A train has been held longer than allowed.
    TrainHeld,
    /// A train is still rolling out past its cutover window (seed F4).
    TrainPastCutoverWindow,
    /// A step's or the monitoring window's metrics are missing after cutover (seed F5).
    MetricsMissing,
    /// What runs is not what the train shipped (seed M12).
    Drift,
}

impl AlertName {
    /// The `alertname` label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ErrorBudgetBurn => "RailyardErrorBudgetBurn",
            Self::RollbackFailed => "RailyardRollbackFailed",
            Self::RollbackStuck => "RailyardRollbackStuck",
            Self::TrainHeld => "RailyardTrainHeld",
            Self::TrainPastCutoverWindow => "RailyardTrainPastCutoverWindow",
            Self::MetricsMissing => "RailyardMetricsMissing",
            Self::Drift => "RailyardDrift",
        }
    }
}

/// One alert as Alertmanager gets it (less its times, which the sender adds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub name: AlertName,
    pub severity: Severity,
    pub train: String,
    /// Every label, `alertname` and `severity` included; empty values are left out.
    pub labels: BTreeMap<String, String>,
    /// `summary`, `description`, `train_url` and `runbook_url` (when known).
    pub annotations: BTreeMap<String, String>,
}

impl Alert {
    /// What makes it the same alert from one pass to the next: its labels.
    pub fn fingerprint(&self) -> String {
        self.labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
    }
}

/// A definition's alerting: when a held train tickets, and the alerts its cutovers expect.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AlertingSettings {
    /// `alert_when_held`: a held train tickets after this long (none: the server's default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_ms: Option<i64>,
    /// `[[train.expected_alerts]]`: silenced during cutover and while a rollback runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expected_alerts: Vec<silence::ExpectedAlerts>,
}

/// How long conditions may last before they alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// A train held (by anyone, for any reason) longer than this raises a ticket.
    pub held_ms: i64,
    /// A rollback running longer than this pages.
    pub rollback_ms: i64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self { held_ms: 30 * 60_000, rollback_ms: 15 * 60_000 }
    }
}

/// A boarded service of a train, with its runbook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrainService {
    pub name: String,
    /// May be empty.
    pub runbook_url: String,
}

/// What the alerts of one train are computed from.
#[derive(Debug, Clone)]
pub struct TrainFacts<'a> {
    pub run: &'a TrainRun,
    pub definition: &'a str,
    pub domain: &'a str,
    pub services: &'a [TrainService],
    pub cutover_window_ms: i64,
    /// Where people open the train (the `train_url` annotation).
    pub train_url: String,
}

/// Every alert a train raises now.
pub fn of_train(facts: &TrainFacts<'_>, thresholds: Thresholds, now: Instant) -> Vec<Alert> {
    let run = facts.run;
    let mut alerts = Vec::new();
    let raise = |name, severity, service: Option<&TrainService>, summary: String, description: String| {
        train_alert(facts, name, severity, service, summary, description)
    };
    // A burn pages until the train ends, and at least as long as the rule's short window (the
    // time the same rule in Prometheus takes to reset), so a quick rollback still reaches someone.
    let burn_lasts = |burning: &Burning| !run.phase.is_final() || now < burning.at + burn_rule(burning.speed).short_ms;
    if let Some(burning) = run.burning.as_ref().filter(|b| burn_lasts(b)) {
        let service = facts.services.iter().find(|s| s.name == burning.service);
        let what = match burning.speed {
            BurnSpeed::Fast => "rolled back",
            BurnSpeed::Slow => "held",
        };
        let mut alert = raise(
            AlertName::ErrorBudgetBurn,
            Severity::Page,
            service,
            format!("{} burns its error budget during the {} train ({what})", burning.service, facts.definition),
            burning.detail.clone(),
        );
        if service.is_none() {
            alert.labels.insert("service".into(), burning.service.clone());
        }
        alert.labels.insert("burn".into(), burning.speed.as_str().into());
        alerts.push(alert);
    }
    if run.phase.is_final() {
        return alerts;
    }
    let held_for = run.paused_at.filter(|_| run.phase == TrainState::Held).map(|at| now - at);
    match run.hold {
        Some(HoldReason::Rollback) => alerts.push(raise(
            AlertName::RollbackFailed,
            Severity::Page,
            None,
            format!("rolling back the {} train failed", facts.definition),
            "Railyard could not restore the previous version: roll back again, or restore by hand and abort the train"
                .into(),
        )),
        Some(HoldReason::Metrics) => alerts.push(raise(
            AlertName::MetricsMissing,
            Severity::Page,
            None,
            format!("the {} train has no metrics after cutover", facts.definition),
            format!(
                "monitoring ended without readable metrics ({}); the train is held until someone looks",
                run.metrics_missing.as_deref().unwrap_or("unknown")
            ),
        )),
        Some(HoldReason::Analysis) if last_verdict(run) == Some(Verdict::NoData) => alerts.push(raise(
            AlertName::MetricsMissing,
            Severity::Page,
            None,
            format!("the {} train: the canary judge found no data", facts.definition),
            "the step's canary metrics returned no data; the train is held until someone promotes or rolls back".into(),
        )),
        _ => {}
    }
    if let Some(held_for) = held_for.filter(|held| *held >= thresholds.held_ms) {
        alerts.push(raise(
            AlertName::TrainHeld,
            Severity::Ticket,
            None,
            format!("the {} train has been held for {}", facts.definition, span_words(held_for)),
            format!("held because: {}", hold_words(run.hold.as_ref())),
        ));
    }
    if run.step_status == StepStatus::RollingBack && run.hold.is_none() {
        if let Some(started) = run.rollback_started_at.filter(|at| now - *at >= thresholds.rollback_ms) {
            alerts.push(raise(
                AlertName::RollbackStuck,
                Severity::Page,
                None,
                format!("rolling back the {} train has taken {}", facts.definition, span_words(now - started)),
                "the deployer has not reported the rollback done; check the deployer or the GitOps controller".into(),
            ));
        }
    }
    let window_ends = run.cutover_at + facts.cutover_window_ms;
    let rolling_out = matches!(run.phase, TrainState::Staging | TrainState::Canary | TrainState::Cutover)
        || (run.phase == TrainState::Held
            && matches!(run.paused_from, Some(TrainState::Staging | TrainState::Canary | TrainState::Cutover)));
    if rolling_out && facts.cutover_window_ms > 0 && now > window_ends {
        alerts.push(raise(
            AlertName::TrainPastCutoverWindow,
            Severity::Ticket,
            None,
            format!("the {} train is still rolling out past its cutover window", facts.definition),
            format!("the window closed at {}; split the changes or extend the window", window_ends.rfc3339()),
        ));
    }
    alerts
}

/// A drifting target: the newest report of what runs is not what train `train` shipped.
#[derive(Debug, Clone)]
pub struct DriftFacts<'a> {
    pub train: &'a str,
    pub definition: &'a str,
    pub domain: &'a str,
    pub service: &'a TrainService,
    pub environment: Environment,
    pub region: &'a str,
    pub expected: &'a str,
    pub running: &'a str,
    pub train_url: String,
}

/// The ticket for a drifting target.
pub fn drift(facts: &DriftFacts<'_>) -> Alert {
    let mut labels = base_labels(AlertName::Drift, Severity::Ticket, facts.train, facts.definition, facts.domain);
    labels.insert("service".into(), facts.service.name.clone());
    labels.insert("environment".into(), facts.environment.as_str().into());
    if !facts.region.is_empty() {
        labels.insert("region".into(), facts.region.into());
    }
    let summary = format!("{} in {} runs something other than what shipped", facts.service.name, facts.environment);
    let description = format!(
        "train {} shipped {} but {} runs; someone changed the cluster outside Git, or a sync failed",
        facts.train,
        crate::digest::short_digest(facts.expected),
        crate::digest::short_digest(facts.running)
    );
    let annotations = annotations(summary, description, &facts.train_url, &facts.service.runbook_url);
    Alert { name: AlertName::Drift, severity: Severity::Ticket, train: facts.train.into(), labels, annotations }
}

fn train_alert(
    facts: &TrainFacts<'_>,
    name: AlertName,
    severity: Severity,
    service: Option<&TrainService>,
    summary: String,
    description: String,
) -> Alert {
    let run = facts.run;
    let mut labels = base_labels(name, severity, &run.train_id, facts.definition, facts.domain);
    let services = match service {
        Some(one) => one.name.clone(),
        None => facts.services.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(","),
    };
    if !services.is_empty() {
        labels.insert("service".into(), services);
    }
    if let Some(step) = run.rollout.get(run.current_step).filter(|_| run.step_status != StepStatus::NotStarted) {
        labels.insert("environment".into(), step.environment.as_str().into());
        if let Some(region) = &step.region {
            labels.insert("region".into(), region.clone());
        }
    }
    let runbook = match (service, facts.services) {
        (Some(one), _) | (None, [one]) => one.runbook_url.as_str(),
        _ => "",
    };
    Alert {
        name,
        severity,
        train: run.train_id.to_string(),
        labels,
        annotations: annotations(summary, description, &facts.train_url, runbook),
    }
}

fn base_labels(
    name: AlertName,
    severity: Severity,
    train: &str,
    definition: &str,
    domain: &str,
) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("alertname".to_owned(), name.as_str().to_owned()),
        ("severity".to_owned(), severity.as_str().to_owned()),
        ("train".to_owned(), train.to_owned()),
        ("definition".to_owned(), definition.to_owned()),
        ("domain".to_owned(), domain.to_owned()),
    ])
}

fn annotations(summary: String, description: String, train_url: &str, runbook: &str) -> BTreeMap<String, String> {
    let mut annotations = BTreeMap::from([
        ("summary".to_owned(), summary),
        ("description".to_owned(), description),
        ("train_url".to_owned(), train_url.to_owned()),
    ]);
    if !runbook.is_empty() {
        annotations.insert("runbook_url".into(), runbook.to_owned());
    }
    annotations
}

fn burn_rule(speed: BurnSpeed) -> BurnRule {
    match speed {
        BurnSpeed::Fast => FAST_BURN,
        BurnSpeed::Slow => SLOW_BURN,
    }
}

fn last_verdict(run: &TrainRun) -> Option<Verdict> {
    run.steps.last().and_then(|record| record.verdict)
}

fn hold_words(reason: Option<&HoldReason>) -> &'static str {
    match reason {
        Some(HoldReason::Operator) | None => "an operator held it",
        Some(HoldReason::Gates) => "a gate is undecided",
        Some(HoldReason::Analysis) => "the canary judge gave no pass",
        Some(HoldReason::Rollback) => "a rollback failed",
        Some(HoldReason::Deploy) => "the GitOps controller did not apply a step in time",
        Some(HoldReason::Burn) => "a service burns its error budget past the slow-burn rule",
        Some(HoldReason::Metrics) => "its metrics are missing after cutover",
    }
}

#[cfg(test)]
mod tests;
