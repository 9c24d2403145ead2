//! Security scan results in SARIF 2.1, reduced to counts per severity, and
//! the policy that decides whether a scan blocks: critical or high findings do.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Findings per severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeverityCounts {
    pub critical: u64,
    pub high: u64,
    pub medium: u64,
    pub low: u64,
}

/// What a SARIF log says, as the gate needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SarifSummary {
    pub tools: Vec<String>,
    pub counts: SeverityCounts,
}

impl SarifSummary {
    /// Whether the scan blocks the artifact: any critical or high finding.
    pub fn blocks(&self) -> bool {
        self.counts.critical > 0 || self.counts.high > 0
    }

    /// "2 critical, 1 high, 0 medium, 4 low (trivy)".
    pub fn describe(&self) -> String {
        let c = self.counts;
        format!(
            "{} critical, {} high, {} medium, {} low ({})",
            c.critical,
            c.high,
            c.medium,
            c.low,
            self.tools.join(", ")
        )
    }
}

/// Reads a SARIF 2.1.0 log. A result's severity is its `security-severity`
/// property (CVSS: ≥ 9 critical, ≥ 7 high, ≥ 4 medium, else low), looked up on
/// the result and then on its rule; failing that, its `level` (`error` is high,
/// `warning` medium, `note` low). Results with level `none` are not findings.
pub fn summarise(log: &Value) -> Result<SarifSummary, String> {
    let version = log.get("version").and_then(Value::as_str).unwrap_or_default();
    if version != "2.1.0" {
        return Err(format!("expected a SARIF 2.1.0 log, got version \"{version}\""));
    }
    let runs = log.get("runs").and_then(Value::as_array).ok_or("a SARIF log needs a `runs` array")?;
    let mut summary = SarifSummary { tools: Vec::new(), counts: SeverityCounts::default() };
    for (index, run) in runs.iter().enumerate() {
        let driver = run.pointer("/tool/driver").ok_or(format!("runs[{index}] has no tool.driver"))?;
        summary.tools.push(driver.get("name").and_then(Value::as_str).unwrap_or("unnamed tool").to_owned());
        let rules = driver.get("rules").and_then(Value::as_array).cloned().unwrap_or_default();
        for result in run.get("results").and_then(Value::as_array).into_iter().flatten() {
            let rule = result
                .get("ruleIndex")
                .and_then(Value::as_u64)
                .and_then(|i| rules.get(usize::try_from(i).ok()?))
                .or_else(|| {
                    let id = result.get("ruleId")?.as_str()?;
                    rules.iter().find(|r| r.get("id").and_then(Value::as_str) == Some(id))
                });
            let score = security_severity(result).or_else(|| rule.and_then(security_severity));
            let level = result
                .get("level")
                .and_then(Value::as_str)
                .or_else(|| rule?.pointer("/defaultConfiguration/level")?.as_str())
                .unwrap_or("warning");
            let counts = &mut summary.counts;
            match (score, level) {
                (Some(s), _) if s >= 9.0 => counts.critical += 1,
                (Some(s), _) if s >= 7.0 => counts.high += 1,
                (Some(s), _) if s >= 4.0 => counts.medium += 1,
                (Some(s), _) if s > 0.0 => counts.low += 1,
                (Some(_), _) | (None, "none") => {}
                (None, "error") => counts.high += 1,
                (None, "note") => counts.low += 1,
                (None, _) => counts.medium += 1,
            }
        }
    }
    Ok(summary)
}

fn security_severity(node: &Value) -> Option<f64> {
    let value = node.pointer("/properties/security-severity")?;
    value.as_f64().or_else(|| value.as_str()?.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn log(results: Value, rules: Value) -> Value {
        json!({ "version": "2.1.0", "runs": [{ "tool": { "driver": { "name": "trivy", "rules": rules } }, "results": results }] })
    }

    #[test]
    fn severities_come_from_scores_then_levels() {
        let rules = json!([{ "id": "CVE-1", "properties": { "security-severity": "9.8" } }]);
        let results = json!([
            { "ruleId": "CVE-1", "level": "error" },
            { "ruleId": "X", "level": "error", "properties": { "security-severity": 5.0 } },
            { "ruleId": "Y", "level": "note" },
            { "ruleId": "Z", "level": "none" }
        ]);
        let summary = summarise(&log(results, rules)).expect("valid SARIF");
        assert_eq!(summary.counts, SeverityCounts { critical: 1, high: 0, medium: 1, low: 1 });
        assert!(summary.blocks());
        assert_eq!(summary.describe(), "1 critical, 0 high, 1 medium, 1 low (trivy)");
    }

    #[test]
    fn a_clean_scan_does_not_block() {
        let summary = summarise(&log(json!([{ "ruleId": "Y", "level": "warning" }]), json!([]))).expect("valid");
        assert!(!summary.blocks());
    }

    #[test]
    fn other_versions_are_refused() {
        assert!(summarise(&json!({ "version": "2.0.0", "runs": [] })).expect_err("refused").contains("2.1.0"));
    }
}
