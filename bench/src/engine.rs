//! P2: how many engine events per second the runtime persists on SQLite
//! while simulated trains run from planning to the end, on a simulated
//! clock that jumps to the next due effect (only the runtime's own work is
//! timed).

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use serde_json::{json, Value};
use server::clock::ManualClock;
use server::integrations::{FleetIntegrations, SimulatedMetrics};
use server::leadership::{self, LeaseConfig};
use server::scheduler::{self, SchedulerConfig};
use server::store::{self, artifacts::Artifact, artifacts::Check, Db};
use server::time::Instant as At;

use crate::fleet::{fleet, Cadence};

/// Effects settled per `work` call.
const BATCH: i64 = 500;

/// Runs `trains` trains (one per definition, over up to 30 services) to their end.
pub async fn run(database_url: &str, trains: usize) -> anyhow::Result<Value> {
    let domains = trains.clamp(1, 30);
    let db = fleet(database_url, domains, trains, Cadence::Daily).await?;
    // Noon is the cutover; a minute past the previous noon every train's planning window is open.
    let opened = Utc.with_ymd_and_hms(2027, 3, 1, 12, 1, 0).single().ok_or_else(|| anyhow::anyhow!("date"))?;
    register_builds(&db, At::from_utc(opened)).await?;
    let clock = ManualClock::starting_at(opened);
    let integrations = FleetIntegrations::new(db.clone(), Arc::new(clock.clone()), SimulatedMetrics::default())?;
    let fence = leadership::take_over(&db, "bench", LeaseConfig::default()).await?;
    let config = SchedulerConfig { horizon: chrono::Duration::days(1), ..SchedulerConfig::default() };
    scheduler::tick(&db, fence, opened, &config).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let before = events(&db).await?;
    let mut now = At::from_utc(opened);
    let mut busy = Duration::ZERO;
    loop {
        clock.set(now.to_utc());
        let started = Instant::now();
        let mut settled = server::runtime::work(&db, fence, &integrations, now, BATCH).await?;
        if settled == 0 {
            // As the runtime does between passes: freezes, and trains waiting for
            // another train's deployment of their services to end.
            settled = server::runtime::sync_freezes(&db, fence, now).await?;
        }
        busy += started.elapsed();
        if settled == 0 {
            match next_due(&db).await? {
                Some(due) if due > now => now = due,
                _ => break,
            }
        }
    }
    let persisted = events(&db).await? - before;
    let (finished,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM trains WHERE state IN ('completed', 'rolled_back', 'skipped')")
            .fetch_one(&mut *db.acquire().await?)
            .await?;
    // Opened and not at an end: waiting for good, which a run must not leave behind.
    let (unfinished,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM trains WHERE state NOT IN ('scheduled', 'completed', 'rolled_back', 'skipped', 'aborted')",
    )
    .fetch_one(&mut *db.acquire().await?)
    .await?;
    let seconds = busy.as_secs_f64();
    Ok(
        json!({ "trains": trains, "finished": finished, "unfinished": unfinished, "events": persisted, "seconds": seconds,
               "rate": persisted as f64 / seconds.max(1e-9) }),
    )
}

/// Engine events applied so far: every applied event bumps its train's state version.
async fn events(db: &Db) -> anyhow::Result<i64> {
    let (sum,): (Option<i64>,) =
        sqlx::query_as("SELECT SUM(version - 1) FROM train_runs").fetch_one(&mut *db.acquire().await?).await?;
    Ok(sum.unwrap_or(0))
}

/// When the next pending effect is due.
async fn next_due(db: &Db) -> anyhow::Result<Option<At>> {
    let (due,): (Option<i64>,) = sqlx::query_as("SELECT MIN(due_at) FROM outbox WHERE status = 'pending'")
        .fetch_one(&mut *db.acquire().await?)
        .await?;
    Ok(due.map(At::from_ms))
}

/// One candidate with passing tests for every service.
async fn register_builds(db: &Db, now: At) -> anyhow::Result<()> {
    let mut tx = db.begin().await?;
    for (index, service) in store::services::list(&mut tx).await?.into_iter().enumerate() {
        let id = store::new_id();
        let artifact = Artifact {
            id: id.clone().into(),
            service_id: service.id.clone(),
            service: service.name.clone(),
            version: "1.0.0".into(),
            digest: format!("sha256:{index:064x}"),
            commit_sha: "abcdef1".into(),
            author: "bench".into(),
            changes: "[]".into(),
            migrations: "[]".into(),
            contracts: "{}".into(),
            rejected_at: None,
            rejected_reason: None,
            created_at: now,
        };
        store::artifacts::insert_if_absent(&mut tx, &artifact).await?;
        let check = Check {
            id: store::new_id(),
            artifact_id: id,
            kind: "tests".into(),
            name: "unit".into(),
            status: "passed".into(),
            summary: String::new(),
            url: String::new(),
            details: "{}".into(),
            reported_at: now,
            reported_by: "token:bench-ci".into(),
        };
        store::artifacts::insert_check(&mut tx, &check).await?;
    }
    tx.commit().await?;
    Ok(())
}
