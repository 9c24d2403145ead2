//! P2's baseline: the rate of the simplest durable write, one row per
//! transaction (`BEGIN IMMEDIATE`, `INSERT`, `COMMIT`), on the same pool and
//! pragmas as Railyard's store.

use std::time::Instant;

use serde_json::{json, Value};
use server::store::Db;

pub async fn run(database_url: &str, count: usize) -> anyhow::Result<Value> {
    let db = Db::connect(database_url).await?;
    sqlx::query("CREATE TABLE IF NOT EXISTS bench_commits (id BIGINT PRIMARY KEY, payload TEXT NOT NULL)")
        .execute(&mut *db.acquire().await?)
        .await?;
    let started = Instant::now();
    for n in 0..count {
        let mut tx = db.begin().await?;
        sqlx::query("INSERT INTO bench_commits (id, payload) VALUES ($1, $2)")
            .bind(i64::try_from(n)?)
            .bind("an engine event's worth of text")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(json!({ "commits": count, "seconds": seconds, "rate": count as f64 / seconds.max(1e-9) }))
}
