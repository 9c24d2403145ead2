//! The two-sample Kolmogorov-Smirnov test: the largest gap between the two
//! samples' empirical distribution functions, which catches a canary whose
//! spread or tail changed while its median did not (the U test's blind
//! spot). Two-sided p-values are exact, counted over lattice paths as
//! Hodges (1958) describes, the unequal-size case by Viehmann's (2021)
//! recursion for the outer probability; they equal scipy's `ks_2samp`
//! (method "exact", which its default picks up to 10,000 values a side).

/// A test's outcome.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KolmogorovSmirnov {
    /// The largest distance between the two empirical distribution functions, in [0, 1].
    pub statistic: f64,
    /// Two-sided: the chance of a distance at least this large if both samples came from one distribution.
    pub p_value: f64,
}

/// The exact two-sample test of `x` against `y`; `None` when a sample is
/// empty or holds a NaN.
pub fn ks_two_sample_exact(x: &[f64], y: &[f64]) -> Option<KolmogorovSmirnov> {
    if x.is_empty() || y.is_empty() || x.iter().chain(y).any(|v| v.is_nan()) {
        return None;
    }
    let (n1, n2) = (x.len() as i64, y.len() as i64);
    let g = gcd(n1, n2);
    let lcm = (n1 / g) * n2;
    // The distance in units of 1/lcm, exactly: no rounding decides which gap is largest.
    let h = largest_gap(x, y) / g;
    let statistic = h as f64 / lcm as f64;
    let p_value = if h == 0 {
        1.0
    } else if n1 == n2 {
        outside_square(n1, h)
    } else {
        outside_band(n1, n2, g, h)
    };
    Some(KolmogorovSmirnov { statistic, p_value: p_value.clamp(0.0, 1.0) })
}

/// max |i·n2 − j·n1| over the points where `i` values of `x` and `j` of `y` are at most the point.
fn largest_gap(x: &[f64], y: &[f64]) -> i64 {
    let mut x = x.to_vec();
    let mut y = y.to_vec();
    x.sort_by(f64::total_cmp);
    y.sort_by(f64::total_cmp);
    let (n1, n2) = (x.len() as i64, y.len() as i64);
    let (mut i, mut j, mut widest) = (0_usize, 0_usize, 0_i64);
    while i < x.len() || j < y.len() {
        let at = match (x.get(i), y.get(j)) {
            (Some(a), Some(b)) => a.min(*b),
            (Some(a), None) => *a,
            (None, Some(b)) => *b,
            (None, None) => break,
        };
        while x.get(i).is_some_and(|v| *v <= at) {
            i += 1;
        }
        while y.get(j).is_some_and(|v| *v <= at) {
            j += 1;
        }
        widest = widest.max((i as i64 * n2 - j as i64 * n1).abs());
    }
    widest
}

/// P(D ≥ h/n) for two samples of `n`: twice the alternating sum of
/// binomial ratios, evaluated Horner-style from the innermost term so no
/// two large numbers are subtracted.
fn outside_square(n: i64, h: i64) -> f64 {
    let mut p = 0.0;
    let mut k = n / h;
    while k >= 0 {
        let mut term = 1.0;
        for j in 0..h {
            term = ((n - k * h - j) as f64 * term) / (n + k * h + j + 1) as f64;
        }
        p = term * (1.0 - p);
        k -= 1;
    }
    2.0 * p
}

/// P(D ≥ h/lcm) for samples of `m` and `n` (gcd `g`): the share of lattice
/// paths from (0, 0) to (m, n) that leave the band |x/m − y/n| < h/lcm,
/// computed column by column over the band's sliding window as a share
/// (not a count), so nothing overflows.
fn outside_band(m: i64, n: i64, g: i64, h: i64) -> f64 {
    let (m, n) = if m < n { (n, m) } else { (m, n) };
    let (mg, ng) = (m / g, n / g);
    let ceil_div = |a: i64, b: i64| -(-a).div_euclid(b);
    let mut min_j = 0_i64;
    let mut max_j = ceil_div(h, mg).min(n + 1);
    let mut len = max_j - min_j;
    let size = usize::try_from((2 * max_j + 2).min(n + 1)).unwrap_or(0);
    let mut column = vec![1.0_f64; size];
    for slot in column.iter_mut().take(usize::try_from(max_j).unwrap_or(0)) {
        *slot = 0.0;
    }
    for i in 1..=m {
        let (last_min_j, last_len) = (min_j, len);
        min_j = ((ng * i - h).div_euclid(mg) + 1).max(0).min(n);
        max_j = ceil_div(ng * i + h, mg).min(n + 1);
        if max_j <= min_j {
            return 1.0;
        }
        let mut value = if min_j == 0 { 0.0 } else { 1.0 };
        for jj in 0..(max_j - min_j) {
            let j = jj + min_j;
            let carried = index(jj + min_j - last_min_j).and_then(|k| column.get(k)).copied().unwrap_or(1.0);
            value = (carried * i as f64 + value * j as f64) / (i + j) as f64;
            if let Some(slot) = index(jj).and_then(|k| column.get_mut(k)) {
                *slot = value;
            }
        }
        len = max_j - min_j;
        if last_len > len {
            for k in len..last_len {
                if let Some(slot) = index(k).and_then(|k| column.get_mut(k)) {
                    *slot = 1.0;
                }
            }
        }
    }
    index(max_j - min_j - 1).and_then(|k| column.get(k)).copied().unwrap_or(1.0)
}

fn index(k: i64) -> Option<usize> {
    usize::try_from(k).ok()
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Fixture {
        name: String,
        x: Vec<f64>,
        y: Vec<f64>,
        method: String,
        d: f64,
        p: f64,
    }

    #[test]
    fn statistic_and_p_equal_scipy_on_every_exact_fixture() {
        #[derive(serde::Deserialize)]
        struct Fixtures {
            cases: Vec<Fixture>,
        }
        // Made by tests/fixtures/make_ks.py with scipy's ks_2samp (default method).
        let fixtures: Fixtures =
            serde_json::from_str(include_str!("../../tests/fixtures/ks.json")).expect("fixture file");
        let exact: Vec<Fixture> = fixtures.cases.into_iter().filter(|c| c.method == "exact").collect();
        assert!(exact.len() >= 12);
        for case in exact {
            let result = ks_two_sample_exact(&case.x, &case.y).expect("valid samples");
            // serde_json reads decimals to within an ulp or so, not always to the nearest double.
            assert!(
                (result.statistic - case.d).abs() <= 1e-12 * case.d.max(1e-300),
                "{}: D {} vs scipy {}",
                case.name,
                result.statistic,
                case.d
            );
            let relative = if case.p == 0.0 { result.p_value } else { (result.p_value - case.p).abs() / case.p };
            assert!(
                relative <= 1e-9,
                "{}: p {} vs scipy {} ({relative:e} relative)",
                case.name,
                result.p_value,
                case.p
            );
        }
    }

    #[test]
    fn the_order_of_the_samples_does_not_matter() {
        let x = [1.0, 4.0, 4.5, 7.0, 9.0, 9.5];
        let y = [2.0, 3.0, 8.0, 10.0];
        assert_eq!(ks_two_sample_exact(&x, &y), ks_two_sample_exact(&y, &x));
    }

    #[test]
    fn empty_or_nan_samples_are_not_tested() {
        assert!(ks_two_sample_exact(&[], &[1.0]).is_none());
        assert!(ks_two_sample_exact(&[1.0], &[f64::NAN]).is_none());
    }
}
