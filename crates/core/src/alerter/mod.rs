//! The alerter, run by the leader: each pass works out which conditions
//! need a person now ([`crate::alerting::of_train`], drift), records new
//! alerts and resolves gone ones in the store, re-sends every active alert
//! to Alertmanager with `endsAt` a few passes ahead (so a Railyard that
//! stops lets them lapse), sends resolutions until one is taken, and keeps
//! each train's planned-work silences in step with its cutover window.
//! Without an Alertmanager the ledger is still kept (people see it in
//! Railyard); with one that is down, nothing is lost: the next pass sends.

pub mod alertmanager;
mod silences;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use alertmanager::{Alertmanagers, PostableAlert};

use crate::alerting::{self, Alert, DriftFacts, Thresholds, TrainFacts, TrainService};
use crate::analysis::budget::SLOW_BURN;
use crate::engine::TrainRun;
use crate::runtime::{self, RuntimeError};
use crate::store::alerts::StoredAlert;
use crate::store::json_text::JsonText;
use crate::store::{self, Db};
use crate::time::Instant;
use crate::train_kind::TrainKind;
use crate::train_state::TrainState;

/// How the alerter is set up.
#[derive(Debug, Clone)]
pub struct AlerterSettings {
    /// Base URLs of Alertmanager (every member of a cluster); none: alerts are only recorded.
    pub alertmanagers: Vec<String>,
    /// Where people open Railyard, for the links in alerts (e.g. `https://railyard.example.com`).
    pub public_url: String,
    /// How often a pass runs.
    pub interval: Duration,
    /// A held train tickets after this long unless its definition says otherwise; a rollback pages after `rollback_ms`.
    pub thresholds: Thresholds,
    /// How long an HTTP request to Alertmanager may take.
    pub timeout: Duration,
}

impl Default for AlerterSettings {
    fn default() -> Self {
        Self {
            alertmanagers: Vec::new(),
            public_url: "http://127.0.0.1:3000".into(),
            interval: Duration::from_secs(30),
            thresholds: Thresholds::default(),
            timeout: Duration::from_secs(10),
        }
    }
}

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PassReport {
    pub raised: usize,
    pub resolved: usize,
    pub active: usize,
}

/// Computes, records and sends alerts.
pub struct Alerter {
    db: Db,
    settings: AlerterSettings,
    alertmanagers: Alertmanagers,
}

impl Alerter {
    pub fn new(db: Db, settings: AlerterSettings) -> anyhow::Result<Self> {
        let alertmanagers = Alertmanagers::new(settings.alertmanagers.clone(), settings.timeout)?;
        Ok(Self { db, settings, alertmanagers })
    }

    /// One pass at `now`.
    pub async fn pass(&self, now: Instant) -> anyhow::Result<PassReport> {
        let mut conn = self.db.acquire().await?;
        let stored = store::alerts::active(&mut conn).await?;
        drop(conn);
        let wanted = self.conditions(&stored, now).await?;
        let report = self.record(&stored, &wanted, now).await?;
        if self.alertmanagers.configured() {
            self.send(now).await?;
            if let Err(error) = silences::keep(&self.db, &self.alertmanagers, &self.settings, now).await {
                tracing::warn!(error = %format!("{error:#}"), "keeping planned-work silences failed; will try again");
            }
        }
        Ok(report)
    }

