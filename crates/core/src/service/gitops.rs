//! Flux's reports: notification-controller posts events for a definition's
//! Kustomizations or HelmReleases through a `generic-hmac` Provider
//! (`X-Signature: sha256=<hex HMAC of the body>` with the Provider's token).
//! An event about an object a pushed release waits for, at that release's
//! revision or a later one, completes or fails it. A bad signature is
//! refused and kept on record; repeating an event is harmless.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{Ctx, ServiceError};
use crate::delivery::DeployerSettings;
use crate::gitops::controller::flux;
use crate::gitops::{Controller, Report};
use crate::gitops_sync::{conclude, observe, record_revision, Ancestry};
use crate::service::deployments::release_of;
use crate::store;
use crate::train_state::TrainState;

/// What Railyard made of an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heard {
    /// How many waiting releases the event was about.
    pub matched: usize,
    /// How many of those it completed or failed.
    pub concluded: usize,
}

/// Checks `signature` against the body and the definition's Flux token, then applies the event.
pub async fn flux_event(ctx: Ctx<'_>, definition: &str, signature: &str, body: &[u8]) -> Result<Heard, ServiceError> {
    let mut conn = ctx.db.acquire().await?;
    let unknown = || ServiceError::NotFound(format!("no definition called \"{definition}\" takes Flux events"));
    let stored = store::definitions::by_name(&mut conn, definition).await?.ok_or_else(unknown)?;
    let Ok(DeployerSettings::Gitops(settings)) = stored.deployer_settings() else { return Err(unknown()) };
    let Controller::Flux { secret_env, kind, namespace, .. } = &settings.controller else { return Err(unknown()) };
    let secret = std::env::var(secret_env)
        .map_err(|_| ServiceError::Unavailable(format!("{secret_env} is not set, so Flux events cannot be checked")))?;
    if !signed(secret.as_bytes(), body, signature) {
        let entry = store::audit::Entry::new("flux", "gitops.flux_event_refused", format!("definition:{definition}"));
        store::audit::append(&mut conn, &entry, ctx.now()).await?;
        return Err(ServiceError::Unauthenticated(
            "X-Signature does not match: sign the body with HMAC-SHA256 and the Provider's token (generic-hmac)".into(),
        ));
    }
    let event: flux::Event = serde_json::from_slice(body)
        .map_err(|error| ServiceError::invalid(format!("the body is not a Flux event: {error}")))?;
    let about = &event.involved_object;
    let ours = about.kind == kind.as_str() && namespace.as_deref().is_none_or(|ns| ns == about.namespace);
    let Some(report) = event.report().filter(|_| ours) else { return Ok(Heard { matched: 0, concluded: 0 }) };
    let waits = store::gitops_waits::open_for_object(&mut conn, &stored.id, &about.name).await?;
    let monitored = store::trains::ids_in_state(&mut conn, TrainState::Monitoring).await?;
    let mut watched = Vec::new();
    for train in monitored {
        if store::trains::definition_id_of(&mut conn, &train).await?.as_deref() == Some(stored.id.as_str()) {
            if let Some(applied) = store::gitops_waits::last_applied(&mut conn, &train, &about.name).await? {
                watched.push(applied);
            }
        }
    }
    drop(conn);
    let ancestry = Ancestry::default();
    // After a train's last step, what Flux applies is watched for drift while the train is monitored.
    let mut drifted = 0;
    if let Report::Applied { revision, .. } = &report {
        for applied in watched.iter().filter(|_| waits.is_empty()) {
            let Some((train, _, step)) = release_of(&applied.effect_key) else { continue };
            let includes = ancestry.includes(&settings, &applied.revision, revision).await?;
            let place = (train, step);
            drifted += record_revision(ctx.db, &settings, place, &about.name, revision, includes, ctx.now()).await?;
        }
    }
    let mut concluded = 0;
    for wait in &waits {
        observe(ctx.db, &ancestry, &settings, wait, settings.controller.name(), report.clone()).await?;
        if conclude(ctx.db, &settings, &wait.effect_key, ctx.now()).await? {
            concluded += 1;
        }
    }
    if concluded + drifted > 0 {
        ctx.caches.changed();
    }
    Ok(Heard { matched: waits.len(), concluded })
}

/// Whether `signature` (`sha256=<hex>`) is the HMAC-SHA256 of `body` under `secret`.
fn signed(secret: &[u8], body: &[u8], signature: &str) -> bool {
    let Some(hex_digest) = signature.trim().strip_prefix("sha256=") else { return false };
    let Ok(expected) = hex::decode(hex_digest) else { return false };
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_an_hmac_of_the_body_alone() {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(b"token").expect("key");
        mac.update(b"{}");
        let good = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert!(signed(b"token", b"{}", &good));
        assert!(!signed(b"other", b"{}", &good));
        assert!(!signed(b"token", b"{ }", &good));
        assert!(!signed(b"token", b"{}", good.trim_start_matches("sha256=")));
        assert!(!signed(b"token", b"{}", "sha256=zz"));
    }
}
