//! The Prometheus metrics provider: reads canary and baseline series over the
//! HTTP API (`/api/v1/query_range`) and judges them. Prometheus down, slow
//! (past the timeout) or answering garbage makes the analysis inconclusive,
//! never passed.

use std::time::Duration;

use anyhow::{bail, Context};
use serde::Deserialize;

use super::{CanaryQuery, MetricsProvider};
use crate::analysis::budget::Counts;
use crate::analysis::report::{thinned, AnalysisReport, JudgedMetric};
use crate::analysis::{judge_metric, CanaryMetric};
use crate::engine::Verdict;
use crate::integrations::canary::Judgement;
use crate::runtime::BoxFuture;
use crate::time::Instant;

/// Reads series from Prometheus.
#[derive(Debug, Clone)]
pub struct PrometheusProvider {
    client: reqwest::Client,
}

#[derive(Deserialize)]
struct Answer {
    status: String,
    #[serde(default)]
    error: Option<String>,
    data: Option<Data>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Data {
    result_type: String,
    result: Vec<Series>,
}

#[derive(Deserialize)]
struct Series {
    #[serde(default)]
    values: Vec<(f64, String)>,
    /// An instant vector's one sample.
    #[serde(default)]
    value: Option<(f64, String)>,
}

impl PrometheusProvider {
    /// A provider whose queries give up after `timeout`.
    pub fn new(timeout: Duration) -> anyhow::Result<Self> {
        Ok(Self { client: reqwest::Client::builder().timeout(timeout).build()? })
    }

    /// The sum over every series of the instant `query` at `at_ms`; `None` when it returns no series.
    pub async fn instant(&self, base_url: &str, query: &str, at: Instant) -> anyhow::Result<Option<f64>> {
        let url = format!("{}/api/v1/query", base_url.trim_end_matches('/'));
        let time = seconds(at);
        let request = self.client.get(&url).query(&[("query", query), ("time", &time)]);
        let data = self.ask(base_url, request).await?;
        if data.result_type != "vector" {
            bail!("expected an instant vector from Prometheus, got a {}", data.result_type);
        }
        let values: Vec<f64> = data
            .result
            .into_iter()
            .filter_map(|series| series.value)
            .map(|(_, value)| value.parse::<f64>())
            .collect::<Result<_, _>>()
            .context("Prometheus answered a sample that is not a number")?;
        if values.iter().any(|v| !v.is_finite()) {
            bail!("Prometheus answered NaN or an infinity for {query}");
        }
        Ok((!values.is_empty()).then(|| values.iter().sum()))
    }

    async fn ask(&self, base_url: &str, request: reqwest::RequestBuilder) -> anyhow::Result<Data> {
        let response = request.send().await.with_context(|| format!("Prometheus at {base_url} did not answer"))?;
        let status = response.status();
        let text = response.text().await.context("reading Prometheus's answer")?;
        let answer: Answer = serde_json::from_str(&text)
            .with_context(|| format!("Prometheus answered {status} with something that is not its JSON API"))?;
        if answer.status != "success" {
            bail!("Prometheus refused the query: {}", answer.error.unwrap_or_default());
        }
        answer.data.context("Prometheus's answer has no data")
    }

    /// Good and all events of `service` over `[from, to]`: the SLI's `[good, total]` queries,
    /// with `{service}` and `{window}` filled in, asked at `to`.
    pub async fn sli_counts(
        &self,
        base_url: &str,
        [good, total]: [&str; 2],
        service: &str,
        from: Instant,
        to: Instant,
    ) -> anyhow::Result<Counts> {
        let span = to - from;
        let good = self.instant(base_url, &for_span(good, service, span), to).await?.unwrap_or(0.0);
        let total = self.instant(base_url, &for_span(total, service, span), to).await?.unwrap_or(0.0);
        if good < 0.0 || total < 0.0 || good > total * (1.0 + 1e-9) {
            bail!("the SLI of {service} makes no sense: {good} good of {total} events");
        }
        Ok(Counts { good: good.round() as u64, total: total.round() as u64 })
    }

