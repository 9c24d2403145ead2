//! The Hodges–Lehmann estimate of the shift between two samples (the median
//! of all canary − baseline differences) and its distribution-free
//! confidence interval, found by selection in the implicit sorted matrix of
//! differences: the n·m differences are never materialised, and each order
//! statistic costs O((n + m) log(n·m)) expected time.

use super::normal;

/// The shift of the canary relative to the baseline.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ShiftEstimate {
    /// Median of the pairwise differences canary − baseline.
    pub estimate: f64,
    /// Lower end of the confidence interval.
    pub lower: f64,
    /// Upper end of the confidence interval.
    pub upper: f64,
    /// The interval's confidence level, e.g. 0.95.
    pub confidence: f64,
}

/// Estimates canary − baseline with a `confidence` interval (0 < confidence < 1).
/// `None` when a sample is empty or holds a NaN.
pub fn shift_estimate(canary: &[f64], baseline: &[f64], confidence: f64) -> Option<ShiftEstimate> {
    if canary.is_empty() || baseline.is_empty() || canary.iter().chain(baseline).any(|v| v.is_nan()) {
        return None;
    }
    let differences = Differences::new(canary, baseline);
    let (n, m) = (canary.len() as f64, baseline.len() as f64);
    let total = differences.len();
    let estimate = if total % 2 == 1 {
        differences.select(total.div_ceil(2))
    } else {
        (differences.select(total / 2) + differences.select(total / 2 + 1)) / 2.0
    };
    // The interval's ends are order statistics k and total + 1 − k of the differences,
    // with k from the normal approximation to the Wilcoxon rank-sum distribution.
    let z = normal::quantile(0.5 + confidence / 2.0);
    let k = (n * m / 2.0 - z * (n * m * (n + m + 1.0) / 12.0).sqrt()).floor().max(1.0) as usize;
    let k = k.min(total.div_ceil(2));
    Some(ShiftEstimate { estimate, lower: differences.select(k), upper: differences.select(total + 1 - k), confidence })
}

/// The matrix d[i][j] = x[i] − y[j] with x ascending and y descending, so
/// that every row and every column is non-decreasing.
struct Differences {
    x: Vec<f64>,
    y: Vec<f64>,
}

impl Differences {
    fn new(canary: &[f64], baseline: &[f64]) -> Self {
        let mut x = canary.to_vec();
        let mut y = baseline.to_vec();
        x.sort_unstable_by(f64::total_cmp);
        y.sort_unstable_by(|a, b| b.total_cmp(a));
        Self { x, y }
    }

    fn len(&self) -> usize {
        self.x.len() * self.y.len()
    }

    fn at(&self, i: usize, j: usize) -> f64 {
        self.x[i] - self.y[j]
    }

    /// For each row, how many entries are below `pivot` (`strict`) or at most `pivot`.
    /// A staircase walk: O(n + m).
    fn positions(&self, pivot: f64, strict: bool, out: &mut [usize]) -> usize {
        let m = self.y.len();
        let mut j = m;
        let mut count = 0;
        for (i, position) in out.iter_mut().enumerate() {
            // Rows grow with i, so the boundary only moves left.
            while j > 0 && !(if strict { self.at(i, j - 1) < pivot } else { self.at(i, j - 1) <= pivot }) {
                j -= 1;
            }
            *position = j;
            count += j;
        }
        count
    }

    /// The k-th smallest difference (1-based), by randomised selection over
    /// per-row candidate ranges that shrink around the answer.
    fn select(&self, k: usize) -> f64 {
        let (n, m) = (self.x.len(), self.y.len());
        let mut low = vec![0_usize; n];
        let mut high = vec![m; n];
        let mut below = vec![0_usize; n];
        let mut at_most = vec![0_usize; n];
        // Deterministic, so an analysis can be replayed bit for bit.
        let mut state = 0x9E37_79B9_7F4A_7C15_u64 ^ (k as u64);
        loop {
            let remaining: usize = low.iter().zip(&high).map(|(l, h)| h - l).sum();
            if remaining <= n + m {
                let skipped: usize = low.iter().sum();
                let mut rest: Vec<f64> =
                    (0..n).flat_map(|i| (low[i]..high[i]).map(move |j| (i, j))).map(|(i, j)| self.at(i, j)).collect();
                // Linear-time selection among the few left, not a sort.
                let (_, kth, _) = rest.select_nth_unstable_by(k - skipped - 1, f64::total_cmp);
                return *kth;
            }
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mut pick = (state % remaining as u64) as usize;
            let mut row = 0;
            while pick >= high[row] - low[row] {
                pick -= high[row] - low[row];
                row += 1;
            }
            let pivot = self.at(row, low[row] + pick);
            let less = self.positions(pivot, true, &mut below);
            let not_more = self.positions(pivot, false, &mut at_most);
            if k <= less {
                for (h, b) in high.iter_mut().zip(&below) {
                    *h = (*h).min(*b);
                }
            } else if k > not_more {
                for (l, a) in low.iter_mut().zip(&at_most) {
                    *l = (*l).max(*a);
                }
            } else {
                return pivot;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_differences(x: &[f64], y: &[f64]) -> Vec<f64> {
        let mut d: Vec<f64> = x.iter().flat_map(|a| y.iter().map(move |b| a - b)).collect();
        d.sort_unstable_by(f64::total_cmp);
        d
    }

    fn sample(seed: u64, len: usize, offset: f64) -> Vec<f64> {
        let mut state = seed;
        (0..len)
            .map(|_| {
                state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                // Coarse values, so ties are common.
                ((state >> 40) % 50) as f64 + offset
            })
            .collect()
    }

    #[test]
    fn selection_agrees_with_sorting_every_difference() {
        for (n, m) in [(1, 1), (3, 7), (40, 25), (101, 99)] {
            let x = sample(n as u64, n, 3.0);
            let y = sample(m as u64 + 1000, m, 0.0);
            let sorted = all_differences(&x, &y);
            let differences = Differences::new(&x, &y);
            for k in [1, sorted.len() / 3 + 1, sorted.len() / 2 + 1, sorted.len()] {
                assert_eq!(differences.select(k), sorted[k - 1], "n={n} m={m} k={k}");
            }
        }
    }

    #[test]
    fn the_estimate_is_the_median_difference_and_the_interval_contains_it() {
        let canary: Vec<f64> = (0..30).map(|i| f64::from(i) + 10.0).collect();
        let baseline: Vec<f64> = (0..30).map(f64::from).collect();
        let shift = shift_estimate(&canary, &baseline, 0.95).expect("valid samples");
        assert_eq!(shift.estimate, 10.0);
        assert!(shift.lower < 10.0 && shift.upper > 10.0);
        assert!(shift.lower > 0.0, "a shift of 10 over a spread of 30 is significant at 95%");
    }
}
