//! `GET /metrics`: Railyard's own figures in the Prometheus/OpenMetrics text
//! format, computed from the store at scrape time (seed metrics M1–M12, plus
//! trains by state and the outbox backlog).

use crate::time::Instant;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

use super::{ApiError, ApiState};
use crate::auth::{Caller, Permission};
use crate::engine::{Environment, TrainRun, Verdict};
use crate::store::measurements::InDomain;
use crate::store::{Conn, DbError};
use crate::train_state::TrainState;
use std::collections::BTreeMap;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GateLabel {
    gate: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RegionLabel {
    region: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DomainLabel {
    domain: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ServiceLabel {
    service: String,
}

/// A version live in an environment (and region), deployed by a train.
#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
pub struct DeploymentLabel {
    pub train: String,
    pub definition: String,
    pub service: String,
    pub version: String,
    pub digest: String,
    pub environment: String,
    pub region: String,
}

/// One kind of deployment event.
#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
pub struct DeploymentEventLabel {
    pub definition: String,
    pub environment: String,
    /// `deployed` (a step reached its environment) or `rolled_back` (a train undid its steps).
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TargetLabel {
    service: String,
    environment: String,
}

type FloatGauge = Gauge<f64, AtomicU64>;

/// The figures, as a scrape answers them.
#[derive(Debug, Default, PartialEq)]
pub struct Figures {
    pub trains_by_state: Vec<(String, i64)>,
    pub outbox_by_status: Vec<(String, i64)>,
    /// M1: completed ÷ (completed + rolled back + aborted).
    pub release_success_ratio: Option<f64>,
    /// M3: mean seconds from a rollback's start to its end.
    pub mean_rollback_seconds: Option<f64>,
    /// M10: security scans passed ÷ scans reported.
    pub security_gate_pass_ratio: Option<f64>,
    /// M11: services shipped per completed train.
    pub services_per_train: Option<f64>,
    /// M6: incidents attributed to a train that changed the service within 24 h before.
    pub post_deploy_incidents: i64,
    /// M6 as a rate: attributed incidents per train that deployed (completed or rolled back).
    pub incidents_per_train: Option<f64>,
    /// Mean seconds from an incident's start to its resolution (time to restore).
    pub mean_time_to_restore_seconds: Option<f64>,
    /// M12: reports of the running digest that match what the train shipped, over all reports.
    pub artifact_reproducibility_ratio: Option<f64>,
    /// M2: mean seconds from the first production step's start to the last step's success.
    pub mean_roll_forward_seconds: Option<f64>,
    /// M4: mean seconds a deployer took to deploy a step.
    pub mean_deployment_seconds: Option<f64>,
    /// M5: canary checks failed (judge or fast burn) over canary checks made.
    pub canary_failure_ratio: Option<f64>,
    /// M7: mean share of the error budget a train's rollout spent, per domain.
    pub budget_consumed_by_domain: Vec<(String, f64)>,
    /// M7: share of measured rollouts that spent 20% of a budget or more.
    pub over_budget_ratio: Option<f64>,
    /// Error budget left per service at the end of its latest measured train.
    pub budget_remaining_by_service: Vec<(String, f64)>,
    /// M8: mean relative change of p95 latency during a rollout against before it.
    pub latency_delta_ratio: Option<f64>,
    /// M9: production steps that succeeded over those finished, per region ("all" without one).
    pub region_success: Vec<(String, f64)>,
    /// F1: per gate, the share of candidates that got both a pass and a not-pass answer (last 90 days).
    pub gate_flakiness: Vec<(String, f64)>,
    /// What runs where, per the newest step that deployed it (rolled-back trains left out).
    pub deployments: Vec<DeploymentLabel>,
    /// Deployment events so far (of the most recent trains).
    pub deployment_events: Vec<(DeploymentEventLabel, u64)>,
    /// M12 drift: per (service, environment) with reports, 1 while the newest report is not what shipped.
    pub drift: Vec<((String, String), i64)>,
    /// Trains running with nothing pending for longer than the stuck threshold.
    pub stuck_trains: i64,
    /// The leadership term this replica holds, if it leads.
    pub leader_term: Option<i64>,
}

/// How far back gate flakiness looks.
const FLAKINESS_WINDOW_MS: i64 = 90 * 24 * 3_600_000;

/// The mean of `values`, if there are any.
fn mean(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values.into_iter().fold((0.0, 0_u32), |(sum, n), v| (sum + v, n + 1));
    (n > 0).then(|| sum / f64::from(n))
}

/// The rollout figures (M2, M4, M5, M9) from the engine states of finished trains.
fn rollout_figures(runs: &[TrainRun], figures: &mut Figures) {
    figures.mean_roll_forward_seconds = mean(
        runs.iter()
            .filter(|r| r.phase == TrainState::Completed)
            .filter_map(|r| Some((r.rolled_out_at? - r.production_started_at()?) as f64 / 1000.0)),
    );
    let records = || runs.iter().flat_map(|r| r.steps.iter().filter_map(move |s| Some((r.rollout.get(s.step)?, s))));
    figures.mean_deployment_seconds =
        mean(records().filter_map(|(_, s)| Some((s.deployed_at? - s.started_at) as f64 / 1000.0)));
    let canaries: Vec<bool> = records()
        .filter(|(step, _)| step.environment == Environment::Production && step.weight < 100)
        .filter_map(|(_, s)| s.verdict.map(|v| v == Verdict::Fail))
        .collect();
    figures.canary_failure_ratio = mean(canaries.iter().map(|&failed| if failed { 1.0 } else { 0.0 }));
    let mut regions: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (step, record) in records().filter(|(step, _)| step.environment == Environment::Production) {
        if let Some(succeeded) = record.succeeded {
            let region = step.region.clone().unwrap_or_else(|| "all".into());
            regions.entry(region).or_default().push(if succeeded { 1.0 } else { 0.0 });
        }
    }
    figures.region_success =
        regions.into_iter().filter_map(|(region, outcomes)| Some((region, mean(outcomes)?))).collect();
}

/// Deployment markers: the version live per service, environment and region (the newest
/// deployed step of a train that was not rolled back or aborted), and deployment events.
fn deployment_figures(trains: &[crate::store::metrics::DeployedTrain], figures: &mut Figures) {
    let mut live: BTreeMap<(String, String, String), (Instant, DeploymentLabel)> = BTreeMap::new();
    let mut events: BTreeMap<DeploymentEventLabel, u64> = BTreeMap::new();
    for train in trains {
        let run = &train.run;
        let undone = matches!(run.phase, TrainState::RolledBack | TrainState::Aborted);
        for record in &run.steps {
            let (Some(step), Some(deployed_at)) = (run.rollout.get(record.step), record.deployed_at) else { continue };
            let environment = step.environment.to_string();
            let event = DeploymentEventLabel {
                definition: train.definition.clone(),
                environment: environment.clone(),
                outcome: "deployed".into(),
            };
            *events.entry(event).or_default() += 1;
            if undone {
                continue;
            }
            let region = step.region.clone().unwrap_or_default();
            for candidate in run.candidates.iter().filter(|c| c.boarded()) {
                let Some((service, version, digest)) = train.artifacts.get(candidate.artifact_id.as_str()) else {
                    continue;
                };
                let label = DeploymentLabel {
                    train: run.train_id.to_string(),
                    definition: train.definition.clone(),
                    service: service.clone(),
                    version: version.clone(),
                    digest: digest.clone(),
                    environment: environment.clone(),
                    region: region.clone(),
                };
                let target = (service.clone(), environment.clone(), region.clone());
                if live.get(&target).is_none_or(|(at, _)| deployed_at > *at) {
                    live.insert(target, (deployed_at, label));
                }
            }
        }
        if run.phase == TrainState::RolledBack {
            let event = DeploymentEventLabel {
                definition: train.definition.clone(),
                environment: "production".into(),
                outcome: "rolled_back".into(),
            };
            *events.entry(event).or_default() += 1;
        }
    }
    figures.deployments = live.into_values().map(|(_, label)| label).collect();
    figures.deployment_events = events.into_iter().collect();
}

/// The error-budget and latency figures (M7, M8) from the measurements of finished rollouts.
fn measurement_figures(measured: &[InDomain], figures: &mut Figures) {
    let mut by_domain: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut latest: BTreeMap<&str, (Instant, f64)> = BTreeMap::new();
    for InDomain { domain, measurement: m } in measured {
        by_domain.entry(domain).or_default().push(m.budget_consumed);
        let entry = latest.entry(&m.service).or_insert((m.to_at, m.budget_remaining));
        if m.to_at >= entry.0 {
            *entry = (m.to_at, m.budget_remaining);
        }
    }
    figures.budget_consumed_by_domain =
        by_domain.into_iter().filter_map(|(d, values)| Some((d.to_owned(), mean(values)?))).collect();
    figures.budget_remaining_by_service = latest.into_iter().map(|(s, (_, left))| (s.to_owned(), left)).collect();
    figures.over_budget_ratio =
        mean(measured.iter().map(|m| if m.measurement.budget_consumed >= 0.2 { 1.0 } else { 0.0 }));
    figures.latency_delta_ratio = mean(measured.iter().filter_map(|m| {
        let (before, during) = (m.measurement.latency_before?, m.measurement.latency_after?);
        (before > 0.0).then(|| (during - before) / before)
    }));
}

/// Computes the figures from the store as of `now`.
pub async fn figures(conn: &mut Conn, now: Instant) -> Result<Figures, DbError> {
    let counts = crate::store::metrics::counts(conn).await?;
    let trains_by_state = counts.trains_by_state;
    let outbox_by_status = counts.outbox_by_status;
    let count = |state: &str| trains_by_state.iter().find(|(s, _)| s == state).map_or(0, |(_, n)| *n);
    let finished = count("completed") + count("rolled_back") + count("aborted");
    let release_success_ratio = (finished > 0).then(|| count("completed") as f64 / finished as f64);

    let finished_runs = counts.finished_runs;
    let measured = crate::store::measurements::with_domain_since(conn, Instant::from_ms(i64::MIN)).await?;

    let mut durations: Vec<f64> = counts
        .rolled_back
        .iter()
        .filter_map(|(run, ended)| Some((*ended - run.rollback_started_at?) as f64 / 1000.0))
        .collect();
    // Rollbacks of some services restore a baseline too.
    durations.extend(finished_runs.iter().flat_map(|run| run.service_rollback_times().map(|(_, seconds)| seconds)));
    let mean_rollback_seconds = (!durations.is_empty()).then(|| durations.iter().sum::<f64>() / durations.len() as f64);

    let (scans, passed) = counts.security_scans;
    let security_gate_pass_ratio = (scans > 0).then(|| passed as f64 / scans as f64);

    let services_per_train = (count("completed") > 0).then(|| counts.shipped as f64 / count("completed") as f64);
    let post_deploy_incidents = counts.post_deploy_incidents;
    let deployed = count("completed") + count("rolled_back");
    let incidents_per_train = (deployed > 0).then(|| post_deploy_incidents as f64 / deployed as f64);
    let restores: Vec<f64> = crate::store::incidents::restore_times(conn)
        .await?
        .into_iter()
        .map(|(started, resolved)| (resolved - started) as f64 / 1000.0)
        .collect();
    let mean_time_to_restore_seconds =
        (!restores.is_empty()).then(|| restores.iter().sum::<f64>() / restores.len() as f64);
    let (matching, reports) = crate::store::digests::reproducibility(conn).await?;
    // Per service and environment: drifting if any region's newest report is.
    let mut drift: Vec<((String, String), i64)> = Vec::new();
    for report in crate::store::digests::newest_per_target(conn).await? {
        let target = (report.service.clone(), report.environment.to_string());
        match drift.iter_mut().find(|(t, _)| *t == target) {
            Some((_, drifting)) => *drifting = (*drifting).max(i64::from(report.drifted())),
            None => drift.push((target, i64::from(report.drifted()))),
        }
    }
    let mut figures = Figures {
        drift,
        artifact_reproducibility_ratio: (reports > 0).then(|| matching as f64 / reports as f64),
        post_deploy_incidents,
        incidents_per_train,
        mean_time_to_restore_seconds,
        trains_by_state,
        outbox_by_status,
        release_success_ratio,
        mean_rollback_seconds,
        security_gate_pass_ratio,
        services_per_train,
        ..Figures::default()
    };
    let gate_runs = crate::store::gate_runs::since(conn, now - FLAKINESS_WINDOW_MS).await?;
    figures.gate_flakiness =
        crate::store::gate_runs::Flakiness::of(&gate_runs).into_iter().map(|f| (f.gate.clone(), f.ratio())).collect();
    rollout_figures(&finished_runs, &mut figures);
    deployment_figures(&crate::store::metrics::deployed_trains(conn).await?, &mut figures);
    measurement_figures(&measured, &mut figures);
    Ok(figures)
}

/// Renders `figures` in the OpenMetrics text format.
pub fn render(figures: &Figures) -> Result<String, std::fmt::Error> {
    let mut registry = Registry::with_prefix("railyard");
    let trains = Family::<StateLabel, Gauge>::default();
    for (state, n) in &figures.trains_by_state {
        trains.get_or_create(&StateLabel { state: state.clone() }).set(*n);
    }
    registry.register("trains", "Trains by state", trains);
    let outbox = Family::<StatusLabel, Gauge>::default();
    for (status, n) in &figures.outbox_by_status {
        outbox.get_or_create(&StatusLabel { status: status.clone() }).set(*n);
    }
    registry.register("outbox_effects", "Effects in the runtime's outbox by status", outbox);
    let stuck = Gauge::<i64>::default();
    stuck.set(figures.stuck_trains);
    registry.register("stuck_trains", "Trains running with no pending effect or timer past the threshold", stuck);
    let leader = Gauge::<i64>::default();
    leader.set(i64::from(figures.leader_term.is_some()));
    registry.register("leader", "1 if this replica runs the scheduler and runtime, else 0", leader);
    let term = Gauge::<i64>::default();
    term.set(figures.leader_term.unwrap_or(0));
    registry.register("leader_term", "The leadership term this replica holds (0 while following)", term);
    let incidents = Gauge::<i64>::default();
    incidents.set(figures.post_deploy_incidents);
    registry.register(
        "post_deploy_incidents",
        "M6: incidents attributed to a train within 24 h of its cutover",
        incidents,
    );
    let optional = [
        ("release_success_ratio", "M1: completed trains over finished trains", figures.release_success_ratio),
        (
            "rollback_seconds_mean",
            "M3: mean time from rollback start to baseline restored",
            figures.mean_rollback_seconds,
        ),
        (
            "security_gate_pass_ratio",
            "M10: security scans passed over scans reported",
            figures.security_gate_pass_ratio,
        ),
        ("release_throughput_services", "M11: services shipped per completed train", figures.services_per_train),
        (
            "post_deploy_incidents_per_train",
            "M6: incidents attributed to a train within 24 h of its cutover, per train that deployed",
            figures.incidents_per_train,
        ),
        (
            "time_to_restore_seconds_mean",
            "Mean time from an incident's start to its resolution",
            figures.mean_time_to_restore_seconds,
        ),
        (
            "artifact_reproducibility_ratio",
            "M12: running digests matching what the train shipped",
            figures.artifact_reproducibility_ratio,
        ),
        (
            "roll_forward_seconds_mean",
            "M2: mean time from the first production step to the last step's success",
            figures.mean_roll_forward_seconds,
        ),
        ("deployment_seconds_mean", "M4: mean time a deployer took per rollout step", figures.mean_deployment_seconds),
        (
            "canary_failure_ratio",
            "M5: canary checks failed (judge or fast burn) over canary checks made",
            figures.canary_failure_ratio,
        ),
        (
            "error_budget_overspent_train_ratio",
            "M7: share of measured rollouts that spent 20% or more of a service's error budget",
            figures.over_budget_ratio,
        ),
        (
            "latency_delta_ratio_mean",
            "M8: mean relative p95 latency change during a rollout against before it",
            figures.latency_delta_ratio,
        ),
    ];
    for (name, help, value) in optional {
        if let Some(value) = value {
            let gauge = FloatGauge::default();
            gauge.set(value);
            registry.register(name, help, gauge);
        }
    }
    labelled::<DomainLabel>(
        &mut registry,
        "error_budget_consumed_ratio",
        "M7: mean share of the error budget a train's rollout spent, by domain",
        &figures.budget_consumed_by_domain,
        |domain| DomainLabel { domain },
    );
    labelled::<ServiceLabel>(
        &mut registry,
        "error_budget_remaining_ratio",
        "Error budget left at the end of the service's latest measured train",
        &figures.budget_remaining_by_service,
        |service| ServiceLabel { service },
    );
    labelled::<GateLabel>(
        &mut registry,
        "gate_flakiness_ratio",
        "F1: candidates whose gate answered both pass and not-pass, over those judged (90 days)",
        &figures.gate_flakiness,
        |gate| GateLabel { gate },
    );
    labelled::<RegionLabel>(
        &mut registry,
        "rollout_region_success_ratio",
        "M9: production rollout steps that succeeded over those finished, by region",
        &figures.region_success,
        |region| RegionLabel { region },
    );
    let info = Family::<DeploymentLabel, Gauge>::default();
    for label in &figures.deployments {
        info.get_or_create(label).set(1);
    }
    registry.register(
        "deployment_info",
        "1 per version live in an environment and region, labelled with the train that deployed it",
        info,
    );
    let deployment_events = Family::<DeploymentEventLabel, prometheus_client::metrics::counter::Counter>::default();
    for (label, count) in &figures.deployment_events {
        deployment_events.get_or_create(label).inc_by(*count);
    }
    registry.register(
        "deployment_events",
        "Rollout steps deployed, and trains rolled back (for Grafana annotations: changes(...[1m]) > 0)",
        deployment_events,
    );
    if !figures.drift.is_empty() {
        let drift = Family::<TargetLabel, Gauge>::default();
        for ((service, environment), drifting) in &figures.drift {
            drift
                .get_or_create(&TargetLabel { service: service.clone(), environment: environment.clone() })
                .set(*drifting);
        }
        registry.register(
            "drift",
            "M12: 1 while the newest report of what a service runs in an environment is not what its train shipped",
            drift,
        );
    }
    let mut text = String::new();
    encode(&mut text, &registry)?;
    Ok(text)
}

/// Registers a family of float gauges, one per `(label, value)`, unless there are none.
fn labelled<L>(registry: &mut Registry, name: &str, help: &str, values: &[(String, f64)], label: fn(String) -> L)
where
    L: Clone + std::fmt::Debug + std::hash::Hash + Eq + EncodeLabelSet + Send + Sync + 'static,
{
    if values.is_empty() {
        return;
    }
    let family = Family::<L, FloatGauge>::default();
    for (key, value) in values {
        family.get_or_create(&label(key.clone())).set(*value);
    }
    registry.register(name, help, family);
}

/// `GET /metrics`.
pub async fn metrics(State(state): State<ApiState>, caller: Caller) -> Result<Response, ApiError> {
    caller.require(Permission::Read, None)?;
    let mut conn = state.db.acquire().await?;
    let now = state.clock.instant();
    let mut figures = figures(&mut conn, now).await?;
    figures.stuck_trains = crate::runtime::stuck::find(&mut conn, now, state.stuck_after).await?.len() as i64;
    figures.leader_term = state.role.leading();
    let text = render(&figures).map_err(|e| ApiError::Internal(e.into()))?;
    Ok(([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_render_as_openmetrics_and_undefined_ones_are_left_out() {
        let figures = Figures {
            trains_by_state: vec![("completed".into(), 3), ("rolled_back".into(), 1)],
            release_success_ratio: Some(0.75),
            ..Figures::default()
        };
        let text = render(&figures).expect("renders");
        assert!(text.contains("railyard_trains{state=\"completed\"} 3"), "{text}");
        assert!(text.contains("railyard_release_success_ratio 0.75"), "{text}");
        assert!(!text.contains("rollback_seconds_mean"), "no rollback yet, no figure: {text}");
        assert!(text.ends_with("# EOF\n"));
    }
}
