//! Alertmanager's API v2, as far as Railyard uses it: posting alerts,
//! creating (or extending) silences and expiring them. Every Alertmanager
//! of a cluster is given the same alerts; silences are gossiped between
//! them, so they go to the first one that answers.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::alerting::silence::{MatchOp, Matcher};
use crate::time::Instant;

/// One alert as `POST /api/v2/alerts` takes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PostableAlert {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub starts_at: String,
    pub ends_at: String,
    #[serde(rename = "generatorURL", skip_serializing_if = "String::is_empty")]
    pub generator_url: String,
}

/// A silence as `POST /api/v2/silences` takes it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct PostableSilence<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    matchers: Vec<SilenceMatcher<'a>>,
    starts_at: String,
    ends_at: String,
    created_by: &'a str,
    comment: &'a str,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct SilenceMatcher<'a> {
    name: &'a str,
    value: &'a str,
    is_regex: bool,
    is_equal: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SilenceCreated {
    #[serde(rename = "silenceID")]
    silence_id: String,
}

/// The Alertmanagers Railyard talks to.
#[derive(Debug, Clone)]
pub struct Alertmanagers {
    urls: Vec<String>,
    http: reqwest::Client,
}

impl Alertmanagers {
    /// Clients for `urls` (base URLs, e.g. `http://alertmanager:9093`) whose requests give up after `timeout`.
    pub fn new(urls: Vec<String>, timeout: Duration) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder().timeout(timeout).build().context("building the HTTP client")?;
        Ok(Self { urls: urls.into_iter().map(|u| u.trim_end_matches('/').to_owned()).collect(), http })
    }

    /// Whether any Alertmanager is configured.
    pub fn configured(&self) -> bool {
        !self.urls.is_empty()
    }

    /// Posts `alerts` to every Alertmanager; fails if none took them.
    pub async fn post_alerts(&self, alerts: &[PostableAlert]) -> anyhow::Result<()> {
        if alerts.is_empty() {
            return Ok(());
        }
        let mut failures = Vec::new();
        for url in &self.urls {
            let sent = async {
                let response = self.http.post(format!("{url}/api/v2/alerts")).json(alerts).send().await?;
                refused(response).await
            };
            if let Err(error) = sent.await {
                failures.push(format!("{url}: {error:#}"));
            }
        }
        if failures.len() == self.urls.len() {
            anyhow::bail!("no Alertmanager took the alerts ({})", failures.join("; "));
        }
        for failure in failures {
            tracing::warn!(%failure, "an Alertmanager refused the alerts; the others have them");
        }
        Ok(())
    }

    /// Creates a silence (or, given `id`, extends it) and answers its id.
    pub async fn silence(
        &self,
        id: Option<&str>,
        matchers: &[Matcher],
        starts_at: Instant,
        ends_at: Instant,
        comment: &str,
    ) -> anyhow::Result<String> {
        let body = PostableSilence {
            id,
            matchers: matchers
                .iter()
                .map(|m| SilenceMatcher {
                    name: &m.name,
                    value: &m.value,
                    is_regex: matches!(m.op, MatchOp::Regex | MatchOp::NotRegex),
                    is_equal: matches!(m.op, MatchOp::Equal | MatchOp::Regex),
                })
                .collect(),
            starts_at: starts_at.rfc3339(),
            ends_at: ends_at.rfc3339(),
            created_by: "railyard",
            comment,
        };
        self.first(|url| {
            let request = self.http.post(format!("{url}/api/v2/silences")).json(&body);
            async move {
                let response = refused(request.send().await?).await?;
                let created: SilenceCreated = response.json().await.context("reading the new silence's id")?;
                Ok(created.silence_id)
            }
        })
        .await
    }

    /// Expires silence `id` (one already expired or gone counts as done).
    pub async fn expire(&self, id: &str) -> anyhow::Result<()> {
        self.first(|url| {
            let request = self.http.delete(format!("{url}/api/v2/silence/{id}"));
            async move {
                let response = request.send().await?;
                if response.status() == reqwest::StatusCode::NOT_FOUND {
                    return Ok(());
                }
                refused(response).await.map(drop)
            }
        })
        .await
    }

    /// The first Alertmanager's answer to `call`, trying the next one on failure.
    async fn first<T, F, Fut>(&self, call: F) -> anyhow::Result<T>
    where
        F: Fn(&str) -> Fut,
        Fut: std::future::Future<Output = anyhow::Result<T>>,
    {
        let mut failures = Vec::new();
        for url in &self.urls {
            match call(url).await {
                Ok(answer) => return Ok(answer),
                Err(error) => failures.push(format!("{url}: {error:#}")),
            }
        }
        anyhow::bail!("no Alertmanager answered ({})", failures.join("; "))
    }
}

/// The response, or an error carrying what Alertmanager said.
async fn refused(response: reqwest::Response) -> anyhow::Result<reqwest::Response> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let body = response.text().await.unwrap_or_default();
    anyhow::bail!("HTTP {status}: {}", body.trim().chars().take(300).collect::<String>())
}
