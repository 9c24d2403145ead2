//! Argo CD's API: `GET /api/v1/applications/{name}` with a bearer token.

use std::time::Duration;

use anyhow::{bail, Context};

use crate::gitops::controller::argocd::Application;

/// Reads Applications.
#[derive(Debug, Clone)]
pub struct ArgoCdClient {
    http: reqwest::Client,
}

impl ArgoCdClient {
    /// A client whose requests give up after `timeout`.
    pub fn new(timeout: Duration) -> anyhow::Result<Self> {
        Ok(Self { http: reqwest::Client::builder().timeout(timeout).build().context("building the HTTP client")? })
    }

    /// The Application `name` on the server at `url`, read with the token in `token_env`.
    pub async fn application(
        &self,
        url: &str,
        token_env: &str,
        name: &str,
        app_namespace: Option<&str>,
    ) -> anyhow::Result<Application> {
        let token = std::env::var(token_env).map_err(|_| anyhow::anyhow!("{token_env} is not set"))?;
        let mut request = self.http.get(format!("{url}/api/v1/applications/{name}")).bearer_auth(token);
        if let Some(namespace) = app_namespace {
            request = request.query(&[("appNamespace", namespace)]);
        }
        let response = request.send().await.map_err(|error| {
            anyhow::anyhow!(
                "Argo CD did not answer ({})",
                crate::integrations::redact::scrub(&error.to_string(), &[url])
            )
        })?;
        match response.status().as_u16() {
            200 => response.json().await.context("Argo CD's answer is not an Application"),
            401 | 403 => bail!("Argo CD refused the token in {token_env} ({})", response.status()),
            404 => bail!("Argo CD has no application \"{name}\""),
            status => bail!("Argo CD answered {status} for application \"{name}\""),
        }
    }
}
