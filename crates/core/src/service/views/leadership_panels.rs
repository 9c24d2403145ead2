//! The dashboard's leadership panels beside the seed's KPIs: the DORA keys
//! per domain (each over the last 28 days against the 28 before, with a
//! weekly series), the compliance gate pass rate, and the critical-region
//! rollout map (each declared region's newest production step).

use railyard_views::dashboard::{DomainDora, Kpi, KpiUnit, RegionResult, RegionTile};

use crate::analysis::dora::{self, Release, Restore};
use crate::engine::{Environment, GateState, COMPLIANCE_GATE};
use crate::store::regions::Region;
use crate::store::release_history::EndedTrain;
use crate::time::Instant;

const DAY: i64 = 86_400_000;
const PERIOD: i64 = 28 * DAY;
const WEEKS: i64 = 8;

/// The DORA keys of each domain in `domains` (name, colour).
pub fn dora_by_domain(
    domains: &[(String, String)],
    trains: &[EndedTrain],
    restores: &[(String, Instant, Instant)],
    now: Instant,
) -> Vec<DomainDora> {
    domains
        .iter()
        .map(|(domain, colour)| {
            let releases: Vec<Release> = trains.iter().filter(|t| &t.domain == domain).map(release).collect();
            let restores: Vec<Restore> = restores
                .iter()
                .filter(|(d, _, _)| d == domain)
                .map(|(_, started_at, resolved_at)| Restore { started_at: *started_at, resolved_at: *resolved_at })
                .collect();
            DomainDora { domain: domain.clone(), colour: colour.clone(), keys: keys(&releases, &restores, now) }
        })
        .collect()
}

fn release(train: &EndedTrain) -> Release {
    let run = train.run.as_ref();
    Release {
        ended_at: train.ended_at,
        rolled_out_at: run.and_then(|r| r.rolled_out_at),
        reached_production: run.is_some_and(|r| r.production_started_at().is_some()),
        rolled_back: train.state == "rolled_back",
        incidents: train.incidents,
        committed: train.committed.clone(),
    }
}

/// The four keys as KPIs with their trend and weekly series.
fn keys(releases: &[Release], restores: &[Restore], now: Instant) -> Vec<Kpi> {
    let period = |from: Instant, to: Instant| dora::keys(releases, restores, from, to);
    let current = period(now - PERIOD, now);
    let previous = period(now - 2 * PERIOD, now - PERIOD);
    let weekly: Vec<dora::Keys> =
        (0..WEEKS).rev().map(|w| period(now - (w + 1) * 7 * DAY, now - w * 7 * DAY)).collect();
    let seconds = |ms: Option<f64>| ms.map(|ms| ms / 1000.0);
    let kpi = |code: &str, name: &str, unit, higher_is_better, pick: &dyn Fn(&dora::Keys) -> Option<f64>, n| Kpi {
        code: code.to_owned(),
        name: name.to_owned(),
        unit,
        value: pick(&current),
        previous: pick(&previous),
        weekly: weekly.iter().map(pick).collect(),
        higher_is_better,
        observations: n,
    };
    vec![
        kpi(
            "DF",
            "deployment frequency",
            KpiUnit::PerWeek,
            true,
            &|k| (k.deployments > 0 || k.deployments_per_week > 0.0).then_some(k.deployments_per_week),
            current.deployments,
        ),
        kpi(
            "LT",
            "lead time for changes",
            KpiUnit::Seconds,
            false,
            &|k| seconds(k.lead_time_ms),
            current.changes_timed,
        ),
        kpi("CFR", "change failure rate", KpiUnit::Ratio, false, &|k| k.change_failure_rate, current.deployments),
        kpi("TTR", "time to restore", KpiUnit::Seconds, false, &|k| seconds(k.time_to_restore_ms), current.restores),
    ]
}

/// Compliance gates that passed over those decided, per train's end (approvals given in time).
pub fn compliance_observations(trains: &[EndedTrain]) -> Vec<(Instant, f64)> {
    trains
        .iter()
        .filter_map(|t| Some((t.ended_at, t.run.as_ref()?)))
        .flat_map(|(at, run)| {
            run.candidates.iter().flat_map(|c| &c.gates).filter(|g| g.name == COMPLIANCE_GATE).filter_map(move |g| {
                match &g.state {
                    GateState::Passed => Some((at, 1.0)),
                    GateState::Pending | GateState::Running => None,
                    _ => Some((at, 0.0)),
                }
            })
        })
        .collect()
}

/// Every declared region, critical first, with the newest production step any ended train ran there.
pub fn region_map(regions: &[Region], trains: &[EndedTrain]) -> Vec<RegionTile> {
    let mut tiles: Vec<RegionTile> = regions
        .iter()
        .map(|region| {
            let last = trains
                .iter()
                .filter_map(|t| Some((t, t.run.as_ref()?)))
                .flat_map(|(train, run)| {
                    run.steps.iter().filter_map(move |record| {
                        let step = run.rollout.get(record.step)?;
                        (step.environment == Environment::Production && step.region.as_deref() == Some(&region.name))
                            .then(|| RegionResult {
                                train_id: train.id.clone(),
                                train: train.definition.clone(),
                                step: step.name.clone(),
                                outcome: match record.succeeded {
                                    Some(true) => "succeeded",
                                    Some(false) => "failed",
                                    None => "running",
                                }
                                .to_owned(),
                                at: record.finished_at.unwrap_or(record.started_at).ms(),
                            })
                    })
                })
                .max_by_key(|result| result.at);
            RegionTile {
                name: region.name.clone(),
                description: region.description.clone(),
                critical: region.is_critical(),
                last,
            }
        })
        .collect();
    tiles.sort_by_key(|t| !t.critical);
    tiles
}
