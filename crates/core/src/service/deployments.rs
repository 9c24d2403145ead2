//! A deployer's report on a release it carried out: the webhook deployer's
//! receiver answers `202 {"status": "pending"}` and reports the outcome
//! later, signed like the release it received (HMAC-SHA256 over
//! `<timestamp>.POST <path>.<body>` with the definition's secret). A report
//! signed for another deployment is refused and kept on record; repeating a
//! report is harmless.

use super::{Ctx, ServiceError};
use crate::candidate::CandidateStatus;
use crate::delivery::DeployerSettings;
use crate::engine::{Environment, Event};
use crate::integrations::record_digests;
use crate::integrations::webhook::{verify_callback, ReleasedArtifact, RunningDigest};
use crate::runtime::{self, RuntimeError};
use crate::store;
use crate::train_state::TrainState;

/// How far a report's timestamp may be from now before it is taken for a replay.
const MAX_SKEW_S: i64 = 300;

/// What a deployment key names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    Deploy,
    Rollback,
    /// A rollback of some services alone; the number is the train's service rollback, not a step.
    ServiceRollback,
}

/// The train, kind and number of an effect key: `<train>:deploy:<step>`,
/// `<train>:rollback:<step>[:<attempt>]` or `<train>:rollback-services:<index>[:<attempt>]`.
pub fn release_of(key: &str) -> Option<(&str, Release, usize)> {
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

/// The event a finished release (`step`: the rollout step, or the service rollback's number) gives the engine.
pub fn finished(release: Release, step: usize, ok: bool, detail: String) -> Event {
    match (release, ok) {
        (Release::Deploy, _) => Event::Deployed { step, ok, detail },
        (Release::Rollback, true) => Event::RolledBack { step },
        (Release::Rollback, false) => Event::RollbackFailed { step, detail },
        (Release::ServiceRollback, _) => Event::ServicesRolledBack { index: step, ok, detail },
    }
}

/// A report whose signature matched its deployment.
#[derive(Debug, Clone, Copy)]
pub struct Verified<'k> {
    pub train_id: &'k str,
    pub release: Release,
    pub step: usize,
}

/// What the deployer says happened.
pub struct Outcome {
    /// `succeeded` or `failed`.
    pub status: String,
    pub detail: String,
    /// What runs now, per service (deploys only).
    pub running: Vec<RunningDigest>,
}

fn unknown(key: &str) -> ServiceError {
    ServiceError::NotFound(format!("no deployment has the key \"{key}\""))
}

/// Checks that the report on deployment `key` is signed with its definition's secret
/// (`signature` over `timestamp`, the path and `body`) and recent. A mismatch is audited.
pub async fn verify<'k>(
    ctx: Ctx<'_>,
    key: &'k str,
    timestamp: &str,
    signature: &str,
    body: &[u8],
) -> Result<Verified<'k>, ServiceError> {
    let (train_id, release, step) = release_of(key).ok_or_else(|| unknown(key))?;
    let mut conn = ctx.db.acquire().await?;
    let definition_id = store::trains::definition_id_of(&mut conn, train_id).await?.ok_or_else(|| unknown(key))?;
    let definition = store::definitions::by_id(&mut conn, &definition_id).await?.ok_or_else(|| unknown(key))?;
    let DeployerSettings::Webhook { secret_env, .. } = definition.deployer_settings().map_err(anyhow::Error::from)?
    else {
        return Err(unknown(key));
    };
    let timestamp: i64 =
        timestamp.parse().map_err(|_| ServiceError::Unauthenticated("X-Railyard-Timestamp is missing".into()))?;
    let secret = std::env::var(&secret_env).map_err(|_| anyhow::anyhow!("{secret_env} is not set"))?;
    let path = format!("/api/v1/deployments/{key}/status");
    if !verify_callback(secret.as_bytes(), timestamp, "POST", &path, body, signature) {
        let entry = store::audit::Entry::new("deployer", "deployment.report_refused", format!("deployment:{key}"));
        store::audit::append(&mut conn, &entry, ctx.now()).await?;
        return Err(ServiceError::Unauthenticated(
            "the signature does not match this deployment: sign `<timestamp>.POST <path>.<body>` with its secret"
                .into(),
        ));
    }
    if (ctx.now().ms() / 1000 - timestamp).abs() > MAX_SKEW_S {
        return Err(ServiceError::Unauthenticated(
            "the timestamp is more than five minutes off; refusing a possible replay".into(),
        ));
    }
    Ok(Verified { train_id, release, step })
}

/// Applies a verified report to its train; answers the train's state after it.
pub async fn apply(
    ctx: Ctx<'_>,
    key: &str,
    report: Verified<'_>,
    outcome: Outcome,
) -> Result<TrainState, ServiceError> {
    let Verified { train_id, release, step } = report;
    let ok = match outcome.status.as_str() {
        "succeeded" => true,
        "failed" => false,
        other => return Err(ServiceError::invalid(format!("`status` is \"{other}\"; expected succeeded or failed"))),
    };
    let detail = if outcome.detail.is_empty() { outcome.status.clone() } else { outcome.detail };
    let event = finished(release, step, ok, detail);
    let now = ctx.now();
    let run = match runtime::apply(ctx.db, train_id, &event, "deployer", now).await {
        Ok(run) => run,
        Err(RuntimeError::NotFound(_)) => return Err(unknown(key)),
        Err(other) => return Err(other.into()),
    };
    ctx.caches.changed();
    if ok && release == Release::Deploy && !outcome.running.is_empty() {
        let mut conn = ctx.db.acquire().await?;
        let shipped: Vec<ReleasedArtifact> = store::artifacts::cargo(&mut conn, train_id)
            .await?
            .into_iter()
            .filter(|c| c.status == CandidateStatus::Boarded)
            .map(|c| ReleasedArtifact { service: c.service, version: c.version, digest: c.digest })
            .collect();
        let environment = run.rollout.get(step).map_or(Environment::Production, |s| s.environment);
        let region = run.rollout.get(step).and_then(|s| s.region.as_deref());
        record_digests(ctx.db, now, train_id, step, &shipped, (environment, region), outcome.running).await?;
    }
    Ok(run.phase)
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
