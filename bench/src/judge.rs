//! P3: the canary judge's statistics (Mann–Whitney U with its p-value, the
//! Hodges–Lehmann shift with its interval) on two samples, timed; the
//! samples are written out so scipy can be timed on the same data and the
//! answers compared.

use std::path::Path;
use std::time::Instant;

use serde_json::{json, Value};
use server::analysis::{mann_whitney_u, shift_estimate};

/// Latency-like samples (ms, one decimal, so with ties): a baseline around
/// 180 ms and a canary 2% slower, from a fixed-seed generator.
fn samples(n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1_u64 << 53) as f64
    };
    let mut draw = |centre: f64| {
        // A sum of uniforms is close enough to normal for a latency series.
        let noise: f64 = (0..6).map(|_| next()).sum::<f64>() - 3.0;
        ((centre + 12.0 * noise) * 10.0).round() / 10.0
    };
    let baseline = (0..n).map(|_| draw(180.0)).collect();
    let canary = (0..n).map(|_| draw(183.6)).collect();
    (canary, baseline)
}

pub fn run(n: usize, data: &Path, repeat: usize) -> anyhow::Result<Value> {
    let (canary, baseline) = samples(n);
    std::fs::write(data, json!({ "canary": canary, "baseline": baseline }).to_string())?;
    let (mut times, mut tests, mut shifts) = (Vec::new(), Vec::new(), Vec::new());
    let mut answer = None;
    for _ in 0..repeat.max(1) {
        let started = Instant::now();
        let test = mann_whitney_u(&canary, &baseline);
        let tested = started.elapsed().as_secs_f64();
        let shift = shift_estimate(&canary, &baseline, 0.95);
        let total = started.elapsed().as_secs_f64();
        times.push(total);
        tests.push(tested);
        shifts.push(total - tested);
        answer = test.zip(shift);
    }
    let median = |mut values: Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    let (test, shift) = answer.ok_or_else(|| anyhow::anyhow!("the judge found no answer"))?;
    Ok(json!({
        "samples": n, "seconds": median(times), "u_seconds": median(tests), "shift_seconds": median(shifts),
        "u": test.u, "p_value": test.p_value,
        "estimate": shift.estimate, "lower": shift.lower, "upper": shift.upper,
    }))
}
