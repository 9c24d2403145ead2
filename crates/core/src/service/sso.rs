//! Signing in with the identity provider (OpenID Connect): the browser is
//! sent off with a `state` it also carries in a cookie, and comes back with
//! a code that is exchanged once; the verified ID token names the person,
//! who becomes (or already is) a user here and gets the same session as a
//! password sign-in. Every refusal says why in words, and is audited.

use serde_json::json;

use super::sign_in::{open_session, SignedIn};
use super::{users, Ctx, ServiceError};
use crate::auth::oidc::{OidcError, OidcProvider, SsoIdentity};
use crate::auth::rate_limit::LoginLimits;
use crate::auth::{secret, Caller};
use crate::store::users::{BindingSource, User};
use crate::store::{self, sso::PendingSignIn};
use railyard_domain::role_mapping;

/// How long a browser may stay at the provider.
const PENDING_MS: i64 = 10 * 60_000;
/// Sign-ins under way at once, at most (each row is small; this bounds a flood).
pub const MAX_PENDING: i64 = 10_000;
/// The stored password of an account made by single sign-on: no password verifies against it.
const NO_PASSWORD: &str = "!sso";

/// A sign-in sent to the provider: where to send the browser, and the
/// `state` its cookie must carry back.
pub struct Started {
    pub url: String,
    pub state: String,
}

/// Sends the browser to the provider; `next` is where it lands afterwards.
/// Starts count against the caller's address like password attempts, and
/// at most [`MAX_PENDING`] sign-ins are under way at once.
pub async fn start(
    ctx: Ctx<'_>,
    provider: &OidcProvider,
    limits: &LoginLimits,
    caller: &Caller,
    next: &str,
) -> Result<Started, ServiceError> {
    let now = ctx.now();
    limits.admit_address(caller.ip)?;
    {
        let mut conn = ctx.db.acquire().await?;
        store::sso::sweep(&mut conn, now).await?;
        if store::sso::pending(&mut conn).await? >= MAX_PENDING {
            return Err(ServiceError::Unavailable(
                "too many sign-ins are under way at the identity provider; try again in a few minutes".into(),
            ));
        }
    }
    let authorization = provider.authorize(&["groups".to_owned()]).await.map_err(refusal)?;
    let pending = PendingSignIn {
        nonce: authorization.nonce,
        pkce_verifier: authorization.pkce_verifier,
        next: next.to_owned(),
        expires_at: now + PENDING_MS,
    };
    let mut conn = ctx.db.acquire().await?;
    store::sso::begin(&mut conn, &secret::digest(&authorization.state), &pending).await?;
    Ok(Started { url: authorization.url, state: authorization.state })
}

/// What came back from the provider.
pub struct Callback<'a> {
    pub state: &'a str,
    /// The `state` the browser's cookie carries (it started the sign-in).
    pub cookie_state: Option<&'a str>,
    pub code: &'a str,
}

/// Finishes a sign-in: checks the `state` against the browser's cookie and
/// the sign-in under way (each used once), exchanges the code, verifies the
/// ID token, and starts a session lasting `lifetime_ms`. Answers the session
/// and where to go next.
pub async fn finish(
    ctx: Ctx<'_>,
    provider: &OidcProvider,
    caller: &Caller,
    lifetime_ms: i64,
    back: Callback<'_>,
) -> Result<(SignedIn, String), ServiceError> {
    let now = ctx.now();
    if back.cookie_state != Some(back.state) {
        return Err(refused(ctx, caller, "this sign-in was not started in this browser").await);
    }
    let pending = {
        let mut conn = ctx.db.acquire().await?;
        store::sso::take(&mut conn, &secret::digest(back.state), now).await?
    };
    let Some(pending) = pending else {
        return Err(refused(ctx, caller, "this sign-in was used already or took longer than ten minutes").await);
    };
    let identity = match provider.finish(back.code, &pending.pkce_verifier, &pending.nonce, now.to_utc()).await {
        Ok(identity) => identity,
        Err(OidcError::Refused(reason)) => return Err(refused(ctx, caller, &reason).await),
        Err(unavailable) => return Err(refusal(unavailable)),
    };
    let mut tx = ctx.db.begin().await?;
    let user = user_for(&mut tx, caller, &identity, now).await?;
    if user.disabled != 0 {
        drop(tx);
        return Err(refused(ctx, caller, &format!("the account {} is disabled", user.name)).await);
    }
    sync_roles(&mut tx, caller, &user, &identity, now).await?;
    let email = identity.email.clone().unwrap_or_default();
    store::sso::signed_in(&mut tx, &identity.issuer, &identity.subject, &user.id, &email, now).await?;
    let signed_in = open_session(&mut tx, caller, &user, lifetime_ms, now, "sso").await?;
    tx.commit().await?;
    Ok((signed_in, pending.next))
}

