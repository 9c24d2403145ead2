//! The executive dashboard: the seed's KPIs over the last 28 days with the
//! 28 before and a weekly series (M1, M3, M10, and M9 per region), error
//! budgets per domain (M7) from the newest budget samples, and the next
//! cutovers. Loading is here; the figures are pure functions below.

use railyard_domain::time::Instant;
use std::collections::BTreeMap;

use railyard_views::budgets::{BudgetState, SLOW_BURN};
use railyard_views::dashboard::{Countdown, Dashboard, DomainBudgetStatus, KindKpis, Kpi, KpiUnit, NextCutover};

use super::leadership_panels as panels;
use crate::engine::{Environment, TrainRun};
use crate::store::{self, Db};
use crate::train_kind::TrainKind;

const DAY: i64 = 86_400_000;
/// The period a KPI's value covers (and the one before it is compared with).
const PERIOD: i64 = 28 * DAY;
/// Weeks in a KPI's sparkline.
const WEEKS: i64 = 8;
/// How far ahead "next cutovers" looks, and how many it lists.
const AHEAD: i64 = 14 * DAY;
const NEXT: usize = 6;

/// One observation of a KPI: when, and its value (1/0 for successes, seconds for durations).
type Observation = (Instant, f64);

/// Builds the dashboard as of `now`, for `domain` or all.
pub async fn build(db: &Db, now: Instant, domain: Option<&str>) -> anyhow::Result<Dashboard> {
    let since = now - (WEEKS * 7 * DAY).max(2 * PERIOD);
    let mut conn = db.acquire().await?;
    let store::views::DashboardHistory { finished, rollbacks, scans } =
        store::views::dashboard_history(&mut conn, since, domain).await?;
    let upcoming = store::trains::cutting_over_between(&mut conn, now, now + AHEAD, domain).await?;
    let services = store::services::list(&mut conn).await?;
    let domains = store::domains::list(&mut conn).await?;
    let samples = store::budget_samples::latest(&mut conn).await?;
    let measured = store::measurements::with_domain_since(&mut conn, since).await?;
    let declared = store::regions::list(&mut conn).await?;
    let drifting = super::train_page::drifting(&mut conn, None).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let ended = store::release_history::ended_trains(&mut conn, now - 2 * PERIOD).await?;
    let restores = store::release_history::restores(&mut conn, now - 2 * PERIOD).await?;
    drop(conn);
    let ended: Vec<_> = ended.into_iter().filter(|t| domain.is_none_or(|name| name == t.domain)).collect();

    let kinds_and_runs: Vec<(&String, TrainRun)> =
        finished.iter().filter_map(|(_, _, run, kind)| Some((kind, run.clone()?))).collect();
    let outcomes: Vec<(String, Observation)> = finished
        .iter()
        .map(|(state, at, _, kind)| (kind.clone(), (*at, if state == "completed" { 1.0 } else { 0.0 })))
        .collect();
    let mut rollback_seconds: Vec<(String, Observation)> = rollbacks
        .iter()
        .filter_map(|(run, ended, kind)| {
            Some((kind.clone(), (*ended, (*ended - run.rollback_started_at?) as f64 / 1000.0)))
        })
        .collect();
    // Rollbacks of some services restore a baseline too.
    for (kind, run) in &kinds_and_runs {
        rollback_seconds.extend(run.service_rollback_times().map(|observed| ((*kind).clone(), observed)));
    }
    let runs: Vec<TrainRun> = kinds_and_runs.into_iter().map(|(_, run)| run).collect();
    // A rehearsal's outcome says how ready a train is, not how releases went: kept apart.
    let production = |observed: &[(String, Observation)]| -> Vec<Observation> {
        observed.iter().filter(|(kind, _)| kind != "rehearsal").map(|(_, o)| *o).collect()
    };
    let kinds = per_kind(&outcomes, &rollback_seconds, now);
    let scan_passes: Vec<Observation> =
        scans.iter().map(|(status, at)| (*at, if status == "passed" { 1.0 } else { 0.0 })).collect();
    let kpis = vec![
        kpi("M1", "release success", KpiUnit::Ratio, true, &production(&outcomes), now),
        kpi("M3", "mean time to roll back", KpiUnit::Seconds, false, &production(&rollback_seconds), now),
        kpi("M10", "security gate pass rate", KpiUnit::Ratio, true, &scan_passes, now),
    ];
    let critical_regions: Vec<String> = declared.iter().filter(|r| r.is_critical()).map(|r| r.name.clone()).collect();
    let regions = regions_critical_first(region_steps(&runs), &critical_regions, now);

    let budgets = domains
        .iter()
        .filter(|d| domain.is_none_or(|name| name == d.name))
        .filter_map(|d| {
            let consumed: Vec<Observation> = measured
                .iter()
                .filter(|m| m.domain == d.name)
                .map(|m| (m.measurement.to_at, m.measurement.budget_consumed))
                .collect();
            let mut status = DomainBudgetStatus {
                domain: d.name.clone(),
                colour: d.colour.clone(),
                services: 0,
                exhausted: Vec::new(),
                burning: Vec::new(),
                lowest: None,
                consumed: kpi("M7", "budget spent per train", KpiUnit::Ratio, false, &consumed, now),
            };
            for service in services.iter().filter(|s| s.domain_id == d.id && s.declared_slo().is_some()) {
                status.services += 1;
                let Some(sample) = samples.iter().find(|s| s.service == service.name) else { continue };
                match BudgetState::of(Some(sample.remaining), sample.burn_rate) {
                    BudgetState::Exhausted => status.exhausted.push(service.name.clone()),
                    _ if sample.burn_rate.unwrap_or(0.0) >= SLOW_BURN => status.burning.push(service.name.clone()),
                    _ => {}
                }
                if status.lowest.as_ref().is_none_or(|(_, left)| sample.remaining < *left) {
                    status.lowest = Some((service.name.clone(), sample.remaining));
                }
            }
            (status.services > 0).then_some(status)
        })
        .collect();

    let next = upcoming
        .into_iter()
        .filter(|t| !matches!(t.state.as_str(), "skipped" | "aborted" | "completed" | "rolled_back"))
        .take(NEXT)
        .map(next_cutover)
        .collect();
    // Drift, for the domain shown (or all).
    let in_domain = |service: &str| {
        domain.is_none_or(|name| {
            let domain_id = domains.iter().find(|d| d.name == name).map(|d| d.id.as_str());
            services.iter().any(|s| s.name == service && Some(s.domain_id.as_str()) == domain_id)
        })
    };
    let drift = drifting.into_iter().filter(|d| in_domain(&d.service)).collect();
    let shown_domains: Vec<(String, String)> = domains
        .iter()
        .filter(|d| domain.is_none_or(|name| name == d.name))
        .map(|d| (d.name.clone(), d.colour.clone()))
        .collect();
    let dora = panels::dora_by_domain(&shown_domains, &ended, &restores, now);
    let compliance =
        kpi("CG", "compliance gate pass rate", KpiUnit::Ratio, true, &panels::compliance_observations(&ended), now);
    let region_map = panels::region_map(&declared, &ended);
    Ok(Dashboard {
        now: now.ms(),
        kpis,
        kinds,
        regions,
        critical_regions,
        drift,
        budgets,
        next,
        dora,
        compliance: Some(compliance),
        region_map,
        domains: shown_domains.into_iter().map(|(name, _)| name).collect(),
    })
}

