//! Every gate run with its outcome (seed F1: flaky gates).

use railyard_domain::time::Instant;
use std::collections::BTreeMap;

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
    #[sqlx(try_from = "i64")]
    pub at: Instant,
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
    .bind(run.at.ms())
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

impl Flakiness {
    /// Per gate, over `runs`: the candidates that got a decisive answer, and those that got
    /// both a pass and a failure, error or inconclusive answer. Sorted by gate.
    pub fn of(runs: &[GateRun]) -> Vec<Flakiness> {
        let mut answers: BTreeMap<(&str, &str), (bool, bool)> = BTreeMap::new();
        for run in runs.iter().filter(|r| r.outcome != "awaiting") {
            let seen = answers.entry((&run.gate, &run.artifact_id)).or_default();
            match run.outcome.as_str() {
                "passed" => seen.0 = true,
                "failed" | "blocked" | "errored" | "inconclusive" => seen.1 = true,
                _ => {}
            }
        }
        let mut by_gate: BTreeMap<&str, Flakiness> = BTreeMap::new();
        for ((gate, _), (passed, not_passed)) in answers {
            let entry = by_gate.entry(gate).or_insert_with(|| Flakiness { gate: gate.to_owned(), judged: 0, flaky: 0 });
            entry.judged += 1;
            entry.flaky += i64::from(passed && not_passed);
        }
        by_gate.into_values().collect()
    }
}

/// Every gate run since `since`, oldest first.
#[tracing::instrument(skip_all)]
pub async fn since(conn: &mut Conn, since: Instant) -> Result<Vec<GateRun>, DbError> {
    Ok(sqlx::query_as(
        "SELECT train_id, artifact_id, gate, outcome, detail, at FROM gate_runs WHERE at >= $1 ORDER BY at, gate",
    )
    .bind(since.ms())
    .fetch_all(conn)
    .await?)
}

/// The gate runs of the `last` trains to cut over up to `now` (of one domain, or all), oldest first.
#[tracing::instrument(skip_all)]
pub async fn of_recent_trains(
    conn: &mut Conn,
    domain: Option<&str>,
    now: Instant,
    last: i64,
) -> Result<Vec<GateRun>, DbError> {
    Ok(sqlx::query_as(
        "SELECT g.train_id, g.artifact_id, g.gate, g.outcome, g.detail, g.at FROM gate_runs g JOIN ( \
           SELECT t.id FROM trains t JOIN train_definitions d ON d.id = t.definition_id \
           JOIN domains m ON m.id = d.domain_id JOIN train_runs r ON r.train_id = t.id \
           WHERE t.planning_opens_at <= $1 AND ($2 = '' OR m.name = $2) ORDER BY t.cutover_at DESC LIMIT $3 \
         ) recent ON recent.id = g.train_id ORDER BY g.at, g.gate",
    )
    .bind(now.ms())
    .bind(domain.unwrap_or(""))
    .bind(last)
    .fetch_all(conn)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(gate: &str, artifact: &str, outcome: &str) -> GateRun {
        GateRun {
            train_id: "t".into(),
            artifact_id: artifact.into(),
            gate: gate.into(),
            outcome: outcome.into(),
            detail: String::new(),
            at: Instant::EPOCH,
        }
    }

    #[test]
    fn a_candidate_is_flaky_for_a_gate_that_both_passed_and_did_not() {
        let runs = [
            run("tests", "a", "errored"),
            run("tests", "a", "passed"),
            run("tests", "b", "passed"),
            run("tests", "c", "failed"),
            run("scan", "a", "awaiting"),
            run("scan", "a", "passed"),
        ];
        let found = Flakiness::of(&runs);
        assert_eq!(
            found,
            [
                Flakiness { gate: "scan".into(), judged: 1, flaky: 0 },
                Flakiness { gate: "tests".into(), judged: 3, flaky: 1 },
            ]
        );
    }
}
