//! What the train page shows, assembled on the server from what the engine
//! recorded.

use railyard_domain::train_kind::TrainKind;
use serde::{Deserialize, Serialize};

use crate::chart::{Series, Span, TimeChart};

/// Everything about one train.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainPage {
    pub id: String,
    pub definition: String,
    pub domain: String,
    pub state: String,
    pub kind: TrainKind,
    pub reason: String,
    pub time_zone: String,
    pub cutover_at: i64,
    pub timeline: Vec<TimelineLine>,
    pub cargo: Vec<CargoLine>,
    pub steps: Vec<StepLine>,
    pub analyses: Vec<AnalysisView>,
    pub measurements: Vec<MeasurementLine>,
    /// The server's clock when the page was built (an open phase ends there).
    #[serde(default)]
    pub now: i64,
    /// Every approval decision on the cargo, oldest first.
    #[serde(default)]
    pub approvals: Vec<ApprovalLine>,
    /// Audit entries about the train and its cargo, oldest first.
    #[serde(default)]
    pub audit: Vec<AuditLine>,
    /// The release notes, Markdown.
    #[serde(default)]
    pub release_notes: String,
    /// Services whose newest report of what runs is not what this train shipped (seed M12).
    #[serde(default)]
    pub drift: Vec<DriftLine>,
    /// What a pushed step waits for: each Argo CD Application or Flux object and what it last said.
    #[serde(default)]
    pub waiting: Vec<String>,
}

/// A service running something other than what its train shipped, until a later report matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriftLine {
    pub train_id: String,
    pub service: String,
    pub environment: String,
    /// Empty for rollouts without regions.
    #[serde(default)]
    pub region: String,
    /// Short digests, as people compare them.
    pub running: String,
    pub expected: String,
}

/// What the embedded status card shows, and nothing more: a wiki iframe
/// never receives approvals, comments, authors, the audit excerpt or notes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrainCardView {
    pub definition: String,
    pub domain: String,
    pub state: String,
    pub cutover_at: i64,
    pub candidates: usize,
    pub boarded: usize,
    pub gates_passed: usize,
    pub gates_failing: usize,
    /// The latest step that moved, `canary 5%: passed`.
    pub step: Option<String>,
    /// The latest timeline entry.
    pub latest: String,
}

impl TrainCardView {
    /// The card's figures, taken from the whole page.
    pub fn of(page: &TrainPage) -> Self {
        let gates: Vec<&str> =
            page.cargo.iter().flat_map(|c| c.gates.iter().map(|(_, state)| state.as_str())).collect();
        Self {
            definition: page.definition.clone(),
            domain: page.domain.clone(),
            state: page.state.clone(),
            cutover_at: page.cutover_at,
            candidates: page.cargo.len(),
            boarded: page.cargo.iter().filter(|c| c.status != "missed").count(),
            gates_passed: gates.iter().filter(|s| matches!(**s, "passed" | "waived" | "overridden")).count(),
            gates_failing: gates
                .iter()
                .filter(|s| matches!(**s, "failed" | "blocked" | "errored" | "inconclusive"))
                .count(),
            step: page
                .steps
                .iter()
                .rev()
                .find(|s| s.outcome != "waiting")
                .map(|s| format!("{}: {}", s.name, s.outcome)),
            latest: page.timeline.last().map(|line| line.reason.clone()).unwrap_or_default(),
        }
    }
}

/// One approver's decision on a candidate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalLine {
    pub service: String,
    pub approver: String,
    /// `approved` or `rejected`.
    pub decision: String,
    pub comment: String,
    pub at: i64,
}

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditLine {
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub object: String,
}

impl TrainPage {
    /// The phases and the rollout steps as spans on one time axis: each phase from its
    /// transition to the next (the current one to now), each step from start to finish.
    pub fn spans(&self) -> Vec<Span> {
        let moves: Vec<&TimelineLine> = self.timeline.iter().filter(|l| !l.to.is_empty()).collect();
        let mut spans: Vec<Span> = moves
            .iter()
            .enumerate()
            .map(|(i, line)| {
                let end = moves.get(i + 1).map_or_else(
                    || if FINAL.contains(&line.to.as_str()) { line.at } else { self.now.max(line.at) },
                    |next| next.at,
                );
                Span { label: line.to.replace('_', " "), class: format!("phase-{}", line.to), start: line.at, end }
            })
            .collect();
        // A step still open when the train ended (a rollback) ends with the train.
        let ended = moves.last().filter(|line| FINAL.contains(&line.to.as_str())).map(|line| line.at);
        spans.extend(self.steps.iter().filter_map(|step| {
            let start = step.started_at?;
            Some(Span {
                label: format!("step: {}", step.name),
                class: format!("step-{}", step.outcome),
                start,
                end: step.finished_at.or(ended).unwrap_or(self.now).max(start),
            })
        }));
        spans
    }
}