/// The next cutover of `definition` after `now`; `None` when there is no such definition.
pub async fn countdown(db: &Db, now: Instant, definition: &str) -> anyhow::Result<Option<Countdown>> {
    let mut conn = db.acquire().await?;
    let Some(found) = store::definitions::by_name(&mut conn, definition).await? else { return Ok(None) };
    let domains = store::domains::list(&mut conn).await?;
    let domain = domains.iter().find(|d| d.id == found.domain_id).map(|d| d.name.as_str());
    let upcoming = store::trains::cutting_over_between(&mut conn, now, now + 366 * DAY, domain).await?;
    let next = upcoming
        .into_iter()
        .find(|t| t.definition == definition && !matches!(t.state.as_str(), "skipped" | "aborted"))
        .map(next_cutover);
    Ok(Some(Countdown { now: now.ms(), definition: definition.to_owned(), next }))
}

fn next_cutover(t: store::trains::TrainListing) -> NextCutover {
    NextCutover {
        kind: t.kind,
        id: t.id.into(),
        name: t.definition,
        domain: t.domain,
        colour: t.domain_colour,
        state: t.state.to_string(),
        cutover_at: t.cutover_at.ms(),
        time_zone: t.time_zone,
    }
}

/// A KPI from its observations: the mean over the last period, over the one before, and per week.
fn kpi(code: &str, name: &str, unit: KpiUnit, higher_is_better: bool, observed: &[Observation], now: Instant) -> Kpi {
    let within =
        |from: Instant, to: Instant| observed.iter().filter(move |(at, _)| (from..to).contains(at)).map(|(_, v)| *v);
    let current: Vec<f64> = within(now - PERIOD, now + 1).collect();
    Kpi {
        code: code.to_owned(),
        name: name.to_owned(),
        unit,
        value: mean(current.iter().copied()),
        previous: mean(within(now - 2 * PERIOD, now - PERIOD)),
        weekly: (0..WEEKS).rev().map(|w| mean(within(now - (w + 1) * 7 * DAY, now - w * 7 * DAY + 1))).collect(),
        higher_is_better,
        observations: current.len(),
    }
}

/// M1 and M3 for each kind of train with a train in the period, in the kinds' order.
fn per_kind(outcomes: &[(String, Observation)], rollbacks: &[(String, Observation)], now: Instant) -> Vec<KindKpis> {
    let of = |list: &[(String, Observation)], kind: &str| -> Vec<Observation> {
        list.iter().filter(|(k, _)| k == kind).map(|(_, o)| *o).collect()
    };
    TrainKind::ALL
        .iter()
        .map(|kind| KindKpis {
            kind: *kind,
            success: kpi("M1", "release success", KpiUnit::Ratio, true, &of(outcomes, kind.as_str()), now),
            rollback: kpi("M3", "mean time to roll back", KpiUnit::Seconds, false, &of(rollbacks, kind.as_str()), now),
        })
        .filter(|k| k.success.observations > 0 || k.rollback.observations > 0)
        .collect()
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values.fold((0.0, 0_u32), |(sum, n), v| (sum + v, n + 1));
    (n > 0).then(|| sum / f64::from(n))
}

