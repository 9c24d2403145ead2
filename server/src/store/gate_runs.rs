//! Every gate run with its outcome (seed F1: flaky gates).

use super::{new_id, Conn, DbError};

/// One run of one gate for one candidate.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct GateRun {
    pub train_id: String,
    pub artifact_id: String,
    pub gate: String,
    /// `passed`, `failed`, `deferred`, `inconclusive`, `errored` or `awaiting`.
    pub outcome: String,
    pub detail: String,
    pub at: i64,
}

/// Records a run.
#[tracing::instrument(skip_all)]
pub async fn record(conn: &mut Conn, run: &GateRun) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO gate_runs (id, train_id, artifact_id, gate, outcome, detail, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(new_id())
    .bind(&run.train_id)
    .bind(&run.artifact_id)
    .bind(&run.gate)
    .bind(&run.outcome)
    .bind(&run.detail)
    .bind(run.at)
    .execute(conn)
    .await?;
    Ok(())
}

/// A train's gate runs, oldest first.
#[tracing::instrument(skip_all)]
pub async fn of_train(conn: &mut Conn, train_id: &str) -> Result<Vec<GateRun>, DbError> {
    Ok(sqlx::query_as(
        "SELECT train_id, artifact_id, gate, outcome, detail, at FROM gate_runs WHERE train_id = $1 ORDER BY at, gate",
    )
    .bind(train_id)
    .fetch_all(conn)
    .await?)
}

/// How flaky one gate is.
#[derive(Debug, Clone, PartialEq)]
pub struct Flakiness {
    pub gate: String,
    /// Candidates (artifact and gate) that got a decisive answer.
    pub judged: i64,
    /// Of those, the ones that got both a pass and a failure, error or inconclusive answer.
    pub flaky: i64,
}

impl Flakiness {
    /// Flaky ÷ judged.
    pub fn ratio(&self) -> f64 {
        if self.judged == 0 {
            0.0
        } else {
            self.flaky as f64 / self.judged as f64
        }
    }
}

/// Per gate, over runs since `since`: how many candidates got both a pass and a not-pass answer.
#[tracing::instrument(skip_all)]
pub async fn flakiness(conn: &mut Conn, since: i64) -> Result<Vec<Flakiness>, DbError> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT gate, COUNT(*), COALESCE(SUM(CASE WHEN passes > 0 AND others > 0 THEN 1 ELSE 0 END), 0) FROM ( \
           SELECT gate, artifact_id, \
             SUM(CASE WHEN outcome = 'passed' THEN 1 ELSE 0 END) AS passes, \
             SUM(CASE WHEN outcome IN ('failed', 'errored', 'inconclusive') THEN 1 ELSE 0 END) AS others \
           FROM gate_runs WHERE at >= $1 AND outcome <> 'awaiting' GROUP BY gate, artifact_id \
         ) per_candidate GROUP BY gate ORDER BY gate",
    )
    .bind(since)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|(gate, judged, flaky)| Flakiness { gate, judged, flaky }).collect())
}
