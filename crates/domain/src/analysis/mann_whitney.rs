//! The Mann–Whitney U test (two-sided), computed as scipy's `mannwhitneyu`
//! computes it: average ranks for ties, the exact null distribution for
//! small samples without ties, otherwise the tie-corrected normal
//! approximation with continuity correction.

use super::normal;

/// How the p-value was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// From the exact distribution of U (no ties, a sample of at most 8).
    Exact,
    /// From the tie-corrected normal approximation.
    Asymptotic,
}

/// The test's outcome.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct MannWhitney {
    /// U of the first sample: how many (first, second) pairs the first wins, ties counting half.
    pub u: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    pub method: Method,
}

/// Largest n·m for which the exact distribution is tabulated; beyond it the
/// normal approximation is used even where scipy would go exact.
const EXACT_LIMIT: usize = 1 << 20;

/// Tests whether `x` and `y` come from the same distribution. `None` when a
/// sample is empty or holds a NaN.
pub fn mann_whitney_u(x: &[f64], y: &[f64]) -> Option<MannWhitney> {
    let (n1, n2) = (x.len(), y.len());
    if n1 == 0 || n2 == 0 || x.iter().chain(y).any(|v| v.is_nan()) {
        return None;
    }
    let (rank_sum_x, ties) = rank_sum(x, y);
    let (n1f, n2f) = (n1 as f64, n2 as f64);
    let u1 = rank_sum_x - n1f * (n1f + 1.0) / 2.0;
    let u = u1.max(n1f * n2f - u1);
    let exact = !(n1 > 8 && n2 > 8) && ties.is_empty() && n1 * n2 <= EXACT_LIMIT;
    let (p_value, method) = if exact {
        // Without ties U is a whole number.
        (2.0 * exact_survival(u.round() as usize, n1.min(n2), n1.max(n2)), Method::Exact)
    } else {
        (2.0 * asymptotic_survival(u, n1f, n2f, &ties), Method::Asymptotic)
    };
    Some(MannWhitney { u: u1, p_value: p_value.clamp(0.0, 1.0), method })
}

/// Sum of the ranks of `x` in the pooled sample, and the sizes of tie groups.
fn rank_sum(x: &[f64], y: &[f64]) -> (f64, Vec<usize>) {
    let mut pooled: Vec<(f64, bool)> = x.iter().map(|&v| (v, true)).chain(y.iter().map(|&v| (v, false))).collect();
    pooled.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    let mut sum = 0.0;
    let mut ties = Vec::new();
    let mut start = 0;
    while start < pooled.len() {
        let mut end = start + 1;
        while end < pooled.len() && pooled[end].0 == pooled[start].0 {
            end += 1;
        }
        // Ranks start + 1 ..= end share their average.
        let average = (start + 1 + end) as f64 / 2.0;
        sum += average * pooled[start..end].iter().filter(|(_, from_x)| *from_x).count() as f64;
        if end - start > 1 {
            ties.push(end - start);
        }
        start = end;
    }
    (sum, ties)
}

/// P(U ≥ u) under the null hypothesis, sizes `m ≤ n`.
fn exact_survival(u: usize, m: usize, n: usize) -> f64 {
    let counts = u_counts(m, n);
    let total: i128 = counts.iter().sum();
    let tail: i128 = counts.iter().skip(u).sum();
    tail as f64 / total as f64
}

/// How many arrangements give each U, 0 ..= m·n: the coefficients of the
/// Gaussian binomial [m+n choose m], built as Π (1 − q^(n+i)) / (1 − q^i).
/// After each factor the polynomial is [n+i choose i], so every intermediate
/// stays within C(m+n, m) and fits an i128 for m ≤ 8.
fn u_counts(m: usize, n: usize) -> Vec<i128> {
    let degree = m * n;
    let mut coefficients = vec![0_i128; degree + 1];
    coefficients[0] = 1;
    for i in 1..=m {
        for k in (n + i..=degree).rev() {
            coefficients[k] -= coefficients[k - n - i];
        }
        for k in i..=degree {
            coefficients[k] += coefficients[k - i];
        }
    }
    coefficients
}

/// P(U ≥ u) from the normal approximation with tie and continuity corrections.
fn asymptotic_survival(u: f64, n1: f64, n2: f64, ties: &[usize]) -> f64 {
    let n = n1 + n2;
    let tie_term: f64 = ties.iter().map(|&t| (t as f64).powi(3) - t as f64).sum();
    let sigma = (n1 * n2 / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)))).sqrt();
    let numerator = u - n1 * n2 / 2.0 - 0.5;
    if sigma == 0.0 || sigma.is_nan() {
        // Every value equal: no evidence of a difference.
        return if numerator > 0.0 { 0.0 } else { 1.0 };
    }
    normal::survival(numerator / sigma)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exact_distribution_counts_every_arrangement() {
        // Sizes 2 and 3: C(5, 2) = 10 arrangements, U from 0 to 6.
        assert_eq!(u_counts(2, 3), vec![1, 1, 2, 2, 2, 1, 1]);
        assert_eq!(u_counts(8, 8).iter().sum::<i128>(), 12_870);
    }

    #[derive(serde::Deserialize)]
    struct Fixture {
        name: String,
        x: Vec<f64>,
        y: Vec<f64>,
        method: String,
        u: f64,
        p: f64,
    }

    #[test]
    fn u_and_p_equal_scipy_on_every_fixture() {
        #[derive(serde::Deserialize)]
        struct Fixtures {
            cases: Vec<Fixture>,
        }
        // Made by tests/fixtures/make_mann_whitney.py with scipy's mannwhitneyu.
        let fixtures: Fixtures =
            serde_json::from_str(include_str!("../../tests/fixtures/mann_whitney.json")).expect("fixture file");
        assert!(fixtures.cases.len() >= 10);
        for case in fixtures.cases {
            let result = mann_whitney_u(&case.x, &case.y).expect("valid samples");
            let method = match result.method {
                Method::Exact => "exact",
                Method::Asymptotic => "asymptotic",
            };
            assert_eq!(method, case.method, "{}: method", case.name);
            assert!((result.u - case.u).abs() <= 1e-9, "{}: U {} vs scipy {}", case.name, result.u, case.u);
            assert!((result.p_value - case.p).abs() <= 1e-9, "{}: p {} vs scipy {}", case.name, result.p_value, case.p);
            if case.p > 0.0 {
                let relative = (result.p_value - case.p).abs() / case.p;
                assert!(relative <= 1e-6, "{}: p {} vs scipy {} (relative)", case.name, result.p_value, case.p);
            }
        }
    }

    #[test]
    fn identical_samples_show_no_difference() {
        let sample = [5.0; 20];
        let result = mann_whitney_u(&sample, &sample).expect("valid samples");
        assert_eq!(result.u, 200.0);
        assert_eq!(result.p_value, 1.0);
    }

    #[test]
    fn empty_or_nan_samples_are_not_tested() {
        assert!(mann_whitney_u(&[], &[1.0]).is_none());
        assert!(mann_whitney_u(&[f64::NAN], &[1.0]).is_none());
    }
}