    /// Every alert that should be active now, by fingerprint.
    async fn conditions(&self, stored: &[StoredAlert], now: Instant) -> anyhow::Result<BTreeMap<String, Alert>> {
        let mut conn = self.db.acquire().await?;
        let mut trains = opened_trains(&mut conn).await?;
        // An ended train may still hold an alert (a burn lasts its rule's short window), or may
        // have burned and ended between two passes.
        trains.extend(stored.iter().map(|a| a.train_id.clone()));
        trains.extend(store::trains::ended_since(&mut conn, now - SLOW_BURN.short_ms).await?);
        trains.sort();
        trains.dedup();
        let mut wanted = BTreeMap::new();
        let mut context = Lookups::default();
        for train_id in trains {
            let Some(run) = watched_run(&self.db, &mut conn, &train_id).await? else { continue };
            let Some(train) = context.train(&mut conn, &train_id).await? else { continue };
            let services = self.services(&mut conn, &run).await?;
            let thresholds = Thresholds {
                held_ms: train.held_ms.unwrap_or(self.settings.thresholds.held_ms),
                ..self.settings.thresholds
            };
            let facts = TrainFacts {
                run: &run,
                definition: &train.definition,
                domain: &train.domain,
                services: &services,
                cutover_window_ms: train.cutover_window_ms,
                train_url: self.train_url(&train_id),
            };
            for alert in alerting::of_train(&facts, thresholds, now) {
                wanted.insert(alert.fingerprint(), alert);
            }
        }
        for report in store::digests::newest_per_target(&mut conn).await?.into_iter().filter(|r| r.drifted()) {
            let Some(train) = context.train(&mut conn, &report.train_id).await? else { continue };
            let service = store::services::by_name(&mut conn, &report.service).await?;
            let service = TrainService {
                name: report.service.clone(),
                runbook_url: service.map(|s| s.runbook_url).unwrap_or_default(),
            };
            let alert = alerting::drift(&DriftFacts {
                train: &report.train_id,
                definition: &train.definition,
                domain: &train.domain,
                service: &service,
                environment: report.environment,
                region: &report.region,
                expected: &report.expected_digest,
                running: &report.running_digest,
                train_url: self.train_url(&report.train_id),
            });
            wanted.insert(alert.fingerprint(), alert);
        }
        Ok(wanted)
    }

    /// The train's boarded services with their runbooks.
    async fn services(&self, conn: &mut store::Conn, run: &TrainRun) -> anyhow::Result<Vec<TrainService>> {
        let mut services = Vec::new();
        for candidate in run.candidates.iter().filter(|c| c.boarded()) {
            let runbook_url =
                store::services::by_name(conn, &candidate.service).await?.map(|s| s.runbook_url).unwrap_or_default();
            services.push(TrainService { name: candidate.service.clone(), runbook_url });
        }
        Ok(services)
    }

    fn train_url(&self, train_id: &str) -> String {
        format!("{}/trains/{train_id}", self.settings.public_url.trim_end_matches('/'))
    }

    /// Raises what is new, resolves what is gone, refreshes the rest's annotations.
    async fn record(
        &self,
        stored: &[StoredAlert],
        wanted: &BTreeMap<String, Alert>,
        now: Instant,
    ) -> anyhow::Result<PassReport> {
        let mut conn = self.db.acquire().await?;
        let mut report = PassReport { active: wanted.len(), ..PassReport::default() };
        for gone in stored.iter().filter(|s| !wanted.contains_key(&s.fingerprint)) {
            store::alerts::resolve(&mut conn, &gone.fingerprint, now).await?;
            tracing::info!(alert = %gone.name, train = %gone.train_id, "alert resolved");
            report.resolved += 1;
        }
        for (fingerprint, alert) in wanted {
            match stored.iter().find(|s| &s.fingerprint == fingerprint) {
                Some(known) if known.annotations.0 == alert.annotations => {}
                Some(_) => {
                    store::alerts::annotate(&mut conn, fingerprint, &JsonText(alert.annotations.clone())).await?
                }
                None => {
                    store::alerts::raise(&mut conn, &stored_alert(fingerprint, alert, now)).await?;
                    tracing::warn!(alert = alert.name.as_str(), severity = alert.severity.as_str(), train = %alert.train, "alert raised");
                    report.raised += 1;
                }
            }
        }
        Ok(report)
    }

    /// Sends every active alert (ending a few passes ahead) and every untold resolution.
    async fn send(&self, now: Instant) -> anyhow::Result<()> {
        let mut conn = self.db.acquire().await?;
        let active = store::alerts::active(&mut conn).await?;
        let resolved = store::alerts::unsent_resolutions(&mut conn).await?;
        drop(conn);
        // Alertmanager reads endsAt by its own clock: an active alert lapses a few passes after the
        // last one that sent it, should Railyard stop.
        let wall = Instant::from_utc(chrono::Utc::now()).max(now);
        let ends_at = wall + lapse_ms(&self.settings);
        let mut batch: Vec<PostableAlert> = active.iter().map(|a| self.postable(a, ends_at)).collect();
        batch.extend(resolved.iter().filter_map(|a| Some(self.postable(a, a.ends_at?))));
        self.alertmanagers.post_alerts(&batch).await?;
        let mut conn = self.db.acquire().await?;
        for alert in &resolved {
            if let Some(ends_at) = alert.ends_at {
                store::alerts::resolution_sent(&mut conn, &alert.fingerprint, ends_at).await?;
            }
        }
        Ok(())
    }

