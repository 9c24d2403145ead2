//! What the budget pages show: each service's error budget now, and for one
//! service its history as charts and what each train cost it.

use serde::{Deserialize, Serialize};

use crate::chart::TimeChart;

/// Burn rate past which the SRE workbook pages at once (2 % of a 30-day budget in an hour):
/// the burn gate's and the generated alerts' own figure.
pub const FAST_BURN: f64 = railyard_domain::analysis::budget::FAST_BURN.factor;
/// Burn rate of the slower page (5 % in six hours).
pub const SLOW_BURN: f64 = railyard_domain::analysis::budget::SLOW_BURN.factor;

/// `/budgets`: every service with an SLO, by domain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BudgetsView {
    pub domains: Vec<DomainBudgets>,
}

/// A domain's services (seed M7: error budget status per domain).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainBudgets {
    pub domain: String,
    pub services: Vec<BudgetLine>,
}

/// One service's budget as last sampled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BudgetLine {
    pub service: String,
    pub domain: String,
    /// SLO target as a percentage, `99.9`.
    pub target_percent: f64,
    /// The SLO window, "28 days".
    pub window: String,
    /// Budget left, 1 untouched, below 0 overspent; `None` before the first sample.
    pub remaining: Option<f64>,
    /// Burn rate over the hour before the sample.
    pub burn_rate: Option<f64>,
    pub sampled_at: Option<i64>,
}

/// How a budget stands, in words (never colour alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BudgetState {
    NoData,
    Healthy,
    Low,
    Burning,
    BurningFast,
    Exhausted,
}

impl BudgetState {
    /// The state of a budget with `remaining` left, burning at `burn_rate`.
    pub fn of(remaining: Option<f64>, burn_rate: Option<f64>) -> Self {
        let burn = burn_rate.unwrap_or(0.0);
        match remaining {
            None => Self::NoData,
            Some(left) if left <= 0.0 => Self::Exhausted,
            Some(_) if burn >= FAST_BURN => Self::BurningFast,
            Some(_) if burn >= SLOW_BURN => Self::Burning,
            Some(left) if left < 0.25 => Self::Low,
            Some(_) => Self::Healthy,
        }
    }

    /// A CSS class and a label with a shape, so the state reads without colour.
    pub fn label(self) -> (&'static str, &'static str) {
        match self {
            Self::NoData => ("no-data", "· not sampled yet"),
            Self::Healthy => ("healthy", "✓ healthy"),
            Self::Low => ("low", "▼ low"),
            Self::Burning => ("burning", "▲ burning"),
            Self::BurningFast => ("burning-fast", "▲▲ burning fast"),
            Self::Exhausted => ("exhausted", "✗ exhausted"),
        }
    }
}

impl BudgetLine {
    /// Where the budget stands.
    pub fn state(&self) -> BudgetState {
        BudgetState::of(self.remaining, self.burn_rate)
    }
}

/// `/budgets/{service}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceBudgetView {
    pub line: BudgetLine,
    pub runbook: String,
    pub on_call: String,
    /// Budget left over the window, with the trains' cutovers marked.
    pub remaining: TimeChart,
    /// Burn rate over the last two days, with the fast and slow thresholds.
    pub burn: TimeChart,
    /// What each train's rollout cost, newest first.
    pub trains: Vec<TrainCost>,
}

/// One train's cost to the service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainCost {
    pub train_id: String,
    pub train: String,
    pub state: String,
    pub cutover_at: i64,
    /// Share of the window's budget the rollout spent.
    pub consumed: f64,
    /// Budget left when it ended.
    pub remaining: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_reads_exhausted_before_burning_and_burning_before_low() {
        assert_eq!(BudgetState::of(None, Some(20.0)), BudgetState::NoData);
        assert_eq!(BudgetState::of(Some(-0.2), Some(20.0)), BudgetState::Exhausted);
        assert_eq!(BudgetState::of(Some(0.1), Some(20.0)), BudgetState::BurningFast);
        assert_eq!(BudgetState::of(Some(0.9), Some(7.0)), BudgetState::Burning);
        assert_eq!(BudgetState::of(Some(0.1), Some(1.0)), BudgetState::Low);
        assert_eq!(BudgetState::of(Some(0.8), None), BudgetState::Healthy);
    }
}