/// M9 per region: the critical regions first (in the order declared, shown even without steps),
/// then every other region with steps, by name.
fn regions_critical_first(
    mut steps: BTreeMap<String, Vec<Observation>>,
    critical: &[String],
    now: Instant,
) -> Vec<Kpi> {
    let mut regions: Vec<Kpi> = critical
        .iter()
        .map(|name| kpi("M9", name, KpiUnit::Ratio, true, &steps.remove(name).unwrap_or_default(), now))
        .collect();
    regions.extend(
        steps
            .into_iter()
            .map(|(region, steps)| kpi("M9", &region, KpiUnit::Ratio, true, &steps, now))
            .filter(|k| k.observations > 0),
    );
    regions
}

/// Production steps that finished, as successes (1) and failures (0) by region, at their end.
fn region_steps(runs: &[TrainRun]) -> BTreeMap<String, Vec<Observation>> {
    let mut regions: BTreeMap<String, Vec<Observation>> = BTreeMap::new();
    for run in runs {
        for record in &run.steps {
            let Some(step) = run.rollout.get(record.step) else { continue };
            if step.environment != Environment::Production {
                continue;
            }
            if let (Some(succeeded), Some(at)) = (record.succeeded, record.finished_at) {
                let region = step.region.clone().unwrap_or_else(|| "all regions".into());
                regions.entry(region).or_default().push((at, if succeeded { 1.0 } else { 0.0 }));
            }
        }
    }
    regions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kpi_compares_the_last_28_days_with_the_28_before_and_keeps_weeks() {
        let now = Instant::from_ms(100 * DAY);
        let observed = [
            (now - 2 * DAY, 1.0),
            (now - 3 * DAY, 0.0),
            (now - 10 * DAY, 1.0),
            (now - 30 * DAY, 0.0),
            (now - 40 * DAY, 1.0),
            (now - 90 * DAY, 0.0),
        ];
        let kpi = kpi("M1", "release success", KpiUnit::Ratio, true, &observed, now);
        assert_eq!(kpi.observations, 3);
        assert!((kpi.value.expect("value") - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(kpi.previous, Some(0.5));
        assert_eq!(kpi.weekly.len(), 8);
        assert_eq!(kpi.weekly[7], Some(0.5), "this week: one success, one failure");
        assert_eq!(kpi.weekly[6], Some(1.0));
        assert_eq!(kpi.weekly[5], None, "no train 14 to 21 days ago");
    }

    #[test]
    fn m1_and_m3_are_split_by_kind() {
        let now = Instant::from_ms(100 * DAY);
        let at = |days: i64| now - days * DAY;
        let outcomes = vec![
            ("regular".to_owned(), (at(1), 1.0)),
            ("regular".to_owned(), (at(2), 0.0)),
            ("emergency".to_owned(), (at(3), 1.0)),
            ("rehearsal".to_owned(), (at(4), 0.0)),
        ];
        let rollbacks = vec![("regular".to_owned(), (at(2), 90.0)), ("rehearsal".to_owned(), (at(4), 30.0))];
        let kinds = per_kind(&outcomes, &rollbacks, now);
        let shown: Vec<(&str, usize, Option<f64>, Option<f64>)> = kinds
            .iter()
            .map(|k| (k.kind.as_str(), k.success.observations, k.success.value, k.rollback.value))
            .collect();
        assert_eq!(
            shown,
            vec![
                ("regular", 2, Some(0.5), Some(90.0)),
                ("emergency", 1, Some(1.0), None),
                ("rehearsal", 1, Some(0.0), Some(30.0)),
            ],
            "hotfix had no train and is left out"
        );
    }

    #[test]
    fn critical_regions_lead_m9_even_without_steps_and_the_rest_follow_by_name() {
        let now = Instant::from_ms(100 * DAY);
        let mut steps = BTreeMap::new();
        steps.insert("ap-south".to_owned(), vec![(now - DAY, 1.0)]);
        steps.insert("eu-west".to_owned(), vec![(now - DAY, 0.0), (now - 2 * DAY, 1.0)]);
        steps.insert("us-east".to_owned(), vec![(now - DAY, 1.0)]);
        let critical = ["us-east".to_owned(), "eu-central".to_owned(), "eu-west".to_owned()];
        let regions = regions_critical_first(steps, &critical, now);
        let shown: Vec<(&str, usize, Option<f64>)> =
            regions.iter().map(|k| (k.name.as_str(), k.observations, k.value)).collect();
        assert_eq!(
            shown,
            [("us-east", 1, Some(1.0)), ("eu-central", 0, None), ("eu-west", 2, Some(0.5)), ("ap-south", 1, Some(1.0))]
        );
    }
}
