//! The webhook deployer: POSTs a signed JSON release payload to the URL a
//! train definition names. Each request carries the effect's idempotency key
//! (`Idempotency-Key`), so a receiver that honours it applies a retried
//! release once. The signature is `X-Railyard-Signature: sha256=<hex>`, an
//! HMAC-SHA256 with the shared secret over `<X-Railyard-Timestamp>.<body>`.
//! A 2xx answer means deployed; 5xx and timeouts are retried by the runtime
//! with backoff; 4xx means the receiver refused the release. A 2xx body may
//! report what is running: `{"running": [{"service": "...", "digest": "sha256:..."}]}`.
//! A `202` with `{"status": "pending"}` means the receiver deploys in the
//! background and reports back to
//! `POST /api/v1/deployments/{idempotency key}/status`, signed over
//! `<timestamp>.POST <path>.<body>` (the path names the deployment, so a
//! report cannot be replayed against another one).

use std::time::Duration;

use anyhow::{bail, Context};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

use super::{Deployer, ReleaseRequest, Released};
pub use super::{ReleasePayload, ReleaseStep, ReleasedArtifact, RunningDigest};
use crate::engine::Environment;
use crate::runtime::BoxFuture;

/// What a receiver reports after a release: whether it is still going, and what runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct RunningReport {
    /// `pending` when the receiver will report back by callback.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub running: Vec<RunningDigest>,
}

impl RunningReport {
    /// Whether the receiver will report back later.
    pub fn pending(&self) -> bool {
        self.status.as_deref() == Some("pending")
    }
}

/// Posts release payloads.
#[derive(Debug, Clone)]
pub struct WebhookDeployer {
    client: reqwest::Client,
}

impl WebhookDeployer {
    /// A deployer whose requests give up after `timeout`.
    pub fn new(timeout: Duration) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder().timeout(timeout).build().context("building the HTTP client")?;
        Ok(Self { client })
    }

    /// Sends `payload` to `url`, signed with `secret`, under idempotency key `key`.
    pub async fn send(
        &self,
        url: &str,
        secret: &[u8],
        key: &str,
        timestamp: i64,
        payload: &ReleasePayload,
    ) -> anyhow::Result<RunningReport> {
        let body = serde_json::to_vec(payload)?;
        let signature = sign(secret, timestamp, &body);
        let response = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("idempotency-key", key)
            .header("x-railyard-timestamp", timestamp.to_string())
            .header("x-railyard-signature", format!("sha256={signature}"))
            .body(body)
            .send()
            .await
            .map_err(|error| {
                let shown = crate::integrations::redact::url_for_display(url);
                anyhow::anyhow!("the deploy webhook at {shown} did not answer: {}", error.without_url())
            })?;
        let status = response.status();
        if status.is_success() {
            // A body that reports nothing (or is not JSON) is still a successful release.
            let text = response.text().await.unwrap_or_default();
            return Ok(serde_json::from_str(&text).unwrap_or_default());
        }
        let text: String = response.text().await.unwrap_or_default().chars().take(300).collect();
        if status.is_client_error() {
            bail!("the deploy webhook refused the release: {status} {text}");
        }
        bail!("the deploy webhook failed: {status} {text}")
    }
}

/// A webhook deployer bound to one definition's settings.
pub struct WebhookRelease<'a> {
    pub client: &'a WebhookDeployer,
    pub url: &'a str,
    /// Where staging steps go instead, if elsewhere.
    pub staging_url: Option<&'a str>,
    /// The environment variable holding the signing secret.
    pub secret_env: &'a str,
}

impl Deployer for WebhookRelease<'_> {
    fn release<'a>(&'a self, request: &'a ReleaseRequest<'a>) -> BoxFuture<'a, anyhow::Result<Released>> {
        Box::pin(async move {
            let secret = std::env::var(self.secret_env).with_context(|| {
                format!("the webhook secret variable {} is not set for this server", self.secret_env)
            })?;
            let url = match (request.environment, self.staging_url) {
                (Environment::Staging, Some(staging)) => staging,
                _ => self.url,
            };
            let report =
                self.client.send(url, secret.as_bytes(), request.key, request.timestamp_s, request.payload).await?;
            Ok(if report.pending() { Released::Pending } else { Released::Done { running: report.running } })
        })
    }
}

/// Whether `signature` (`sha256=<hex>`) signs `<timestamp>.<body>` under `secret`; constant-time.
pub fn verify(secret: &[u8], timestamp: i64, body: &[u8], signature: &str) -> bool {
    let Some(hex_digest) = signature.strip_prefix("sha256=") else { return false };
    let Ok(expected) = hex::decode(hex_digest) else { return false };
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// What a deployer's status report signs: `<timestamp>.<METHOD> <path>.<body>`,
/// so the deployment's key in the path is signed with the report.
pub fn callback_message(timestamp: i64, method: &str, path: &str, body: &[u8]) -> Vec<u8> {
    let mut message = format!("{timestamp}.{method} {path}.").into_bytes();
    message.extend_from_slice(body);
    message
}

/// Whether `signature` signs the status report `body` sent with `method` to
/// `path` at `timestamp` (see [`callback_message`]); constant-time.
pub fn verify_callback(secret: &[u8], timestamp: i64, method: &str, path: &str, body: &[u8], signature: &str) -> bool {
    let Some(hex_digest) = signature.strip_prefix("sha256=") else { return false };
    let Ok(expected) = hex::decode(hex_digest) else { return false };
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(&callback_message(timestamp, method, path, body));
    mac.verify_slice(&expected).is_ok()
}

/// Hex HMAC-SHA256 of `<timestamp>.<body>` under `secret`.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_documented_hmac() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let signature = sign(b"Jefe", 0, b"");
        assert_eq!(signature.len(), 64);
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(b"Jefe").expect("key");
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_ne!(sign(b"secret", 1, b"{}"), sign(b"secret", 2, b"{}"), "the timestamp is signed");
        let good = format!("sha256={}", sign(b"secret", 7, b"{}"));
        assert!(verify(b"secret", 7, b"{}", &good));
        assert!(!verify(b"secret", 8, b"{}", &good));
        assert!(!verify(b"other", 7, b"{}", &good));
        assert!(!verify(b"secret", 7, b"{}", "md5=00"));
    }

    #[test]
    fn a_status_report_is_signed_for_its_own_deployment() {
        let path = "/api/v1/deployments/t1:deploy:0/status";
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(b"secret").expect("key");
        mac.update(format!("7.POST {path}.{{}}").as_bytes());
        let good = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert!(verify_callback(b"secret", 7, "POST", path, b"{}", &good));
        assert!(!verify_callback(b"secret", 7, "POST", "/api/v1/deployments/t2:deploy:0/status", b"{}", &good));
        assert!(!verify_callback(b"secret", 7, "PUT", path, b"{}", &good));
        assert!(!verify(b"secret", 7, b"{}", &good), "the old body-only signature no longer fits");
    }
}
