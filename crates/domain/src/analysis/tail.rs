//! Tail comparison: a high quantile (p95, p99) of the canary against the
//! baseline's, with a distribution-free interval on the difference, so a
//! canary whose slowest requests got slower is caught even when its median
//! did not move. Quantiles are numpy's default (linear interpolation between
//! order statistics); each side's interval comes from the order statistics
//! whose ranks the binomial distribution bounds (exact, no resampling, so
//! the answer is the same on every run), and the two are combined so the
//! difference's interval holds with at least the asked confidence.

/// A tail compared.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TailComparison {
    /// Which quantile, e.g. 0.99.
    pub quantile: f64,
    pub baseline: f64,
    pub canary: f64,
    /// canary − baseline: at least `lower` and at most `upper` with the asked
    /// confidence; `None` where the samples are too small to bound that side.
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    /// The rise the policy tolerates, as a share of the baseline's quantile.
    pub tolerance: f64,
    /// Whether the canary's quantile is, with that confidence, above the
    /// baseline's by more than the tolerance.
    pub regressed: bool,
}

impl TailComparison {
    /// The canary's change as a share of the baseline's quantile (0.38 = 38% higher); `None` for a zero baseline.
    pub fn change(&self) -> Option<f64> {
        (self.baseline != 0.0).then(|| (self.canary - self.baseline) / self.baseline.abs())
    }
}

/// Compares the `quantile` (0 < q < 1) of `canary` against `baseline`;
/// `None` when a sample is empty or holds a NaN.
pub fn compare_tail(
    baseline: &[f64],
    canary: &[f64],
    quantile: f64,
    tolerance: f64,
    confidence: f64,
) -> Option<TailComparison> {
    let open_unit = |v: f64| 0.0 < v && v < 1.0;
    if !open_unit(quantile) || !open_unit(confidence) {
        return None;
    }
    let baseline = sorted(baseline)?;
    let canary = sorted(canary)?;
    // Each side at 1 − α/2, so both hold at once with at least 1 − α (Bonferroni).
    let each = 1.0 - (1.0 - confidence) / 2.0;
    let (b_low, b_high) = order_statistic_interval(&baseline, quantile, each);
    let (c_low, c_high) = order_statistic_interval(&canary, quantile, each);
    let (b, c) = (quantile_of(&baseline, quantile), quantile_of(&canary, quantile));
    let lower = c_low.zip(b_high).map(|(c, b)| c - b);
    let upper = c_high.zip(b_low).map(|(c, b)| c - b);
    let regressed = lower.is_some_and(|low| low > tolerance * b.abs());
    Some(TailComparison { quantile, baseline: b, canary: c, lower, upper, tolerance, regressed })
}

/// The `q` quantile of sorted `values` as numpy computes it by default.
pub fn quantile_of(values: &[f64], q: f64) -> f64 {
    let Some(last) = values.len().checked_sub(1) else { return f64::NAN };
    let h = last as f64 * q;
    let below = (h.floor() as usize).min(last);
    let above = (below + 1).min(last);
    values[below] + (h - below as f64) * (values[above] - values[below])
}

fn sorted(values: &[f64]) -> Option<Vec<f64>> {
    if values.is_empty() || values.iter().any(|v| v.is_nan()) {
        return None;
    }
    let mut values = values.to_vec();
    values.sort_by(f64::total_cmp);
    Some(values)
}

