//! The scheduler: materialises upcoming trains from their definitions and
//! opens each train when its planning window starts.
//!
//! Every train is created exactly once, whoever runs the tick and however
//! often: the store's unique key on (definition, cutover) decides, and opening
//! is a conditional state change. Time comes from a [`Clock`], so tests run it
//! on a simulated clock.

mod plan;

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use tokio::sync::watch;
use tracing::Instrument;

use crate::cadence::Cadence;
use crate::clock::Clock;
use crate::leadership::{self, Fence};
use crate::store::{self, Db, DbError};
use crate::time::Instant;
use crate::train_state::TrainState;
use crate::{runtime, service};

pub use plan::{cutovers, plan_trains, Planned};

/// Definitions planned per transaction (a first tick over a big fleet commits as it goes).
const PLAN_BATCH: usize = 200;

/// How far ahead and behind the scheduler looks, and how often it runs.
#[derive(Debug, Clone, Copy)]
pub struct SchedulerConfig {
    /// Trains cutting over within this span from now are materialised.
    pub horizon: Duration,
    /// After downtime, trains whose cutover was at most this long ago are still created.
    pub catch_up: Duration,
    /// Time between ticks.
    pub interval: StdDuration,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self { horizon: Duration::days(90), catch_up: Duration::days(14), interval: StdDuration::from_secs(30) }
    }
}

/// What one tick did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TickReport {
    /// Trains created.
    pub created: usize,
    /// Trains moved from scheduled to planning.
    pub opened: usize,
    /// Trains whose whole cutover window passed while nobody was scheduling them.
    pub skipped: usize,
}

const ACTOR: &str = "scheduler";
const OPEN_BATCH: i64 = 500;

/// Runs one scheduling pass at `now`.
/// Every transaction is fenced by `fence`: a replica whose term ended creates and opens nothing.
pub async fn tick(
    db: &Db,
    fence: Fence,
    now: DateTime<Utc>,
    config: &SchedulerConfig,
) -> Result<TickReport, TickError> {
    let mut report = TickReport::default();
    let now_ms = Instant::from_utc(now);
    let horizon_end = now + config.horizon;
    // Only definitions with a cutover entering the horizon (or new or changed) have anything to plan.
    let definitions = {
        let mut conn = db.acquire().await?;
        store::definitions::needing_plans(&mut conn, Instant::from_utc(horizon_end)).await?
    };
    for batch in definitions.chunks(PLAN_BATCH) {
        let mut tx = db.begin().await?;
        for definition in batch {
            let cadence = match parse_cadence(definition) {
                Ok(cadence) => cadence,
                Err(reason) => {
                    tracing::warn!(definition = %definition.name, %reason, "skipping a definition whose cadence no longer parses");
                    continue;
                }
            };
            for planned in plan_trains(definition, &cadence, now, config) {
                if store::trains::insert_if_absent(&mut tx, &planned.train, now_ms).await?.is_some() {
                    report.created += 1;
                }
            }
            let next = plan::next_unplanned(&cadence, horizon_end);
            store::definitions::set_next_unplanned(&mut tx, &definition.id, Instant::from_utc(next)).await?;
        }
        fence.hold(&mut tx).await?;
        tx.commit().await?;
    }

    loop {
        let due = {
            let mut conn = db.acquire().await?;
            store::trains::due_to_open(&mut conn, now_ms, OPEN_BATCH).await?
        };
        if due.is_empty() {
            break;
        }
        let mut tx = db.begin().await?;
        for train in &due {
            if train.cutover_closes_at <= now_ms {
                let change = store::trains::Transition {
                    from: TrainState::Scheduled,
                    to: TrainState::Skipped,
                    at: now_ms,
                    actor: ACTOR,
                    reason: "missed: Railyard was not running during the cutover window",
                };
                if store::trains::transition(&mut tx, &train.id, change).await? {
                    report.skipped += 1;
                }
                continue;
            }
            // Trains reference their definition, so it is always there.
            let definition =
                store::definitions::by_id(&mut tx, &train.definition_id).await?.ok_or(DbError::NotFound)?;
            let opening = service::trains::Opening {
                train_id: &train.id,
                definition: &definition,
                kind: train.kind,
                cutover_at: train.cutover_at,
                planning_closes_at: (train.cutover_at - definition.preflight_ms).max(now_ms),
                actor: ACTOR,
                reason: "planning window opened",
                demo_pace: None,
            };
            if service::trains::open(&mut tx, opening, now_ms).await? {
                report.opened += 1;
            }
        }
        fence.hold(&mut tx).await?;
        tx.commit().await?;
        if (due.len() as i64) < OPEN_BATCH {
            break;
        }
    }
    Ok(report)
}

/// Ticks every `config.interval` until `shutdown` turns true or the term behind `fence` ends.
pub async fn run(
    db: Db,
    caches: Arc<crate::read_cache::ReadCaches>,
    fence: Fence,
    clock: Arc<dyn Clock>,
    config: SchedulerConfig,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let now = clock.now();
        let span = tracing::info_span!("scheduler_tick", now = %now);
        match tick(&db, fence, now, &config).instrument(span.clone()).await {
            Ok(report) if report != TickReport::default() => {
                caches.changed();
                span.in_scope(|| tracing::info!(?report, "scheduler tick"));
            }
            Ok(_) => {}
            Err(TickError::Db(error)) if leadership::is_stale(&error) => {
                span.in_scope(|| tracing::warn!(%error, "scheduler stops"));
                break;
            }
            Err(error) => {
                span.in_scope(|| tracing::error!(error = format!("{error:#}"), "scheduler tick failed; retrying"))
            }
        }
        tokio::select! {
            () = tokio::time::sleep(config.interval) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            break;
        }
    }
    tracing::info!("scheduler stopped");
}

/// Why a tick did not finish.
#[derive(Debug, thiserror::Error)]
pub enum TickError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Runtime(#[from] runtime::RuntimeError),
}

impl From<sqlx::Error> for TickError {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(DbError::Other(e))
    }
}

/// The cadence of a stored definition.
pub fn parse_cadence(definition: &store::definitions::Definition) -> Result<Cadence, String> {
    let starts_on = NaiveDate::parse_from_str(&definition.starts_on, "%Y-%m-%d").map_err(|e| e.to_string())?;
    Cadence::parse(&definition.cadence, &definition.time_zone, starts_on).map_err(|e| e.to_string())
}