/// Phases a train never leaves.
const FINAL: [&str; 4] = ["completed", "rolled_back", "aborted", "skipped"];

/// One event of the timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineLine {
    pub at: i64,
    /// The phase it moved to; empty for a note within a phase.
    pub to: String,
    pub actor: String,
    pub reason: String,
}

/// A candidate and its gates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CargoLine {
    pub service: String,
    pub version: String,
    pub digest: String,
    pub author: String,
    /// `boarded`, `missed`, `shipped` or `rolled_back`.
    pub status: String,
    pub reason: String,
    /// (gate, state) as the engine holds them.
    pub gates: Vec<(String, String)>,
    /// The services its service calls.
    #[serde(default)]
    pub calls: Vec<String>,
    /// The services this change reaches (they call its service, directly or not).
    #[serde(default)]
    pub reaches: Vec<String>,
    /// The atomic group it boards and rolls back with (empty: none).
    #[serde(default)]
    pub group: String,
}

/// A rollout step and how it went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepLine {
    pub name: String,
    pub environment: String,
    pub weight: u8,
    pub region: String,
    pub soak_seconds: i64,
    /// `waiting`, `running`, `succeeded` or `failed`.
    pub outcome: String,
    #[serde(default)]
    pub started_at: Option<i64>,
    #[serde(default)]
    pub finished_at: Option<i64>,
}

/// A canary analysis with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalysisView {
    pub step: String,
    pub verdict: String,
    pub score: Option<f64>,
    pub at: i64,
    pub metrics: Vec<MetricView>,
}

/// One metric's judgement, with the samples for its chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricView {
    pub metric: String,
    pub service: String,
    /// Judged and shown, but not scored.
    #[serde(default)]
    pub dry_run: bool,
    pub verdict: String,
    pub reason: String,
    pub p_value: Option<f64>,
    /// Hodges–Lehmann shift with its confidence interval.
    pub shift: Option<(f64, f64, f64)>,
    pub canary: Vec<f64>,
    pub baseline: Vec<f64>,
    /// The span the samples cover, epoch ms (they are evenly spaced over it).
    #[serde(default)]
    pub window: (i64, i64),
}

impl MetricView {
    /// Canary against baseline over the analysis window.
    pub fn chart(&self) -> TimeChart {
        let (start, end) = self.window;
        let series = |name: &str, class: &str, values: &[f64]| {
            let step = (end - start) / (values.len().max(2) as i64 - 1);
            Series {
                name: name.to_owned(),
                class: class.to_owned(),
                points: values.iter().enumerate().map(|(i, v)| (start + i as i64 * step, *v)).collect(),
            }
        };
        TimeChart {
            title: format!("{} of {}: canary against baseline", self.metric, self.service),
            y_label: self.metric.clone(),
            series: vec![series("canary", "canary", &self.canary), series("baseline", "baseline", &self.baseline)],
            rules: Vec::new(),
            markers: Vec::new(),
            floor: None,
        }
    }
}

/// What the rollout cost one service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeasurementLine {
    pub service: String,
    pub budget_consumed: f64,
    pub budget_remaining: f64,
    pub latency_before: Option<f64>,
    pub latency_during: Option<f64>,
}

/// The train's services laid out for a small dependency drawing: providers
/// in the left column, each consumer one column right of its furthest provider.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DependencyLayout {
    /// (service, column, row).
    pub nodes: Vec<(String, usize, usize)>,
    /// (consumer, provider) indexes into `nodes`.
    pub edges: Vec<(usize, usize)>,
    pub columns: usize,
    pub rows: usize,
}

