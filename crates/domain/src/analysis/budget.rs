//! SLOs and error budgets on ratio SLIs (good events ÷ all events): budget
//! remaining over the SLO window, burn rates, and the multi-window,
//! multi-burn-rate rules of the SRE workbook.

use serde::{Deserialize, Serialize};

/// A service level objective: `target` of events good over `window_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Slo {
    /// E.g. 0.999.
    pub target: f64,
    /// The rolling window, e.g. 28 days.
    pub window_ms: i64,
}

impl Slo {
    /// An SLO; the target must be strictly between 0 and 1 and the window positive.
    pub fn new(target: f64, window_ms: i64) -> Result<Self, String> {
        if !(target > 0.0 && target < 1.0) {
            return Err(format!("an SLO target must be between 0 and 1 (e.g. 0.999), got {target}"));
        }
        if window_ms <= 0 {
            return Err("an SLO window must be longer than zero".into());
        }
        Ok(Self { target, window_ms })
    }

    /// The fraction of events allowed to be bad.
    pub fn error_allowance(&self) -> f64 {
        1.0 - self.target
    }
}

/// Good and total events over some span.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub good: u64,
    pub total: u64,
}

impl Counts {
    /// Events that were not good.
    pub fn bad(&self) -> u64 {
        self.total.saturating_sub(self.good)
    }

    /// Bad ÷ total, or `None` without events.
    pub fn error_ratio(&self) -> Option<f64> {
        (self.total > 0).then(|| self.bad() as f64 / self.total as f64)
    }
}

/// The error budget over the SLO window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BudgetStatus {
    /// Bad events the window may hold.
    pub allowed_bad: f64,
    pub bad: u64,
    /// 1 is untouched, 0 is spent, below 0 is overspent.
    pub remaining: f64,
    pub exhausted: bool,
}

/// The budget left, given the counts over the SLO's whole window.
pub fn budget(slo: &Slo, window: Counts) -> BudgetStatus {
    let allowed_bad = slo.error_allowance() * window.total as f64;
    let remaining = if window.total == 0 { 1.0 } else { 1.0 - window.bad() as f64 / allowed_bad };
    BudgetStatus { allowed_bad, bad: window.bad(), remaining, exhausted: remaining <= 0.0 }
}

/// How fast the budget burns: the error ratio as a multiple of the allowance
/// (1 spends exactly the budget over the window).
pub fn burn_rate(slo: &Slo, counts: Counts) -> Option<f64> {
    counts.error_ratio().map(|ratio| ratio / slo.error_allowance())
}

/// A multi-window burn-rate rule: both windows must burn faster than `factor`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BurnRule {
    pub long_ms: i64,
    pub short_ms: i64,
    pub factor: f64,
}

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;

/// 2% of a 30-day budget in an hour: 1 h and 5 min windows at 14.4×.
pub const FAST_BURN: BurnRule = BurnRule { long_ms: HOUR, short_ms: 5 * MINUTE, factor: 14.4 };
/// 5% of a 30-day budget in six hours: 6 h and 30 min windows at 6×.
pub const SLOW_BURN: BurnRule = BurnRule { long_ms: 6 * HOUR, short_ms: 30 * MINUTE, factor: 6.0 };
/// 10% of a 30-day budget in three days: 3 d and 6 h windows at 1× (a ticket, not a page).
pub const TICKET_BURN: BurnRule = BurnRule { long_ms: 72 * HOUR, short_ms: 6 * HOUR, factor: 1.0 };

impl BurnRule {
    /// Whether the rule fires for the counts over its long and short windows.
    /// The short window makes the alert reset quickly once the burning stops.
    pub fn breached(&self, slo: &Slo, long: Counts, short: Counts) -> bool {
        let fast = |counts| burn_rate(slo, counts).is_some_and(|rate| rate >= self.factor);
        fast(long) && fast(short)
    }
}

/// The share of the window's budget that `during` (e.g. a train's rollout)
/// spent, given the counts over the whole window (seed M7, target < 20%).
pub fn budget_consumed(slo: &Slo, window: Counts, during: Counts) -> f64 {
    let allowed_bad = slo.error_allowance() * window.total as f64;
    if allowed_bad <= 0.0 {
        return if during.bad() == 0 { 0.0 } else { f64::INFINITY };
    }
    during.bad() as f64 / allowed_bad
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slo() -> Slo {
        Slo::new(0.999, 28 * 24 * HOUR).expect("valid SLO")
    }

    #[test]
    fn the_budget_is_the_allowed_share_of_bad_events() {
        let status = budget(&slo(), Counts { good: 999_750, total: 1_000_000 });
        assert!((status.allowed_bad - 1000.0).abs() < 1e-6);
        assert!((status.remaining - 0.75).abs() < 1e-12);
        assert!(!status.exhausted);
        assert!(budget(&slo(), Counts { good: 998_000, total: 1_000_000 }).exhausted);
        assert_eq!(budget(&slo(), Counts::default()).remaining, 1.0, "no traffic spends nothing");
    }

    #[test]
    fn fast_burn_needs_both_windows_above_14_4() {
        let burning = Counts { good: 98_500, total: 100_000 }; // 1.5% errors = 15×
        let calm = Counts { good: 99_990, total: 100_000 }; // 0.01% = 0.1×
        assert!((burn_rate(&slo(), burning).expect("rate") - 15.0).abs() < 1e-9);
        assert!(FAST_BURN.breached(&slo(), burning, burning));
        assert!(!FAST_BURN.breached(&slo(), burning, calm), "recovered: the short window resets the alert");
        assert!(!FAST_BURN.breached(&slo(), calm, burning), "a blip is not a burn");
        assert!(SLOW_BURN.breached(&slo(), Counts { good: 993, total: 1000 }, Counts { good: 993, total: 1000 }));
    }

    #[test]
    fn a_train_that_spends_a_tenth_of_the_budget_is_measured() {
        let window = Counts { good: 9_990_000, total: 10_000_000 };
        let during = Counts { good: 99_000, total: 100_000 };
        assert!((budget_consumed(&slo(), window, during) - 0.1).abs() < 1e-12);
    }

    #[test]
    fn impossible_targets_are_refused() {
        assert!(Slo::new(1.0, HOUR).is_err());
        assert!(Slo::new(99.9, HOUR).is_err());
        assert!(Slo::new(0.99, 0).is_err());
    }
}
