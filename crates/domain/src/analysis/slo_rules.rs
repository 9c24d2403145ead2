//! The burn-rate alerts, written once: the SRE workbook's multi-window,
//! multi-burn-rate rules (page at 14.4× over 1 h and 5 min and at 6× over
//! 6 h and 30 min, ticket at 1× over 3 days and 6 h), which Railyard's burn
//! gate checks and `railyard slo rules` writes as a Prometheus rule file:
//! recording rules for each service's error ratio over every window used,
//! then the alerts on them, labelled with domain and service.

use yaml_rust2::Yaml;

use super::budget::{BurnRule, FAST_BURN, SLOW_BURN, TICKET_BURN};
use crate::manifest::ServiceSlo;
use crate::yaml;

/// Who hears of an alert: a page wakes someone, a ticket waits for working hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Page,
    Ticket,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Page => "page",
            Self::Ticket => "ticket",
        }
    }
}

/// One burn-rate alert.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BurnAlert {
    /// `fast`, `slow` or `ticket`: the `burn` label.
    pub name: &'static str,
    pub rule: BurnRule,
    pub severity: Severity,
}

/// Every burn-rate alert, fastest first.
pub const BURN_ALERTS: [BurnAlert; 3] = [
    BurnAlert { name: "fast", rule: FAST_BURN, severity: Severity::Page },
    BurnAlert { name: "slow", rule: SLOW_BURN, severity: Severity::Page },
    BurnAlert { name: "ticket", rule: TICKET_BURN, severity: Severity::Ticket },
];

/// The alert's name in Prometheus and Alertmanager.
pub const ALERT_NAME: &str = "RailyardErrorBudgetBurn";

/// A service's SLO as the rule file needs it.
#[derive(Debug, Clone, Copy)]
pub struct SloSource<'a> {
    pub domain: &'a str,
    pub service: &'a str,
    pub slo: &'a ServiceSlo,
    /// The service's runbook, linked from its alerts (may be empty).
    pub runbook: &'a str,
}

/// A span as a PromQL duration: `5m`, `1h`, `3d`, or seconds.
pub fn promql_duration(ms: i64) -> String {
    const MINUTE: i64 = 60_000;
    let (hour, day) = (60 * MINUTE, 24 * 60 * MINUTE);
    match ms {
        ms if ms > 0 && ms % day == 0 => format!("{}d", ms / day),
        ms if ms > 0 && ms % hour == 0 => format!("{}h", ms / hour),
        ms if ms > 0 && ms % MINUTE == 0 => format!("{}m", ms / MINUTE),
        ms => format!("{}s", (ms / 1000).max(1)),
    }
}

/// `query` with `{service}` and `{window}` filled in (the window as a PromQL duration).
pub fn fill(query: &str, service: &str, window_ms: i64) -> String {
    query.replace("{service}", service).replace("{window}", &promql_duration(window_ms))
}

/// The recording rule holding a service's error ratio over `window_ms`.
pub fn ratio_record(window_ms: i64) -> String {
    format!("railyard:slo_error_ratio:rate{}", promql_duration(window_ms))
}

/// Every window the alerts use, shortest first.
fn windows() -> Vec<i64> {
    let mut windows: Vec<i64> = BURN_ALERTS.iter().flat_map(|a| [a.rule.long_ms, a.rule.short_ms]).collect();
    windows.sort_unstable();
    windows.dedup();
    windows
}

