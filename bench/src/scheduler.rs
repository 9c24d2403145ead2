//! P8: the scheduler's tick over many train definitions: the first one
//! (which creates every train in the horizon) and then steady ticks, the
//! figure being the median steady tick.

use std::time::Instant;

use chrono::Utc;
use serde_json::{json, Value};
use server::leadership::{self, LeaseConfig};
use server::scheduler::{self, SchedulerConfig};

use crate::fleet::{fleet, Cadence};

pub async fn run(database_url: &str, definitions: usize) -> anyhow::Result<Value> {
    let db = fleet(database_url, definitions.clamp(1, 30), definitions, Cadence::Weekly).await?;
    let fence = leadership::take_over(&db, "bench", LeaseConfig::default()).await?;
    let config = SchedulerConfig::default();
    let started = Instant::now();
    let first = scheduler::tick(&db, fence, Utc::now(), &config).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let first_ms = started.elapsed().as_secs_f64() * 1000.0;
    let mut ticks = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        scheduler::tick(&db, fence, Utc::now(), &config).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        ticks.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    ticks.sort_by(f64::total_cmp);
    Ok(json!({ "definitions": definitions, "created": first.created, "first_ms": first_ms, "tick_ms": ticks[2] }))
}
