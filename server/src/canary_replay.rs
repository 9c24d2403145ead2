//! `railyard analyze canary`: judge two samples from files, for release
//! engineers replaying an analysis.

use std::path::Path;

use anyhow::{bail, Context};
use serde_json::json;

use crate::analysis::{judge_metric, MetricPolicy};
use crate::cli::CanaryArgs;

/// Reads one number per line; blank lines and `#` comments are skipped.
pub fn read_samples(path: &Path) -> anyhow::Result<Vec<f64>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut samples = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let value = line.split('#').next().unwrap_or_default().trim();
        if value.is_empty() {
            continue;
        }
        match value.parse::<f64>() {
            Ok(number) if number.is_finite() => samples.push(number),
            _ => bail!("{} line {}: \"{value}\" is not a number", path.display(), index + 1),
        }
    }
    Ok(samples)
}

/// The analysis as JSON: the policy, the evidence and the verdict.
pub fn analyze(args: &CanaryArgs) -> anyhow::Result<serde_json::Value> {
    if !(args.confidence > 0.0 && args.confidence < 1.0) {
        bail!("--confidence must be between 0 and 1, e.g. 0.95");
    }
    if args.allowed_increase < 0.0 || args.allowed_decrease < 0.0 {
        bail!("--allowed-increase and --allowed-decrease must not be negative");
    }
    let baseline = read_samples(&args.baseline)?;
    let canary = read_samples(&args.canary)?;
    let policy = MetricPolicy {
        direction: args.direction.into(),
        allowed_increase: args.allowed_increase,
        allowed_decrease: args.allowed_decrease,
        confidence: args.confidence,
        ..MetricPolicy::default()
    };
    let evidence = judge_metric(&policy, &canary, &baseline);
    Ok(json!({ "policy": policy, "evidence": evidence, "verdict": evidence.verdict }))
}