/// Order statistics bounding the `q` quantile of the population `sorted`
/// came from with probability at least `confidence` (each side missing with
/// at most half the rest): the count of values below the quantile is
/// binomial(n, q).
fn order_statistic_interval(sorted: &[f64], q: f64, confidence: f64) -> (Option<f64>, Option<f64>) {
    let n = sorted.len();
    let half = (1.0 - confidence) / 2.0;
    // cdf[k] = P(B ≤ k) for B ~ binomial(n, q); each term from the one before, in log space.
    let nf = n as f64;
    let odds = q.ln() - (-q).ln_1p();
    let mut ln_pmf = nf * (-q).ln_1p();
    let mut cdf = Vec::with_capacity(n + 1);
    let mut total = 0.0;
    for k in 0..=n {
        total += ln_pmf.exp();
        cdf.push(total.min(1.0));
        let kf = k as f64;
        ln_pmf += ((nf - kf) / (kf + 1.0)).ln() + odds;
    }
    // The lower bound x(l) (1-based) misses when fewer than l values lie below: P(B ≤ l − 1) ≤ half.
    let low = (1..=n).rev().find(|&l| cdf[l - 1] <= half).map(|l| sorted[l - 1]);
    // The upper bound x(u) misses when u or more lie below: 1 − P(B ≤ u − 1) ≤ half.
    let high = (1..=n).find(|&u| 1.0 - cdf[u - 1] <= half).map(|u| sorted[u - 1]);
    (low, high)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::normal;

    /// `n` values spread as a normal distribution's quantiles (no randomness).
    fn normal_sample(n: usize, mean: f64, sd: f64) -> Vec<f64> {
        (0..n).map(|i| mean + sd * normal::quantile((i as f64 + 0.5) / n as f64)).collect()
    }

    #[test]
    fn quantiles_are_numpy_s() {
        assert!((quantile_of(&[1.0, 2.0, 3.0, 4.0], 0.95) - 3.8499999999999996).abs() < 1e-12);
        assert!((quantile_of(&[10.0, 20.0, 30.0, 40.0, 50.0], 0.99) - 49.6).abs() < 1e-12);
        assert_eq!(quantile_of(&[5.0], 0.99), 5.0);
        assert_eq!(quantile_of(&[1.0, 2.0, 3.0], 0.5), 2.0);
    }

    #[test]
    fn a_slower_tail_with_an_unmoved_median_is_a_regression() {
        let baseline = normal_sample(2000, 212.0, 20.0);
        // The slowest 5% take 40% longer; everything else is as before.
        let mut canary = baseline.clone();
        let cut = canary.len() * 95 / 100;
        for value in &mut canary[cut..] {
            *value *= 1.4;
        }
        assert_eq!(quantile_of(&baseline, 0.5), quantile_of(&canary, 0.5), "the median did not move");
        let tail = compare_tail(&baseline, &canary, 0.99, 0.10, 0.95).expect("compared");
        assert!(tail.regressed, "{tail:?}");
        assert!(tail.change().is_some_and(|c| (0.35..0.45).contains(&c)), "{tail:?}");
        let low = tail.lower.expect("bounded");
        assert!(low > 0.10 * tail.baseline, "{tail:?}");
    }

    #[test]
    fn the_same_distribution_is_not_a_regression_and_its_interval_holds_zero() {
        let baseline = normal_sample(1500, 100.0, 15.0);
        let canary = normal_sample(1400, 100.0, 15.0);
        let tail = compare_tail(&baseline, &canary, 0.95, 0.10, 0.95).expect("compared");
        assert!(!tail.regressed, "{tail:?}");
        assert!(tail.lower.is_some_and(|l| l <= 0.0) && tail.upper.is_some_and(|u| u >= 0.0), "{tail:?}");
    }

    #[test]
    fn a_rise_within_the_tolerance_is_not_a_regression() {
        let baseline = normal_sample(3000, 200.0, 10.0);
        let canary: Vec<f64> = baseline.iter().map(|v| v * 1.04).collect();
        let tail = compare_tail(&baseline, &canary, 0.99, 0.10, 0.95).expect("compared");
        assert!(!tail.regressed, "4% is inside a 10% tolerance: {tail:?}");
    }

    #[test]
    fn too_few_values_cannot_bound_a_p99_and_so_never_call_a_regression() {
        let baseline = normal_sample(20, 200.0, 10.0);
        let canary: Vec<f64> = baseline.iter().map(|v| v * 2.0).collect();
        let tail = compare_tail(&baseline, &canary, 0.99, 0.10, 0.95).expect("compared");
        assert_eq!((tail.lower, tail.upper), (None, None), "{tail:?}");
        assert!(!tail.regressed);
    }

    #[test]
    fn the_interval_of_one_side_covers_the_true_quantile_as_often_as_promised() {
        // Uniform(0, 1) samples from a fixed generator: the true p95 is 0.95.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1_u64 << 53) as f64
        };
        let trials = 400;
        let mut covered = 0;
        for _ in 0..trials {
            let sample = sorted(&(0..300).map(|_| next()).collect::<Vec<_>>()).expect("values");
            if let (Some(low), Some(high)) = order_statistic_interval(&sample, 0.95, 0.95) {
                covered += usize::from(low <= 0.95 && 0.95 <= high);
            }
        }
        assert!(covered as f64 / trials as f64 >= 0.93, "{covered} of {trials}");
    }

    #[test]
    fn bad_input_is_not_compared() {
        assert!(compare_tail(&[], &[1.0], 0.99, 0.1, 0.95).is_none());
        assert!(compare_tail(&[1.0], &[f64::NAN], 0.99, 0.1, 0.95).is_none());
        assert!(compare_tail(&[1.0], &[1.0], 1.0, 0.1, 0.95).is_none());
    }
}