    fn postable(&self, alert: &StoredAlert, ends_at: Instant) -> PostableAlert {
        PostableAlert {
            labels: alert.labels.0.clone(),
            annotations: alert.annotations.0.clone(),
            starts_at: alert.starts_at.rfc3339(),
            ends_at: ends_at.rfc3339(),
            generator_url: self.train_url(&alert.train_id),
        }
    }
}

/// The trains opened and not ended yet.
async fn opened_trains(conn: &mut store::Conn) -> anyhow::Result<Vec<String>> {
    let mut trains = Vec::new();
    for state in TrainState::ALL.into_iter().filter(|s| !s.is_final() && *s != TrainState::Scheduled) {
        trains.extend(store::trains::ids_in_state(conn, state).await?);
    }
    Ok(trains)
}

/// Train `train_id`'s engine state, or `None` for a rehearsal (it alerts on nothing) or a train that is gone.
async fn watched_run(db: &Db, conn: &mut store::Conn, train_id: &str) -> anyhow::Result<Option<TrainRun>> {
    if store::trains::kind_of(conn, train_id).await? == TrainKind::Rehearsal {
        return Ok(None);
    }
    match runtime::load(db, train_id).await {
        Ok(run) => Ok(Some(run)),
        Err(RuntimeError::NotFound(_)) => Ok(None),
        Err(other) => Err(other.into()),
    }
}

/// How far ahead of the last pass an active alert (or a rollback's silence) ends: four passes, at least a minute.
fn lapse_ms(settings: &AlerterSettings) -> i64 {
    i64::try_from(settings.interval.as_millis()).unwrap_or(i64::MAX / 8).max(15_000) * 4
}

fn stored_alert(fingerprint: &str, alert: &Alert, now: Instant) -> StoredAlert {
    StoredAlert {
        fingerprint: fingerprint.to_owned(),
        name: alert.name.as_str().to_owned(),
        severity: alert.severity.as_str().to_owned(),
        train_id: alert.train.clone(),
        labels: JsonText(alert.labels.clone()),
        annotations: JsonText(alert.annotations.clone()),
        starts_at: now,
        ends_at: None,
    }
}

/// A train's definition and domain as alerts name them.
#[derive(Debug, Clone)]
struct TrainContext {
    definition: String,
    domain: String,
    cutover_window_ms: i64,
    held_ms: Option<i64>,
}

/// Definitions and domains looked up once per pass.
#[derive(Default)]
struct Lookups {
    trains: BTreeMap<String, Option<TrainContext>>,
}

impl Lookups {
    async fn train(&mut self, conn: &mut store::Conn, train_id: &str) -> anyhow::Result<Option<TrainContext>> {
        if let Some(known) = self.trains.get(train_id) {
            return Ok(known.clone());
        }
        let mut found = None;
        if let Some(definition_id) = store::trains::definition_id_of(conn, train_id).await? {
            if let Some(definition) = store::definitions::by_id(conn, &definition_id).await? {
                let domain = store::domains::of_definition(conn, &definition_id).await?.unwrap_or_default();
                found = Some(TrainContext {
                    definition: definition.name,
                    domain,
                    cutover_window_ms: definition.cutover_window_ms,
                    held_ms: definition.alerting.held_ms,
                });
            }
        }
        self.trains.insert(train_id.to_owned(), found.clone());
        Ok(found)
    }
}

/// Runs a pass every interval until `shutdown`.
pub async fn run(
    alerter: Arc<Alerter>,
    clock: Arc<dyn crate::clock::Clock>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        if let Err(error) = alerter.pass(clock.instant()).await {
            tracing::warn!(error = %format!("{error:#}"), "alerting pass failed; will try again");
        }
        tokio::select! {
            () = tokio::time::sleep(alerter.settings.interval) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            break;
        }
    }
}
