//! Error budgets for a train's services, read through the train's metrics
//! provider: the `error_budget` gate (a service that has spent its budget
//! does not ship), the fast- and slow-burn checks while a step soaks or the train is
//! monitored, and what a finished rollout cost (budget consumed, seed M7;
//! p95 latency before and after, seed M8).

use anyhow::Context;
use railyard_domain::time::Instant;

use super::FleetIntegrations;
use crate::analysis::budget::{budget, budget_consumed, burn_rate, Counts, FAST_BURN, SLOW_BURN};
use crate::engine::{Burn, BurnSpeed, GateOutcome, TrainRun};
use crate::fleet::ServiceSlo;
use crate::runtime;
use crate::store::{self, definitions::Definition, measurements::Measurement};
use crate::time::span_words;

/// A service of the train with the SLO that measures it.
pub(super) struct Watched {
    pub(super) service: String,
    pub(super) slo: ServiceSlo,
}

impl FleetIntegrations {
    /// The train's state, its definition, and its boarded services that declare an SLO.
    async fn watched(&self, train_id: &str) -> anyhow::Result<(TrainRun, Definition, Vec<Watched>)> {
        let run = runtime::load(&self.db, train_id).await?;
        let mut conn = self.db.acquire().await?;
        let definition = self.definition_of(&mut conn, train_id).await?;
        let mut watched = Vec::new();
        for candidate in run.candidates.iter().filter(|c| c.boarded()) {
            let service = store::services::by_name(&mut conn, &candidate.service).await?;
            if let Some(slo) = service.and_then(|s| s.declared_slo()) {
                watched.push(Watched { service: candidate.service.clone(), slo });
            }
        }
        Ok((run, definition, watched))
    }

    /// Good and all events of `service` over `[from, to]`, from the definition's provider.
    /// `burning_since` is when the train's rollout began (the simulated provider's crash loop starts there).
    pub(super) async fn sli(
        &self,
        definition: &Definition,
        watched: &Watched,
        from: Instant,
        to: Instant,
        burning_since: Option<Instant>,
    ) -> anyhow::Result<Counts> {
        let Some(url) = prometheus_of(definition)? else {
            return Ok(self.metrics.simulated.counts(&watched.service, &watched.slo.slo, from, to, burning_since));
        };
        let (good, total) = (&watched.slo.good_query, &watched.slo.total_query);
        if good.is_empty() {
            anyhow::bail!("{} declares no SLI queries (slo.good and slo.total)", watched.service);
        }
        self.metrics.prometheus.sli_counts(&url, [good, total], &watched.service, from, to).await
    }

    /// p95 latency (seconds) of `service` over the span before `from` and over `[from, to]`.
    async fn latency(
        &self,
        definition: &Definition,
        train_id: &str,
        watched: &Watched,
        from: Instant,
        to: Instant,
    ) -> anyhow::Result<(Option<f64>, Option<f64>)> {
        let Some(url) = prometheus_of(definition)? else {
            let p95 = |after| Some(self.metrics.simulated.latency_p95(train_id, &watched.service, after));
            return Ok((p95(false), p95(true)));
        };
        if watched.slo.latency_query.is_empty() {
            return Ok((None, None));
        }
        let query = super::prometheus::for_span(&watched.slo.latency_query, &watched.service, to - from);
        let before = self.metrics.prometheus.instant(&url, &query, from).await?;
        let after = self.metrics.prometheus.instant(&url, &query, to).await?;
        Ok((before, after))
    }

    /// The `error_budget` gate: a candidate whose service has spent its budget misses the
    /// train, and boards a later one once the budget recovers.
    pub(super) async fn budget_gate(
        &self,
        train_id: &str,
        service_name: &str,
        now: Instant,
    ) -> anyhow::Result<GateOutcome> {
        let mut conn = self.db.acquire().await?;
        let definition = self.definition_of(&mut conn, train_id).await?;
        let service = store::services::by_name(&mut conn, service_name).await?.context("the service is gone")?;
        drop(conn);
        let Some(slo) = service.declared_slo() else {
            return Ok(GateOutcome::Failed(format!(
                "{service_name} has no SLO, so its error budget is unknown; declare one in its trains-as-code entry"
            )));
        };
        let watched = Watched { service: service_name.to_owned(), slo };
        let counts = self.sli(&definition, &watched, now - watched.slo.slo.window_ms, now, None).await?;
        let status = budget(&watched.slo.slo, counts);
        let described = format!(
            "{:.1}% of the error budget left ({} bad of {} events against {}% over {})",
            status.remaining * 100.0,
            status.bad,
            counts.total,
            watched.slo.slo.target * 100.0,
            span_words(watched.slo.slo.window_ms),
        );
        Ok(if status.exhausted {
            GateOutcome::Deferred(format!("error budget exhausted: {described}"))
        } else {
            GateOutcome::Passed
        })
    }

