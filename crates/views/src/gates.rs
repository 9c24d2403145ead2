//! What the gate board shows: recent trains against their gates, each
//! cell the worst state of the train's candidates for that gate, the
//! evidence of one cell on request, and how flaky each gate has been.

use serde::{Deserialize, Serialize};

/// `/gates`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateBoard {
    /// How many recent trains the board covers.
    pub last: usize,
    /// The domain shown, or every domain.
    pub domain: Option<String>,
    /// The columns, in order.
    pub gates: Vec<String>,
    /// Newest train first.
    pub rows: Vec<BoardRow>,
    /// Per gate, over the same trains (seed F1).
    pub flakiness: Vec<GateFlakiness>,
    /// The cell asked for with `?train=…&gate=…`.
    pub evidence: Option<Evidence>,
}

/// One train's gates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoardRow {
    pub train_id: String,
    pub train: String,
    pub domain: String,
    pub state: String,
    pub cutover_at: i64,
    /// One per gate column; `None` where the train's candidates do not take the gate.
    pub cells: Vec<Option<Cell>>,
}

/// A gate across one train's candidates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cell {
    /// The worst state among the candidates.
    pub state: String,
    /// Candidates per state, worst first: (state, count).
    pub counts: Vec<(String, usize)>,
}

/// A gate's flakiness: candidates that got both a pass and a not-pass answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateFlakiness {
    pub gate: String,
    pub judged: i64,
    pub flaky: i64,
}

/// Every run of one gate in one train, with the candidates' current states.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub train_id: String,
    pub train: String,
    pub gate: String,
    /// (service, state, detail) per candidate taking the gate.
    pub candidates: Vec<(String, String, String)>,
    /// Oldest first.
    pub runs: Vec<EvidenceRun>,
}

/// One answer of the gate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceRun {
    pub service: String,
    pub outcome: String,
    pub detail: String,
    pub at: i64,
    /// Who reported the checks the answer rests on (`token:ci`), for gates CI reports.
    #[serde(default)]
    pub reported_by: String,
}

/// Gate states from worst to best: a cell shows the first its candidates have
/// (`skipped`: never answered, as its candidate missed the train or the train ended).
pub const SEVERITY: [&str; 12] = [
    "failed",
    "blocked",
    "errored",
    "inconclusive",
    "deferred",
    "awaiting",
    "running",
    "pending",
    "overridden",
    "waived",
    "passed",
    "skipped",
];

/// The cell for a gate whose candidates are in `states`.
pub fn cell(states: &[&str]) -> Option<Cell> {
    let rank = |state: &str| SEVERITY.iter().position(|s| *s == state).unwrap_or(SEVERITY.len());
    let mut counts: Vec<(String, usize)> = Vec::new();
    for state in states {
        match counts.iter_mut().find(|(s, _)| s == state) {
            Some((_, n)) => *n += 1,
            None => counts.push(((*state).to_owned(), 1)),
        }
    }
    counts.sort_by_key(|(state, _)| rank(state));
    Some(Cell { state: counts.first()?.0.clone(), counts })
}

/// A shape per gate state, so the state reads without colour.
pub fn gate_icon(state: &str) -> &'static str {
    match state {
        "passed" => "✓",
        "waived" | "overridden" => "⚑",
        "failed" => "✗",
        "blocked" => "⛔",
        "inconclusive" | "errored" => "?",
        "deferred" => "↷",
        "awaiting" | "running" | "pending" => "…",
        "skipped" => "–",
        _ => "·",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_shows_its_worst_state_and_counts_the_rest() {
        let cell = cell(&["passed", "failed", "passed", "waived"]).expect("a cell");
        assert_eq!(cell.state, "failed");
        assert_eq!(cell.counts, vec![("failed".to_owned(), 1), ("waived".to_owned(), 1), ("passed".to_owned(), 2)]);
        assert_eq!(super::cell(&[]), None, "no candidate takes the gate");
        assert_eq!(super::cell(&["passed", "inconclusive"]).map(|c| c.state), Some("inconclusive".to_owned()));
        assert_eq!(super::cell(&["skipped", "passed"]).map(|c| c.state), Some("passed".to_owned()), "skipped is least");
    }
}
