//! What the train page shows, assembled on the server from what the engine
//! recorded.

use serde::{Deserialize, Serialize};

/// Everything about one train.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainPage {
    pub id: String,
    pub definition: String,
    pub domain: String,
    pub state: String,
    /// `regular` or `emergency`.
    pub kind: String,
    pub reason: String,
    pub time_zone: String,
    pub cutover_at: i64,
    pub timeline: Vec<TimelineLine>,
    pub cargo: Vec<CargoLine>,
    pub steps: Vec<StepLine>,
    pub analyses: Vec<AnalysisView>,
    pub measurements: Vec<MeasurementLine>,
}

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
    pub verdict: String,
    pub reason: String,
    pub p_value: Option<f64>,
    /// Hodges–Lehmann shift with its confidence interval.
    pub shift: Option<(f64, f64, f64)>,
    pub canary: Vec<f64>,
    pub baseline: Vec<f64>,
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