    /// Every sample of `query` between `start` and `end`, `step_s` apart,
    /// across all series it returns.
    pub async fn range(
        &self,
        base_url: &str,
        query: &str,
        start: Instant,
        end: Instant,
        step_s: u32,
    ) -> anyhow::Result<Vec<f64>> {
        let url = format!("{}/api/v1/query_range", base_url.trim_end_matches('/'));
        let request = self.client.get(&url).query(&[
            ("query", query),
            ("start", &seconds(start)),
            ("end", &seconds(end)),
            ("step", &step_s.to_string()),
        ]);
        let data = self.ask(base_url, request).await?;
        if data.result_type != "matrix" {
            bail!("expected a range vector from Prometheus, got a {}", data.result_type);
        }
        Ok(data
            .result
            .into_iter()
            .flat_map(|series| series.values)
            .filter_map(|(_, value)| value.parse::<f64>().ok())
            .filter(|value| value.is_finite())
            .collect())
    }
}

/// An instant as Prometheus's API takes it: seconds since the epoch, to the millisecond.
fn seconds(at: Instant) -> String {
    format!("{:.3}", at.ms() as f64 / 1000.0)
}

/// `query` for `service` over a span of `span_ms` (a PromQL duration of at least a second).
pub fn for_span(query: &str, service: &str, span_ms: i64) -> String {
    crate::analysis::slo_rules::fill(query, service, span_ms)
}

/// Judges `metrics` for `services` over `[start, end]` from Prometheus.
/// Any failure to read a series makes the whole analysis `NoData`.
pub async fn canary_verdict(
    provider: &PrometheusProvider,
    base_url: &str,
    metrics: &[CanaryMetric],
    (services, environment, region): (&[String], &str, Option<&str>),
    start: Instant,
    end: Instant,
) -> Judgement {
    let step_s = u32::try_from(((end - start) / 1000 / 120).clamp(1, 60)).unwrap_or(1);
    let mut judged = Vec::new();
    for metric in metrics {
        for service in services {
            let canary_query = metric.query_for("canary", service, environment, region);
            let baseline_query = metric.query_for("baseline", service, environment, region);
            let canary = provider.range(base_url, &canary_query, start, end, step_s).await;
            let baseline = provider.range(base_url, &baseline_query, start, end, step_s).await;
            let (canary, baseline) = match (canary, baseline) {
                (Ok(canary), Ok(baseline)) => (canary, baseline),
                (Err(error), _) | (_, Err(error)) => {
                    let detail = format!("inconclusive: {} for {service}: {error:#}", metric.name);
                    let report = AnalysisReport { failure: Some(detail.clone()), metrics: judged, scorecard: None };
                    return Judgement { verdict: Verdict::NoData, detail, report };
                }
            };
            let evidence = judge_metric(&metric.policy, &canary, &baseline);
            judged.push(JudgedMetric {
                metric: metric.name.clone(),
                service: service.clone(),
                group: metric.group.clone(),
                critical: metric.critical,
                dry_run: metric.dry_run,
                canary_query,
                baseline_query,
                window_start: start,
                window_end: end,
                evidence,
                canary: thinned(&canary),
                baseline: thinned(&baseline),
            });
        }
    }
    Judgement::scored(judged)
}

/// The Prometheus provider bound to one definition's server and metrics.
pub struct PrometheusCanary<'a> {
    pub provider: &'a PrometheusProvider,
    pub url: &'a str,
    pub metrics: &'a [CanaryMetric],
}

impl MetricsProvider for PrometheusCanary<'_> {
    fn judge<'a>(&'a self, query: &'a CanaryQuery<'a>) -> BoxFuture<'a, Judgement> {
        let environment = query.environment.as_str();
        let (from, to) = query.window;
        Box::pin(canary_verdict(
            self.provider,
            self.url,
            self.metrics,
            (query.services, environment, query.region),
            from,
            to,
        ))
    }
}
