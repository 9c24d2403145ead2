//! The budget pages: each service's SLO with its newest budget sample, and
//! one service's history (samples, train cutovers, measured train costs)
//! laid out as the app's charts.

use railyard_domain::time::Instant;
use std::collections::{BTreeMap, HashMap};

use railyard_views::budgets::{
    BudgetLine, BudgetsView, DomainBudgets, ServiceBudgetView, TrainCost, FAST_BURN, SLOW_BURN,
};
use railyard_views::chart::{Marker, Rule, Series, TimeChart};

use crate::store::{self, budget_samples::BudgetSample, services::Service, Db};
use crate::time::span_words;

/// Longest a chart's series gets; longer sample runs are thinned evenly.
const MAX_POINTS: usize = 240;
/// The burn-rate chart's span.
const BURN_SPAN_MS: i64 = 2 * 24 * 3_600_000;

/// Every service with an SLO, grouped by domain.
pub async fn overview(db: &Db) -> anyhow::Result<BudgetsView> {
    let mut conn = db.acquire().await?;
    let services = store::services::list(&mut conn).await?;
    let domains = store::domains::list(&mut conn).await?;
    let latest: HashMap<String, BudgetSample> =
        store::budget_samples::latest(&mut conn).await?.into_iter().map(|s| (s.service.clone(), s)).collect();
    let domain_names: HashMap<&str, &str> = domains.iter().map(|d| (d.id.as_str(), d.name.as_str())).collect();
    let mut grouped: BTreeMap<String, Vec<BudgetLine>> = BTreeMap::new();
    for service in &services {
        let domain = domain_names.get(service.domain_id.as_str()).copied().unwrap_or_default();
        if let Some(line) = line_of(service, domain, latest.get(&service.name)) {
            grouped.entry(domain.to_owned()).or_default().push(line);
        }
    }
    Ok(BudgetsView {
        domains: grouped.into_iter().map(|(domain, services)| DomainBudgets { domain, services }).collect(),
    })
}

/// One service's budget history up to `now`; `None` when it does not exist or has no SLO.
pub async fn service(db: &Db, name: &str, now: Instant) -> anyhow::Result<Option<ServiceBudgetView>> {
    let mut conn = db.acquire().await?;
    let Some(service) = store::services::by_name(&mut conn, name).await? else { return Ok(None) };
    let Some(slo) = service.declared_slo() else { return Ok(None) };
    let since = now - slo.slo.window_ms;
    let samples = store::budget_samples::of_service(&mut conn, name, since).await?;
    let trains = store::trains::carrying_between(&mut conn, &service.id, since, now + 1).await?;
    let measured = store::measurements::of_service(&mut conn, name, since).await?;
    let domain = store::domains::list(&mut conn).await?.into_iter().find(|d| d.id == service.domain_id);
    drop(conn);

    let Some(line) = line_of(&service, domain.as_ref().map_or("", |d| d.name.as_str()), samples.last()) else {
        return Ok(None);
    };
    let markers: Vec<Marker> = trains
        .iter()
        .map(|t| Marker {
            label: format!("{} cutover ({})", t.definition, t.state.as_str().replace('_', " ")),
            at: t.cutover_at.ms(),
        })
        .collect();
    let remaining = TimeChart {
        title: format!("{name}: error budget left over the {}", line.window),
        y_label: "budget left (%)".into(),
        series: vec![Series {
            name: "budget left".into(),
            class: "budget".into(),
            points: thin(samples.iter().map(|s| (s.at.ms(), s.remaining * 100.0)).collect()),
        }],
        rules: vec![Rule { label: "exhausted".into(), value: 0.0 }],
        markers,
        floor: Some(100.0),
    };
    let burn = TimeChart {
        title: format!("{name}: burn rate over the last two days"),
        y_label: "burn rate (× budget pace, 1 h)".into(),
        series: vec![Series {
            name: "burn rate".into(),
            class: "burn".into(),
            points: thin(
                samples
                    .iter()
                    .filter(|s| s.at >= now - BURN_SPAN_MS)
                    .filter_map(|s| s.burn_rate.map(|b| (s.at.ms(), b)))
                    .collect(),
            ),
        }],
        rules: vec![
            Rule { label: format!("fast burn {FAST_BURN}×"), value: FAST_BURN },
            Rule { label: format!("slow burn {SLOW_BURN}×"), value: SLOW_BURN },
        ],
        markers: trains
            .iter()
            .filter(|t| t.cutover_at >= now - BURN_SPAN_MS)
            .map(|t| Marker { label: format!("{} cutover", t.definition), at: t.cutover_at.ms() })
            .collect(),
        floor: Some(0.0),
    };
    let names: HashMap<&str, (&str, &str, Instant)> =
        trains.iter().map(|t| (t.id.as_str(), (t.definition.as_str(), t.state.as_str(), t.cutover_at))).collect();
    let mut costs: Vec<TrainCost> = measured
        .iter()
        .map(|m| {
            let (train, state, cutover_at) =
                names.get(m.train_id.as_str()).copied().unwrap_or(("train", "", m.from_at));
            TrainCost {
                train_id: m.train_id.clone(),
                train: train.to_owned(),
                state: state.to_owned(),
                cutover_at: cutover_at.ms(),
                consumed: m.budget_consumed,
                remaining: m.budget_remaining,
            }
        })
        .collect();
    costs.sort_by_key(|c| std::cmp::Reverse(c.cutover_at));
    Ok(Some(ServiceBudgetView {
        line,
        runbook: service.runbook_url.clone(),
        on_call: service.on_call.clone(),
        remaining,
        burn,
        trains: costs,
    }))
}

/// The overview's line for `service`, or `None` without an SLO.
fn line_of(service: &Service, domain: &str, sample: Option<&BudgetSample>) -> Option<BudgetLine> {
    let slo = service.declared_slo()?;
    Some(BudgetLine {
        service: service.name.clone(),
        domain: domain.to_owned(),
        target_percent: slo.slo.target * 100.0,
        window: span_words(slo.slo.window_ms),
        remaining: sample.map(|s| s.remaining),
        burn_rate: sample.and_then(|s| s.burn_rate),
        sampled_at: sample.map(|s| s.at.ms()),
    })
}

/// At most [`MAX_POINTS`] evenly spaced points, always keeping the newest.
fn thin(points: Vec<(i64, f64)>) -> Vec<(i64, f64)> {
    if points.len() <= MAX_POINTS {
        return points;
    }
    let stride = points.len().div_ceil(MAX_POINTS);
    let last = points.len() - 1;
    points.into_iter().enumerate().filter(|(i, _)| i % stride == 0 || *i == last).map(|(_, p)| p).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinning_keeps_the_newest_point_and_the_limit() {
        let points: Vec<(i64, f64)> = (0..1344).map(|i| (i, i as f64)).collect();
        let thinned = thin(points);
        assert!(thinned.len() <= MAX_POINTS + 1, "{}", thinned.len());
        assert_eq!(thinned.last(), Some(&(1343, 1343.0)));
        assert_eq!(thinned.first(), Some(&(0, 0.0)));
    }
}
