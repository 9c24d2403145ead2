//! Canary analysis: the statistics that decide whether a canary is as good
//! as its baseline, and the scoring that turns metric verdicts into a
//! promotion decision. Pure: numbers in, numbers and verdicts out.

pub mod budget;
pub mod canary_metric;
pub mod dora;
pub mod hodges_lehmann;
pub mod judge;
pub mod kolmogorov_smirnov;
pub mod mann_whitney;
pub mod normal;
pub mod report;
pub mod score;
pub mod slo_rules;
pub mod tail;

pub use canary_metric::CanaryMetric;
pub use hodges_lehmann::{shift_estimate, ShiftEstimate};
pub use judge::{judge_metric, Direction, MetricEvidence, MetricPolicy, MetricVerdict};
pub use kolmogorov_smirnov::{ks_two_sample_exact, KolmogorovSmirnov};
pub use mann_whitney::{mann_whitney_u, MannWhitney, Method};
pub use score::{score, Classification, MetricResult, ScorePolicy, Scorecard};
pub use tail::{compare_tail, TailComparison};
