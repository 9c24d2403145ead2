//! Signing in with the identity provider (OpenID Connect): the browser is
//! sent off with a `state` it also carries in a cookie, and comes back with
//! a code that is exchanged once; the verified ID token names the person,
//! who becomes (or already is) a user here and gets the same session as a
//! password sign-in. Every refusal says why in words, and is audited.

use serde_json::json;

use super::sign_in::{open_session, SignedIn};
use super::{users, Ctx, ServiceError};
use crate::auth::oidc::{OidcError, OidcProvider, SsoIdentity};
use crate::auth::{secret, Caller};
use crate::store::{self, sso::PendingSignIn, users::User};

/// How long a browser may stay at the provider.
const PENDING_MS: i64 = 10 * 60_000;
/// The stored password of an account made by single sign-on: no password verifies against it.
const NO_PASSWORD: &str = "!sso";

/// A sign-in sent to the provider: where to send the browser, and the
/// `state` its cookie must carry back.
pub struct Started {
    pub url: String,
    pub state: String,
}

/// Sends the browser to the provider; `next` is where it lands afterwards.
pub async fn start(ctx: Ctx<'_>, provider: &OidcProvider, next: &str) -> Result<Started, ServiceError> {
    let authorization = provider.authorize(&["groups".to_owned()]).await.map_err(refusal)?;
    let pending = PendingSignIn {
        nonce: authorization.nonce,
        pkce_verifier: authorization.pkce_verifier,
        next: next.to_owned(),
        expires_at: ctx.now() + PENDING_MS,
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