impl TrainPage {
    /// The cargo's services and who calls whom among them; `None` when none calls another.
    pub fn dependencies(&self) -> Option<DependencyLayout> {
        let mut services: Vec<&CargoLine> = self.cargo.iter().collect();
        services.sort_by(|a, b| a.service.cmp(&b.service));
        services.dedup_by(|a, b| a.service == b.service);
        let index = |name: &str| services.iter().position(|c| c.service == name);
        let edges: Vec<(usize, usize)> = services
            .iter()
            .enumerate()
            .flat_map(|(i, c)| c.calls.iter().filter_map(move |callee| Some((i, index(callee)?))))
            .filter(|(i, j)| i != j)
            .collect();
        if edges.is_empty() {
            return None;
        }
        // Longest path to a provider, bounded so a cycle cannot loop.
        let mut column = vec![0_usize; services.len()];
        for _ in 0..services.len() {
            for &(consumer, provider) in &edges {
                column[consumer] = column[consumer].max(column[provider] + 1).min(services.len() - 1);
            }
        }
        let mut rows_used = vec![0_usize; services.len()];
        let nodes: Vec<(String, usize, usize)> = services
            .iter()
            .zip(&column)
            .map(|(c, &col)| {
                let row = rows_used[col];
                rows_used[col] += 1;
                (c.service.clone(), col, row)
            })
            .collect();
        let columns = column.iter().max().map_or(1, |m| m + 1);
        let rows = rows_used.iter().copied().max().unwrap_or(1);
        Some(DependencyLayout { nodes, edges, columns, rows })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cargo(service: &str, calls: &[&str]) -> CargoLine {
        CargoLine {
            service: service.into(),
            version: "1".into(),
            digest: String::new(),
            author: String::new(),
            status: "boarded".into(),
            reason: String::new(),
            gates: Vec::new(),
            calls: calls.iter().map(|c| (*c).to_owned()).collect(),
            reaches: Vec::new(),
            group: String::new(),
        }
    }

    #[test]
    fn providers_sit_left_of_their_consumers() {
        let mut page = TrainPage {
            id: "t".into(),
            definition: "d".into(),
            domain: "x".into(),
            state: "planning".into(),
            kind: TrainKind::Regular,
            reason: String::new(),
            time_zone: "UTC".into(),
            cutover_at: 0,
            timeline: vec![],
            cargo: vec![],
            steps: vec![],
            analyses: vec![],
            measurements: vec![],
            now: 0,
            approvals: vec![],
            audit: vec![],
            release_notes: String::new(),
            drift: Vec::new(),
            waiting: Vec::new(),
        };
        page.cargo = vec![cargo("checkout", &["wallet", "fx"]), cargo("wallet", &["ledger"]), cargo("ledger", &[])];
        let layout = page.dependencies().expect("edges");
        let at = |name: &str| layout.nodes.iter().find(|(n, _, _)| n == name).map(|(_, c, r)| (*c, *r));
        assert_eq!((at("ledger"), at("wallet"), at("checkout")), (Some((0, 0)), Some((1, 0)), Some((2, 0))));
        assert_eq!(layout.edges.len(), 2, "the call to fx (not on the train) is not drawn");
        assert_eq!((layout.columns, layout.rows), (3, 1));
        page.cargo = vec![cargo("a", &[]), cargo("b", &[])];
        assert_eq!(page.dependencies(), None, "nothing to draw without calls");
    }

    #[test]
    fn phases_run_from_one_transition_to_the_next_and_the_open_one_to_now() {
        let line =
            |at: i64, to: &str| TimelineLine { at, to: to.into(), actor: "runtime".into(), reason: String::new() };
        let page = TrainPage {
            id: "t".into(),
            definition: "payments-weekly".into(),
            domain: "payments".into(),
            state: "rolling_out".into(),
            kind: TrainKind::Regular,
            reason: String::new(),
            time_zone: "UTC".into(),
            cutover_at: 0,
            timeline: vec![line(0, "planning"), line(10, ""), line(100, "preflight"), line(200, "rolling_out")],
            cargo: vec![],
            steps: vec![StepLine {
                name: "canary".into(),
                environment: "production".into(),
                weight: 10,
                region: String::new(),
                soak_seconds: 60,
                outcome: "running".into(),
                started_at: Some(210),
                finished_at: None,
            }],
            analyses: vec![],
            measurements: vec![],
            now: 500,
            approvals: vec![],
            audit: vec![],
            release_notes: String::new(),
            drift: Vec::new(),
            waiting: Vec::new(),
        };
        let spans: Vec<(String, i64, i64)> = page.spans().into_iter().map(|s| (s.label, s.start, s.end)).collect();
        assert_eq!(
            spans,
            [
                ("planning".to_owned(), 0, 100),
                ("preflight".to_owned(), 100, 200),
                ("rolling out".to_owned(), 200, 500),
                ("step: canary".to_owned(), 210, 500),
            ]
        );
        // Rolled back at 300: the open step ends there, not at the page's clock.
        let mut rolled_back = page.clone();
        rolled_back.timeline.push(line(300, "rolled_back"));
        let spans = rolled_back.spans();
        let step = spans.iter().find(|s| s.label == "step: canary").expect("the step");
        assert_eq!((step.start, step.end), (210, 300));
        assert_eq!(spans.iter().find(|s| s.label == "rolled back").map(|s| (s.start, s.end)), Some((300, 300)));
    }
}
