//! The gate board: recent trains' engine states laid out as trains × gates,
//! with flakiness over the same trains and one cell's evidence from the
//! recorded gate runs.

use railyard_domain::time::Instant;
use std::collections::HashMap;

use railyard_views::gates::{cell, BoardRow, Evidence, EvidenceRun, GateBoard, GateFlakiness};

use crate::engine::{Candidate, GateState, TrainRun};
use crate::store::{self, gate_runs::Flakiness, Db};

/// Why the board cannot be built as asked.
#[derive(Debug, thiserror::Error)]
pub enum BoardError {
    #[error("there is no domain \"{0}\"")]
    UnknownDomain(String),
    #[error("that train is not among the last {0} trains on the board")]
    UnknownTrain(usize),
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

/// The board over the `last` trains opened by `now`, for `domain` or all, with `drill`'s evidence.
pub async fn build(
    db: &Db,
    now: Instant,
    last: usize,
    domain: Option<&str>,
    drill: Option<(&str, &str)>,
) -> Result<GateBoard, BoardError> {
    let limit = i64::try_from(last).unwrap_or(i64::MAX);
    let mut conn = db.acquire().await.map_err(anyhow::Error::from)?;
    if let Some(name) = domain {
        let domains = store::domains::list(&mut conn).await.map_err(anyhow::Error::from)?;
        if !domains.iter().any(|d| d.name == name) {
            return Err(BoardError::UnknownDomain(name.to_owned()));
        }
    }
    let trains = store::views::gate_board_trains(&mut conn, now, domain, limit).await.map_err(anyhow::Error::from)?;
    let runs = store::gate_runs::of_recent_trains(&mut conn, domain, now, limit).await.map_err(anyhow::Error::from)?;
    drop(conn);

    let states: Vec<Option<TrainRun>> = trains.iter().map(|t| store::runs::decode_listed(&t.0, &t.5)).collect();
    let mut gates: Vec<String> = Vec::new();
    for run in states.iter().flatten() {
        for gate in run.candidates.iter().flat_map(|c| &c.gates) {
            if !gates.contains(&gate.name) {
                gates.push(gate.name.clone());
            }
        }
    }
    let rows = trains
        .iter()
        .zip(&states)
        .map(|((id, train, domain, state, cutover_at, _), run)| BoardRow {
            train_id: id.clone(),
            train: train.clone(),
            domain: domain.clone(),
            state: state.clone(),
            cutover_at: cutover_at.ms(),
            cells: gates
                .iter()
                .map(|gate| {
                    let states: Vec<&str> = run
                        .iter()
                        .flat_map(|r| r.candidates.iter().map(move |c| (r, c)))
                        .flat_map(|(r, c)| c.gates.iter().filter(|g| &g.name == gate).map(move |g| (r, c, g)))
                        .map(|(r, c, g)| board_state(r, c, &g.state))
                        .collect();
                    cell(&states)
                })
                .collect(),
        })
        .collect();
    let flakiness = Flakiness::of(&runs)
        .into_iter()
        .map(|f| GateFlakiness { gate: f.gate, judged: f.judged, flaky: f.flaky })
        .collect();
    let evidence = match drill {
        None => None,
        Some((train_id, gate)) => {
            let index = trains.iter().position(|t| t.0 == train_id).ok_or(BoardError::UnknownTrain(last))?;
            let artifacts: Vec<&str> =
                states[index].iter().flat_map(|r| &r.candidates).map(|c| c.artifact_id.as_str()).collect();
            let mut conn = db.acquire().await.map_err(anyhow::Error::from)?;
            let reporters = store::artifacts::reporters(&mut conn, &artifacts).await.map_err(anyhow::Error::from)?;
            Some(evidence(&trains[index].1, train_id, gate, states[index].as_ref(), &runs, &reporters))
        }
    };
    Ok(GateBoard { last, domain: domain.map(str::to_owned), gates, rows, flakiness, evidence })
}

/// Who reported the checks of kind `gate` on `artifact_id` up to `at`, in order, without repeats.
fn reported_by(reporters: &[(String, String, String, Instant)], artifact_id: &str, gate: &str, at: Instant) -> String {
    let mut names: Vec<&str> = Vec::new();
    for (_, _, by, _) in reporters.iter().filter(|(a, kind, _, when)| a == artifact_id && kind == gate && *when <= at) {
        let by = if by.is_empty() { "unknown" } else { by.as_str() };
        if !names.contains(&by) {
            names.push(by);
        }
    }
    names.join(", ")
}

/// One gate of one train: its candidates' states now and every answer it gave.
fn evidence(
    train: &str,
    train_id: &str,
    gate: &str,
    run: Option<&TrainRun>,
    runs: &[store::gate_runs::GateRun],
    reporters: &[(String, String, String, Instant)],
) -> Evidence {
    let services: HashMap<&str, &str> = run
        .map(|r| r.candidates.iter().map(|c| (c.artifact_id.as_str(), c.service.as_str())).collect())
        .unwrap_or_default();
    let candidates = run
        .iter()
        .flat_map(|r| &r.candidates)
        .filter_map(|c| {
            let g = c.gates.iter().find(|g| g.name == gate)?;
            Some((c.service.clone(), g.state.name().to_owned(), g.state.detail()))
        })
        .collect();
    let runs = runs
        .iter()
        .filter(|r| r.train_id == train_id && r.gate == gate)
        .map(|r| EvidenceRun {
            service: services.get(r.artifact_id.as_str()).map_or_else(|| r.artifact_id.clone(), |s| (*s).to_owned()),
            outcome: r.outcome.clone(),
            detail: r.detail.clone(),
            at: r.at.ms(),
            reported_by: reported_by(reporters, &r.artifact_id, gate, r.at),
        })
        .collect();
    Evidence { train_id: train_id.to_owned(), train: train.to_owned(), gate: gate.to_owned(), candidates, runs }
}

/// A gate's state on the board: one that never answered because its
/// candidate missed the train (another gate failed first) or the train
/// ended is `skipped`, not still running.
fn board_state(run: &TrainRun, candidate: &Candidate, state: &GateState) -> &'static str {
    let unanswered = matches!(state, GateState::Pending | GateState::Running);
    if unanswered && (candidate.missed.is_some() || run.phase.is_final()) {
        "skipped"
    } else {
        state.name()
    }
}