    /// The paging burn rules for every watched service: fast (1 h and 5 min at 14.4×) first,
    /// then slow (6 h and 30 min at 6×). A service with no events over the fast rule's long
    /// window is "no data" (seed F5), never calm.
    pub(super) async fn burn(&self, train_id: &str, now: Instant) -> anyhow::Result<Burn> {
        let (run, definition, watched) = self.watched(train_id).await?;
        let mut unknown = Vec::new();
        let mut slow = None;
        for each in &watched {
            let since =
                self.metrics.simulated.burns(train_id, &each.service).then(|| run.production_started_at()).flatten();
            let rates = async {
                let mut counts = Vec::new();
                for rule in [FAST_BURN, SLOW_BURN] {
                    let long = self.sli(&definition, each, now - rule.long_ms, now, since).await?;
                    let short = self.sli(&definition, each, now - rule.short_ms, now, since).await?;
                    counts.push((rule, long, short));
                }
                anyhow::Ok(counts)
            };
            let counts = match rates.await {
                Ok(counts) => counts,
                Err(error) => {
                    unknown.push(format!("{}: {error:#}", each.service));
                    continue;
                }
            };
            if counts[0].1.total == 0 {
                unknown.push(format!("{}: no events over the last {}", each.service, span_words(FAST_BURN.long_ms)));
                continue;
            }
            for (speed, (rule, long, short)) in [BurnSpeed::Fast, BurnSpeed::Slow].into_iter().zip(counts) {
                if !rule.breached(&each.slo.slo, long, short) {
                    continue;
                }
                let rate = |c| burn_rate(&each.slo.slo, c).unwrap_or(0.0);
                let detail = format!(
                    "{} burns {:.1}× over {} and {:.1}× over {}, threshold {}×",
                    each.service,
                    rate(long),
                    span_words(rule.long_ms),
                    rate(short),
                    span_words(rule.short_ms),
                    rule.factor
                );
                let breach = Burn::Breached { speed, service: each.service.clone(), detail };
                if speed == BurnSpeed::Fast {
                    return Ok(breach);
                }
                slow.get_or_insert(breach);
            }
        }
        Ok(match (slow, unknown.is_empty()) {
            (Some(breach), _) => breach,
            (None, true) => Burn::Calm,
            (None, false) => Burn::Unknown(unknown.join("; ")),
        })
    }

    /// Measures and stores what the rollout `[from, to]` cost each watched service.
    pub(super) async fn measure_release(
        &self,
        train_id: &str,
        from: Instant,
        to: Instant,
        now: Instant,
    ) -> anyhow::Result<()> {
        let (_, definition, watched) = self.watched(train_id).await?;
        for each in &watched {
            let since = self.metrics.simulated.burns(train_id, &each.service).then_some(from);
            let window = self.sli(&definition, each, to - each.slo.slo.window_ms, to, since).await?;
            let during = self.sli(&definition, each, from, to, since).await?;
            let (latency_before, latency_after) = self.latency(&definition, train_id, each, from, to).await?;
            let measurement = Measurement {
                train_id: train_id.to_owned(),
                service: each.service.clone(),
                from_at: from,
                to_at: to,
                slo_target: each.slo.slo.target,
                bad: i64::try_from(during.bad())?,
                total: i64::try_from(during.total)?,
                budget_consumed: budget_consumed(&each.slo.slo, window, during),
                budget_remaining: budget(&each.slo.slo, window).remaining,
                latency_before,
                latency_after,
                measured_at: now,
            };
            let mut conn = self.db.acquire().await?;
            store::measurements::record(&mut conn, &measurement).await?;
        }
        Ok(())
    }
}

/// The Prometheus server whose SLIs a definition's budgets are measured on, or `None` for
/// the labelled demo source. A misspelt provider is an error, never the demo source.
pub(super) fn prometheus_of(definition: &Definition) -> anyhow::Result<Option<String>> {
    let settings = definition
        .metrics_settings()
        .with_context(|| format!("definition {} has unreadable metrics settings", definition.name))?;
    Ok(match settings {
        crate::delivery::MetricsSettings::Prometheus { url, .. } => Some(url),
        crate::delivery::MetricsSettings::Simulated => None,
    })
}
