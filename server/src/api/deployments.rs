//! `POST /api/v1/deployments/{key}/status`: the webhook deployer's status
//! callback, for deploys and rollbacks alike. A receiver that answered
//! `202 {"status": "pending"}` reports the outcome here, signed like the
//! release it received (HMAC-SHA256 over `<X-Railyard-Timestamp>.<body>` with
//! the definition's secret). Repeating a callback is harmless.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{ApiError, ApiState};
use crate::engine::{Environment, Event};
use crate::integrations::record_digests;
use crate::integrations::webhook::{verify_callback, ReleasedArtifact, RunningDigest};
use crate::runtime::{self, RuntimeError};
use crate::store;
use crate::text::Text;
use crate::time::to_ms;

/// How far a callback's timestamp may be from the server's clock.
const MAX_SKEW_S: i64 = 300;

/// The callback's body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusRequest {
    /// `succeeded` or `failed`.
    #[schema(value_type = String, pattern = "^(succeeded|failed)$")]
    pub status: Text,
    #[serde(default)]
    pub detail: Text,
    #[serde(default)]
    pub running: Vec<RunningDigest>,
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::Rejected(StatusCode::UNAUTHORIZED, message.to_owned())
}

/// What a deployment key names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Release {
    Deploy,
    Rollback,
    /// A rollback of some services alone; the number is the train's service rollback, not a step.
    ServiceRollback,
}

/// The train, kind and number of an effect key: `<train>:deploy:<step>`,
/// `<train>:rollback:<step>[:<attempt>]` or `<train>:rollback-services:<index>[:<attempt>]`.
fn release_of(key: &str) -> Option<(&str, Release, usize)> {
    let (train_id, release, number) = match key.rsplit_once(":deploy:") {
        Some((train_id, step)) => (train_id, Release::Deploy, step),
        None => {
            let (train_id, release, rest) = match key.rsplit_once(":rollback:") {
                Some((train_id, rest)) => (train_id, Release::Rollback, rest),
                None => {
                    let (train_id, rest) = key.rsplit_once(":rollback-services:")?;
                    (train_id, Release::ServiceRollback, rest)
                }
            };
            let number = match rest.split_once(':') {
                Some((number, attempt)) => attempt.parse::<u32>().ok().map(|_| number)?,
                None => rest,
            };
            (train_id, release, number)
        }
    };
    Some((train_id, release, number.parse().ok()?))
}

/// Applies a deployer's report on the deployment with idempotency key `key`.
#[utoipa::path(
    post,
    path = "/api/v1/deployments/{key}/status",
    tag = "deployments",
    params(("key" = String, Path, description = "The deployment's idempotency key")),
    request_body = StatusRequest,
    responses((status = 200, description = "Applied", body = Object))
)]
pub async fn status(
    State(state): State<ApiState>,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let unknown = || ApiError::NotFound(format!("no deployment has the key \"{key}\""));
    let (train_id, release, step) = release_of(&key).ok_or_else(unknown)?;
    let mut conn = state.db.acquire().await?;
    let definition_id = store::trains::definition_id_of(&mut conn, train_id).await?.ok_or_else(unknown)?;
    let definition = store::definitions::by_id(&mut conn, &definition_id).await?.ok_or_else(unknown)?;
    if definition.deployer != "webhook" {
        return Err(unknown());
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let timestamp: i64 =
        header("x-railyard-timestamp").parse().map_err(|_| unauthorized("X-Railyard-Timestamp is missing"))?;
    let secret = std::env::var(&definition.webhook_secret_env)
        .map_err(|_| ApiError::Internal(anyhow::anyhow!("{} is not set", definition.webhook_secret_env)))?;
    let path = format!("/api/v1/deployments/{key}/status");
    if !verify_callback(secret.as_bytes(), timestamp, "POST", &path, &body, header("x-railyard-signature")) {
        // A report signed for another deployment (or not at all) is kept on record.
        let entry = store::audit::Entry::new("deployer", "deployment.report_refused", format!("deployment:{key}"));
        store::audit::append(&mut conn, &entry, to_ms(state.clock.now())).await?;
        return Err(unauthorized(
            "the signature does not match this deployment: sign `<timestamp>.POST <path>.<body>` with its secret",
        ));
    }
    let now = to_ms(state.clock.now());
    if (now / 1000 - timestamp).abs() > MAX_SKEW_S {
        return Err(unauthorized("the timestamp is more than five minutes off; refusing a possible replay"));
    }
    let report: StatusRequest = super::json::parse(&body)?;
    let ok = match report.status.as_str() {
        "succeeded" => true,
        "failed" => false,
        other => return Err(ApiError::bad_request(format!("`status` is \"{other}\"; expected succeeded or failed"))),
    };
    let detail = if report.detail.is_empty() { report.status.to_string() } else { report.detail.to_string() };
    let event = match (release, ok) {
        (Release::Deploy, _) => Event::Deployed { step, ok, detail },
        (Release::Rollback, true) => Event::RolledBack { step },
        (Release::Rollback, false) => Event::RollbackFailed { step, detail },
        (Release::ServiceRollback, _) => Event::ServicesRolledBack { index: step, ok, detail },
    };
    let run = match runtime::apply(&state.db, train_id, &event, "deployer", now).await {
        Ok(run) => run,
        Err(RuntimeError::Refused(refusal)) => return Err(ApiError::Conflict(refusal.to_string())),
        Err(RuntimeError::NotFound(_)) => return Err(unknown()),
        Err(other) => return Err(ApiError::Internal(other.into())),
    };
    if ok && release == Release::Deploy && !report.running.is_empty() {
        let shipped: Vec<ReleasedArtifact> = store::artifacts::cargo(&mut conn, train_id)
            .await?
            .into_iter()
            .filter(|c| c.status == "boarded")
            .map(|c| ReleasedArtifact { service: c.service, version: c.version, digest: c.digest })
            .collect();
        let environment = match run.rollout.get(step).map(|s| s.environment) {
            Some(Environment::Staging) => "staging",
            _ => "production",
        };
        record_digests(&state.db, now, train_id, step, &shipped, environment, report.running)
            .await
            .map_err(ApiError::Internal)?;
    }
    Ok(Json(json!({ "train_id": train_id, "state": run.phase.as_str() })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_the_train_the_release_and_the_step() {
        assert_eq!(release_of("t-1:deploy:2"), Some(("t-1", Release::Deploy, 2)));
        assert_eq!(release_of("t-1:rollback:2"), Some(("t-1", Release::Rollback, 2)));
        assert_eq!(release_of("t-1:rollback:2:3"), Some(("t-1", Release::Rollback, 2)), "a retried rollback");
        assert_eq!(release_of("t-1:rollback-services:0"), Some(("t-1", Release::ServiceRollback, 0)));
        assert_eq!(release_of("t-1:rollback-services:1:2"), Some(("t-1", Release::ServiceRollback, 1)));
        for bad in [
            "t-1:deploy:2:3",
            "t-1:rollback:x",
            "t-1:rollback-services:x",
            "t-1:rollback:2:x",
            "t-1:judge:2",
            "nothing",
        ] {
            assert_eq!(release_of(bad), None, "{bad}");
        }
    }
}
