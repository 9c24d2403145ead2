//! The on-call view: for every service, what is deploying now (with the
//! actions the caller may take), the alerts Railyard holds active, open and
//! recent incidents, and the canary SLIs of analyses that did not pass.

use std::collections::BTreeMap;

use railyard_views::oncall::{OnCallAlert, OnCallIncident, OnCallService, OnCallView, SliDelta};

use crate::auth::{Caller, Permission};
use crate::runtime;
use crate::service::{Ctx, ServiceError};
use crate::store;
use crate::time::Instant;
use crate::train_state::TrainState;

/// How far back resolved incidents and failed analyses stay on the page.
const RECENT_MS: i64 = 24 * 3_600_000;

/// The view for `caller` (an embed's anonymous caller gets no actions and no forms).
pub async fn build(ctx: Ctx<'_>, caller: &Caller) -> Result<OnCallView, ServiceError> {
    let now = ctx.now();
    let mut conn = ctx.db.acquire().await?;
    let domains: BTreeMap<String, String> =
        store::domains::list(&mut conn).await?.into_iter().map(|d| (d.id, d.name)).collect();
    let services = store::services::list(&mut conn).await?;
    let (trains, _) = super::console::trains(&mut conn, caller, now).await?;
    let deploying_phases = [
        TrainState::Staging,
        TrainState::Canary,
        TrainState::Cutover,
        TrainState::Monitoring,
        TrainState::Held,
        TrainState::Suspended,
    ];
    let mut carried: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut in_flight = Vec::new();
    for train in trains.iter().filter(|t| deploying_phases.iter().any(|p| p.as_str() == t.phase)) {
        let Ok(run) = runtime::load(ctx.db, &train.id).await else { continue };
        if !run.has_deployed() && run.phase != TrainState::Staging {
            continue;
        }
        carried.insert(
            train.id.clone(),
            run.candidates.iter().filter(|c| c.boarded()).map(|c| c.service.clone()).collect(),
        );
        in_flight.push(train.id.clone());
    }
    let mut failing: BTreeMap<String, Vec<SliDelta>> = BTreeMap::new();
    let recent = store::trains::ended_since(&mut conn, now - RECENT_MS).await?;
    for train_id in in_flight.iter().chain(recent.iter()) {
        for (service, delta) in failing_metrics(&mut conn, ctx, train_id).await? {
            failing.entry(service).or_default().push(delta);
        }
    }
    let mut alerts: BTreeMap<String, Vec<OnCallAlert>> = BTreeMap::new();
    for alert in store::alerts::active(&mut conn).await? {
        let line = OnCallAlert {
            name: alert.name.clone(),
            severity: alert.severity.clone(),
            summary: alert.annotations.get("summary").cloned().unwrap_or_default(),
            train_id: alert.train_id.clone(),
            started_at: alert.starts_at.ms(),
        };
        for service in alert.labels.get("service").map(|s| s.split(',').collect::<Vec<_>>()).unwrap_or_default() {
            alerts.entry(service.to_owned()).or_default().push(line.clone());
        }
    }
    let mut incidents: BTreeMap<String, Vec<OnCallIncident>> = BTreeMap::new();
    for incident in store::incidents::open_or_since(&mut conn, now - RECENT_MS).await? {
        let domain =
            services.iter().find(|s| s.id == incident.service_id).and_then(|s| domains.get(&s.domain_id)).cloned();
        incidents.entry(incident.service_id.clone()).or_default().push(OnCallIncident {
            can_resolve: incident.resolved_at.is_none()
                && caller.principal.can(Permission::ReportIncidents, domain.as_deref()),
            id: incident.id,
            title: incident.title,
            severity: incident.severity,
            started_at: incident.started_at.ms(),
            resolved_at: incident.resolved_at.map(Instant::ms),
            train_id: incident.train_id,
            link: incident.link,
        });
    }
    let mut rows: Vec<OnCallService> = services
        .into_iter()
        .map(|service| {
            let domain = domains.get(&service.domain_id).cloned().unwrap_or_default();
            let mut open = incidents.remove(&service.id).unwrap_or_default();
            open.sort_by_key(|i| (i.resolved_at.is_some(), -i.started_at));
            OnCallService {
                deploying: trains
                    .iter()
                    .filter(|t| carried.get(&t.id).is_some_and(|names| names.contains(&service.name)))
                    .cloned()
                    .collect(),
                alerts: alerts.remove(&service.name).unwrap_or_default(),
                failing: failing.remove(&service.name).unwrap_or_default(),
                incidents: open,
                name: service.name,
                domain,
                owner: service.owner,
                runbook_url: service.runbook_url,
                on_call: service.on_call,
            }
        })
        .collect();
    // Most urgent first: paging alerts, open incidents, other alerts, failing canaries, then the rest.
    rows.sort_by_key(|s| {
        let pages = s.alerts.iter().any(|a| a.severity == "page");
        let open = s.incidents.iter().any(|i| i.resolved_at.is_none());
        (s.quiet(), !pages, !open, s.alerts.is_empty(), s.failing.is_empty(), s.name.clone())
    });
    let reportable = rows
        .iter()
        .filter(|s| caller.principal.can(Permission::ReportIncidents, Some(&s.domain)))
        .map(|s| s.name.clone())
        .collect();
    Ok(OnCallView { now: now.ms(), services: rows, reportable })
}

/// The metrics that did not pass in train `train_id`'s latest analysis that did not pass, by service.
async fn failing_metrics(
    conn: &mut store::Conn,
    ctx: Ctx<'_>,
    train_id: &str,
) -> Result<Vec<(String, SliDelta)>, ServiceError> {
    let analyses = store::analyses::of_train(conn, train_id).await?;
    let Some(latest) = analyses.iter().rev().find(|a| a.verdict != "pass") else { return Ok(Vec::new()) };
    let Some(listing) = store::trains::by_id(conn, train_id).await? else { return Ok(Vec::new()) };
    let step = match runtime::load(ctx.db, train_id).await {
        Ok(run) => usize::try_from(latest.step)
            .ok()
            .and_then(|i| run.rollout.get(i))
            .map_or_else(|| format!("step {}", latest.step + 1), |s| s.name.clone()),
        Err(_) => format!("step {}", latest.step + 1),
    };
    let report: serde_json::Value = serde_json::from_str(&latest.report).unwrap_or_default();
    let metrics = report["metrics"].as_array().cloned().unwrap_or_default();
    // A metric judged over several services at once ("ledger, checkout") counts for each of them.
    Ok(metrics
        .iter()
        .filter(|m| m["evidence"]["verdict"].as_str().is_some_and(|v| v != "pass") && m["dry_run"] != true)
        .flat_map(|m| {
            let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
            let evidence = &m["evidence"];
            let delta = SliDelta {
                train_id: train_id.to_owned(),
                train: listing.definition.clone(),
                step: step.clone(),
                metric: text(&m["metric"]),
                verdict: text(&evidence["verdict"]),
                baseline: evidence["baseline_median"].as_f64(),
                canary: evidence["canary_median"].as_f64(),
                change: evidence["relative_shift"].as_f64(),
                reason: text(&evidence["reason"]),
            };
            let services: Vec<String> = text(&m["service"]).split(',').map(|s| s.trim().to_owned()).collect();
            services.into_iter().map(move |service| (service, delta.clone()))
        })
        .collect())
}
