//! The outbox worker: due effects carried out with retries and back-off,
//! their results fed back to the engine under the leader's fence.

use railyard_domain::time::Instant;
use std::time::Duration;

use super::apply::{apply_in, record_gate_run};
use super::conditions::sync_freezes;
use super::dispatch::{execute, failure_event};
use super::{EffectContext, Integrations, RuntimeError, WakeUp};
use super::{BASE_BACKOFF_MS, EFFECT_TIMEOUT, MAX_ATTEMPTS, MAX_BACKOFF_MS};
use crate::engine::{self, Effect, Event};
use crate::leadership::{self, Fence};
use crate::store::{self, Db};

/// The delay before attempt `attempts + 1`: exponential, capped, with jitter
/// derived from the key so that retries of many effects spread out.
pub fn backoff_ms(attempts: i64, key: &str) -> i64 {
    let exponential = BASE_BACKOFF_MS.saturating_mul(1_i64 << attempts.clamp(0, 20)).min(MAX_BACKOFF_MS);
    let spread = key.bytes().fold(0_i64, |h, b| (h * 31 + i64::from(b)) % 1000);
    exponential / 2 + exponential / 2 * spread / 1000
}

/// Carries out up to `limit` due effects; returns how many were settled.
/// Each result is stored under `fence`: once the term has ended nothing more
/// is written, and the effect stays pending for the next leader (which
/// repeats it with the same idempotency key).
pub async fn work(
    db: &Db,
    fence: Fence,
    integrations: &dyn Integrations,
    now: Instant,
    limit: i64,
) -> Result<usize, RuntimeError> {
    let due = {
        let mut conn = db.acquire().await?;
        store::runs::due(&mut conn, now, limit).await?
    };
    let mut settled = 0;
    for entry in due {
        let wake: WakeUp = serde_json::from_str(&entry.effect)?;
        let context = EffectContext { train_id: entry.train_id.clone(), key: entry.effect_key.clone(), now };
        let result = match &wake {
            WakeUp::PlanningClosed => Ok(Some(Event::PlanningClosed)),
            WakeUp::Effect(effect) => {
                match tokio::time::timeout(EFFECT_TIMEOUT, execute(integrations, &context, effect)).await {
                    Ok(result) => result,
                    Err(_) => Err(anyhow::anyhow!("timed out after {} s", EFFECT_TIMEOUT.as_secs())),
                }
            }
        };
        let mut tx = db.begin().await?;
        match result {
            Ok(event) => {
                if !store::runs::complete(&mut tx, &entry.id, now).await? {
                    continue; // another worker settled it
                }
                if let Some(event) = event {
                    match apply_in(&mut tx, &entry.train_id, &event, "runtime", now).await {
                        Ok(_) | Err(RuntimeError::Refused(_)) => {}
                        Err(error) => return Err(error),
                    }
                }
            }
            Err(error) => {
                let message = format!("{error:#}");
                if entry.attempts + 1 < MAX_ATTEMPTS {
                    if let WakeUp::Effect(Effect::RunGate { artifact_id, gate, .. }) = &wake {
                        let errored = engine::GateOutcome::Errored(message.clone());
                        record_gate_run(&mut tx, &entry.train_id, artifact_id, gate, &errored, now).await?;
                    }
                    tracing::warn!(key = %entry.effect_key, attempt = entry.attempts + 1, error = %message, "effect failed; will retry");
                    store::runs::retry_later(
                        &mut tx,
                        &entry.id,
                        now + backoff_ms(entry.attempts, &entry.effect_key),
                        &message,
                    )
                    .await?;
                } else {
                    tracing::error!(key = %entry.effect_key, error = %message, "effect failed for good");
                    if store::runs::give_up(&mut tx, &entry.id, now, &message).await? {
                        if let WakeUp::Effect(effect) = &wake {
                            if let Some(event) = failure_event(effect, &message) {
                                match apply_in(&mut tx, &entry.train_id, &event, "runtime", now).await {
                                    Ok(_) | Err(RuntimeError::Refused(_)) => {}
                                    Err(error) => return Err(error),
                                }
                            }
                        }
                    }
                }
            }
        }
        fence.hold(&mut tx).await?;
        tx.commit().await?;
        settled += 1;
    }
    Ok(settled)
}

/// Works the outbox every `interval` until `shutdown` turns true or the
/// term behind `fence` ends.
pub async fn run(
    db: Db,
    caches: std::sync::Arc<crate::read_cache::ReadCaches>,
    fence: Fence,
    integrations: std::sync::Arc<dyn Integrations>,
    clock: std::sync::Arc<dyn crate::clock::Clock>,
    interval: Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        match sync_freezes(&db, fence, clock.instant()).await {
            Err(RuntimeError::Db(error)) if leadership::is_stale(&error) => break,
            Err(error) => tracing::error!(error = format!("{error:#}"), "checking freezes failed; retrying"),
            Ok(0) => {}
            Ok(_) => caches.changed(),
        }
        loop {
            let now = clock.instant();
            match work(&db, fence, integrations.as_ref(), now, 100).await {
                Ok(0) => break,
                Ok(_) => caches.changed(),
                Err(RuntimeError::Db(error)) if leadership::is_stale(&error) => {
                    tracing::warn!(%error, "runtime stops");
                    return;
                }
                Err(error) => {
                    tracing::error!(error = format!("{error:#}"), "runtime pass failed; retrying");
                    break;
                }
            }
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            break;
        }
    }
    tracing::info!("runtime stopped");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_spread() {
        assert!(backoff_ms(0, "a") >= BASE_BACKOFF_MS / 2 && backoff_ms(0, "a") <= BASE_BACKOFF_MS);
        assert!(backoff_ms(3, "a") > backoff_ms(1, "a"));
        assert!(backoff_ms(30, "a") <= MAX_BACKOFF_MS);
        assert_ne!(backoff_ms(2, "train-1:deploy:0"), backoff_ms(2, "train-2:deploy:0"));
    }
}