/// The rule file for `sources`, and the services left out (their SLO names no Prometheus queries).
pub fn rule_file(sources: &[SloSource<'_>]) -> (String, Vec<String>) {
    let mut rules = Vec::new();
    let mut skipped = Vec::new();
    for source in sources {
        let (good, total) = (&source.slo.good_query, &source.slo.total_query);
        if good.is_empty() || total.is_empty() {
            skipped.push(source.service.to_owned());
            continue;
        }
        let labels = || yaml::mapping([("domain", yaml::text(source.domain)), ("service", yaml::text(source.service))]);
        for window in windows() {
            let expr =
                format!("1 - (({}) / ({}))", fill(good, source.service, window), fill(total, source.service, window));
            rules.push(yaml::mapping([
                ("record", yaml::text(&ratio_record(window))),
                ("expr", yaml::text(&expr)),
                ("labels", labels()),
            ]));
        }
        let selector = format!("{{domain=\"{}\",service=\"{}\"}}", source.domain, source.service);
        let target = source.slo.slo.target;
        for alert in BURN_ALERTS {
            let threshold = format!("{} * (1 - {target})", alert.rule.factor);
            let expr = format!(
                "{long}{selector} > {threshold} and {short}{selector} > {threshold}",
                long = ratio_record(alert.rule.long_ms),
                short = ratio_record(alert.rule.short_ms),
            );
            let summary = format!(
                "{} burns its error budget {}x too fast over {} and {}",
                source.service,
                alert.rule.factor,
                promql_duration(alert.rule.long_ms),
                promql_duration(alert.rule.short_ms)
            );
            let mut annotations = vec![("summary", yaml::text(&summary))];
            if !source.runbook.is_empty() {
                annotations.push(("runbook_url", yaml::text(source.runbook)));
            }
            let Yaml::Hash(mut labels) = labels() else { unreachable!("a mapping") };
            labels.insert(yaml::key("severity"), yaml::text(alert.severity.as_str()));
            labels.insert(yaml::key("burn"), yaml::text(alert.name));
            rules.push(yaml::mapping([
                ("alert", yaml::text(ALERT_NAME)),
                ("expr", yaml::text(&expr)),
                ("labels", Yaml::Hash(labels)),
                ("annotations", Yaml::Hash(annotations.into_iter().map(|(k, v)| (yaml::key(k), v)).collect())),
            ]));
        }
    }
    let group = yaml::mapping([("name", yaml::text("railyard-slo")), ("rules", Yaml::Array(rules))]);
    let file = yaml::mapping([("groups", Yaml::Array(vec![group]))]);
    let header = "# Written by `railyard slo rules` from the fleet's SLOs. Regenerate it after changing them.\n";
    (format!("{header}{}", yaml::dump(&file)), skipped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::budget::Slo;

    fn slo(good: &str) -> ServiceSlo {
        ServiceSlo {
            slo: Slo::new(0.999, 28 * 86_400_000).expect("valid"),
            good_query: good.into(),
            total_query: r#"sum(increase(requests_total{service="{service}"}[{window}]))"#.into(),
            latency_query: String::new(),
        }
    }

    #[test]
    fn durations_read_as_people_write_them() {
        let minute = 60_000;
        assert_eq!(promql_duration(5 * minute), "5m");
        assert_eq!(promql_duration(60 * minute), "1h");
        assert_eq!(promql_duration(3 * 24 * 60 * minute), "3d");
        assert_eq!(promql_duration(90_500), "90s");
        assert_eq!(windows().iter().map(|w| promql_duration(*w)).collect::<Vec<_>>(), ["5m", "30m", "1h", "6h", "3d"]);
    }

    #[test]
    fn each_service_gets_its_ratios_and_the_three_burn_alerts() {
        let ledger = slo(r#"sum(increase(requests_total{service="{service}",code!~"5.."}[{window}]))"#);
        let simulated = ServiceSlo { good_query: String::new(), ..slo("") };
        let sources = [
            SloSource { domain: "payments", service: "ledger", slo: &ledger, runbook: "https://wiki.example/ledger" },
            SloSource { domain: "payments", service: "billing", slo: &simulated, runbook: "" },
        ];
        let (text, skipped) = rule_file(&sources);
        assert_eq!(skipped, ["billing"]);
        let file = yaml::load_mapping("rules.yaml", &text).expect("valid YAML");
        let rules = file[&yaml::key("groups")][0]["rules"].as_vec().expect("rules").clone();
        assert_eq!(rules.len(), 5 + 3, "five ratios and three alerts");
        assert_eq!(rules[0]["record"].as_str(), Some("railyard:slo_error_ratio:rate5m"));
        assert_eq!(
            rules[0]["expr"].as_str(),
            Some(
                r#"1 - ((sum(increase(requests_total{service="ledger",code!~"5.."}[5m]))) / (sum(increase(requests_total{service="ledger"}[5m]))))"#
            )
        );
        let alerts: Vec<(&str, &str, &str)> = rules[5..]
            .iter()
            .map(|r| {
                (
                    r["labels"]["severity"].as_str().unwrap_or(""),
                    r["labels"]["burn"].as_str().unwrap_or(""),
                    r["expr"].as_str().unwrap_or(""),
                )
            })
            .collect();
        assert_eq!(alerts[0].0, "page");
        assert_eq!(
            alerts[0].2,
            r#"railyard:slo_error_ratio:rate1h{domain="payments",service="ledger"} > 14.4 * (1 - 0.999) and railyard:slo_error_ratio:rate5m{domain="payments",service="ledger"} > 14.4 * (1 - 0.999)"#
        );
        assert_eq!((alerts[1].0, alerts[1].1), ("page", "slow"));
        assert_eq!((alerts[2].0, alerts[2].1), ("ticket", "ticket"));
        assert!(
            alerts[2].2.contains("rate3d{")
                && alerts[2].2.contains("rate6h{")
                && alerts[2].2.contains("> 1 * (1 - 0.999)")
        );
        assert_eq!(rules[5]["annotations"]["runbook_url"].as_str(), Some("https://wiki.example/ledger"));
    }
}