/// The user the provider's subject is, created at its first sign-in.
async fn user_for(
    tx: &mut store::Conn,
    caller: &Caller,
    identity: &SsoIdentity,
    now: crate::time::Instant,
) -> Result<User, ServiceError> {
    if let Some(id) = store::sso::user_of(tx, &identity.issuer, &identity.subject).await? {
        if let Some(user) = store::users::by_id(tx, &id).await? {
            return Ok(user);
        }
    }
    let wanted = identity
        .username
        .clone()
        .or_else(|| identity.email.as_ref().and_then(|e| e.split('@').next().map(str::to_owned)))
        .unwrap_or_else(|| identity.subject.clone());
    let name = free_name(tx, &wanted).await?;
    let user = User {
        id: store::new_id(),
        name: name.clone(),
        password_hash: NO_PASSWORD.to_owned(),
        disabled: 0,
        must_change_password: 0,
        created_at: now,
    };
    store::users::insert(tx, &user, now).await?;
    let entry = store::audit::Entry::new("sso", "user.created", format!("user:{name}"))
        .change(
            &serde_json::Value::Null,
            &json!({ "issuer": identity.issuer, "subject": identity.subject, "email": identity.email }),
        )
        .request(&caller.request_id);
    store::audit::append(tx, &entry, now).await?;
    Ok(user)
}

/// Makes the roles `user` holds from sign-in the ones `identity`'s claims
/// grant now under `[[role_mapping]]` (hand-set roles stay); a change is audited.
async fn sync_roles(
    tx: &mut store::Conn,
    caller: &Caller,
    user: &User,
    identity: &SsoIdentity,
    now: crate::time::Instant,
) -> Result<(), ServiceError> {
    let mappings = store::role_mappings::list(tx).await?;
    let mut wanted = Vec::new();
    for binding in role_mapping::granted(&mappings, &identity.claims) {
        let domain_id = match &binding.domain {
            None => None,
            // A domain removed since the mapping was applied grants nothing.
            Some(name) => match store::domains::by_name(tx, name).await? {
                Some(domain) => Some(domain.id),
                None => continue,
            },
        };
        wanted.push((binding.role, domain_id));
    }
    let before = store::users::bindings_from(tx, &user.id, BindingSource::Sso).await?;
    store::users::replace_sso_bindings(tx, &user.id, &wanted, now).await?;
    let after = store::users::bindings_from(tx, &user.id, BindingSource::Sso).await?;
    if before != after {
        let entry = store::audit::Entry::new("sso", "user.roles_from_sign_in", format!("user:{}", user.name))
            .change(&json!({ "roles": before }), &json!({ "roles": after, "issuer": identity.issuer }))
            .request(&caller.request_id);
        store::audit::append(tx, &entry, now).await?;
    }
    Ok(())
}

/// A user name from `wanted` (letters, digits, `.-_@` kept, 64 at most) that nobody has yet.
async fn free_name(tx: &mut store::Conn, wanted: &str) -> Result<String, ServiceError> {
    let base: String = wanted
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@') { c } else { '-' })
        .take(56)
        .collect();
    let base = if users::is_valid_name(&base) { base } else { "sso-user".to_owned() };
    for n in 1..1000 {
        let name = if n == 1 { base.clone() } else { format!("{base}-{n}") };
        if store::users::by_name(tx, &name).await?.is_none() {
            return Ok(name);
        }
    }
    Err(ServiceError::Conflict(format!("no free user name like {base}")))
}

/// Records a refused sign-in and answers it (or the store's failure to record it).
async fn refused(ctx: Ctx<'_>, caller: &Caller, reason: &str) -> ServiceError {
    let entry = store::audit::Entry::new(caller.principal.actor(), "login.refused", format!("client:{}", caller.ip))
        .change(&serde_json::Value::Null, &json!({ "with": "sso", "reason": reason }))
        .request(&caller.request_id);
    let recorded = async {
        let mut tx = ctx.db.begin().await?;
        store::audit::append(&mut tx, &entry, ctx.now()).await?;
        tx.commit().await?;
        Ok::<(), ServiceError>(())
    };
    match recorded.await {
        Ok(()) => ServiceError::Unauthenticated(format!("Single sign-on failed: {reason}.")),
        Err(error) => error,
    }
}

fn refusal(error: OidcError) -> ServiceError {
    match error {
        OidcError::Unavailable(reason) => ServiceError::Unavailable(format!("Single sign-on is unavailable: {reason}")),
        OidcError::Refused(reason) => ServiceError::Unauthenticated(format!("Single sign-on failed: {reason}.")),
    }
}
