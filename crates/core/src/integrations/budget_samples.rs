//! Samples every service's error budget on a fixed grid (budget left over
//! the SLO window, burn rate over the hour before), back-filling the whole
//! window on first run, so the budget pages chart history from the store.

use railyard_domain::time::Instant;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use super::budgets::Watched;
use super::FleetIntegrations;
use crate::analysis::budget::{budget, burn_rate, Counts};
use crate::clock::Clock;
use crate::store::{self, budget_samples::BudgetSample, definitions::Definition, measurements::Measurement};

/// The grid the samples sit on.
pub const SAMPLE_STEP_MS: i64 = 30 * 60 * 1000;
/// The span a sample's burn rate covers.
pub const BURN_SPAN_MS: i64 = 60 * 60 * 1000;
/// Samples taken per service and pass from Prometheus (four queries each), so back-filling
/// a window never floods it; the newest are taken first.
const PROMETHEUS_SAMPLES_PER_PASS: usize = 48;
/// Samples this recent are taken again on every pass: late data (a train's measured cost,
/// Prometheus scraping behind) settles them.
const RETAKE_MS: i64 = 3 * 60 * 60 * 1000;

impl FleetIntegrations {
    /// Takes the samples missing from every service's window; answers how many it stored.
    pub async fn sample_budgets(&self, now: Instant) -> anyhow::Result<usize> {
        let mut conn = self.db.acquire().await?;
        let services = store::services::list(&mut conn).await?;
        drop(conn);
        let mut stored = 0;
        for service in services {
            let Some(slo) = service.declared_slo() else { continue };
            match self.sample_service(&service.id, Watched { service: service.name.clone(), slo }, now).await {
                Ok(count) => stored += count,
                Err(error) => {
                    tracing::warn!(service = service.name, error = format!("{error:#}"), "sampling the budget failed");
                }
            }
        }
        Ok(stored)
    }

    async fn sample_service(&self, service_id: &str, watched: Watched, now: Instant) -> anyhow::Result<usize> {
        let since = now - watched.slo.slo.window_ms;
        let mut conn = self.db.acquire().await?;
        let Some(definition) = provider_of(&mut conn, service_id).await? else { return Ok(0) };
        let taken: HashSet<Instant> =
            store::budget_samples::instants(&mut conn, &watched.service, since).await?.into_iter().collect();
        let prometheus = super::budgets::prometheus_of(&definition)?.is_some();
        let measured = if prometheus {
            Vec::new()
        } else {
            store::measurements::of_service(&mut conn, &watched.service, since - watched.slo.slo.window_ms).await?
        };
        drop(conn);
        let limit = if prometheus { PROMETHEUS_SAMPLES_PER_PASS } else { usize::MAX };
        let wanted =
            grid(since, now).into_iter().rev().filter(|at| *at >= now - RETAKE_MS || !taken.contains(at)).take(limit);
        let mut samples = Vec::new();
        for at in wanted {
            let counts = |from: Instant| self.history(&definition, &watched, &measured, from, at);
            let (window, hour) = (counts(at - watched.slo.slo.window_ms).await?, counts(at - BURN_SPAN_MS).await?);
            samples.push(BudgetSample {
                service: watched.service.clone(),
                at,
                remaining: budget(&watched.slo.slo, window).remaining,
                burn_rate: burn_rate(&watched.slo.slo, hour),
            });
        }
        if samples.is_empty() {
            return Ok(0);
        }
        let mut tx = self.db.begin().await?;
        store::budget_samples::record(&mut tx, &samples).await?;
        tx.commit().await?;
        Ok(samples.len())
    }

    /// Good and all events over `[from, to]` as history: from Prometheus as it is, or for the
    /// simulated provider, its steady traffic plus the extra failures trains measured.
    async fn history(
        &self,
        definition: &Definition,
        watched: &Watched,
        measured: &[Measurement],
        from: Instant,
        to: Instant,
    ) -> anyhow::Result<Counts> {
        let counts = self.sli(definition, watched, from, to, None).await?;
        if super::budgets::prometheus_of(definition)?.is_some() {
            return Ok(counts);
        }
        let slo = &watched.slo.slo;
        let extra: f64 = measured
            .iter()
            .map(|m| {
                let steady = self.metrics.simulated.counts(&watched.service, slo, m.from_at, m.to_at, None).bad();
                let extra = (m.bad - i64::try_from(steady).unwrap_or(i64::MAX)).max(0) as f64;
                let overlap = (m.to_at.min(to) - m.from_at.max(from)).max(0) as f64;
                extra * overlap / (m.to_at - m.from_at).max(1) as f64
            })
            .sum();
        Ok(Counts { good: counts.good.saturating_sub(extra.round() as u64), total: counts.total })
    }
}

/// The instants of the sample grid within `[from, to]`.
fn grid(from: Instant, to: Instant) -> Vec<Instant> {
    let first = Instant::from_ms(from.ms().div_euclid(SAMPLE_STEP_MS) * SAMPLE_STEP_MS + SAMPLE_STEP_MS);
    (0..).map(|i| first + i * SAMPLE_STEP_MS).take_while(|at| *at <= to).collect()
}

/// The definition whose metrics provider measures the service: Prometheus when any of
/// the service's definitions reads it, else the first.
async fn provider_of(conn: &mut store::Conn, service_id: &str) -> anyhow::Result<Option<Definition>> {
    let mut found = None;
    for definition in store::definitions::list(conn).await? {
        if store::definitions::service_ids(conn, &definition.id).await?.iter().any(|id| id == service_id) {
            if super::budgets::prometheus_of(&definition)?.is_some() {
                return Ok(Some(definition));
            }
            found.get_or_insert(definition);
        }
    }
    Ok(found)
}

/// Samples budgets every `interval` until `shutdown`.
pub async fn run(
    integrations: Arc<FleetIntegrations>,
    caches: Arc<crate::read_cache::ReadCaches>,
    clock: Arc<dyn Clock>,
    interval: Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        match integrations.sample_budgets(clock.instant()).await {
            Ok(0) => {}
            Ok(stored) => {
                caches.changed();
                tracing::debug!(stored, "budget samples stored");
            }
            Err(error) => tracing::error!(error = format!("{error:#}"), "sampling budgets failed; retrying"),
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grid_covers_the_window_on_whole_steps() {
        let from = Instant::from_ms(7 * SAMPLE_STEP_MS + 5);
        let to = from + 4 * SAMPLE_STEP_MS;
        let instants = grid(from, to);
        assert_eq!(instants, (8..=11).map(|i| Instant::from_ms(i * SAMPLE_STEP_MS)).collect::<Vec<_>>());
    }
}
