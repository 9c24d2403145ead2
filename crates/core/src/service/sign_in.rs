//! Signing in and out: the credentials checked within the sign-in limits
//! (per client, per name, and a back-off per account kept in the store), a
//! fresh session at every sign-in, and every refusal audited. The HTTP edge
//! turns the session's secret into a cookie.

use serde_json::json;

use super::account::Me;
use super::{users, Ctx, ServiceError};
use crate::auth::rate_limit::{self, LoginLimits};
use crate::auth::{password, secret, Caller, Permission, Principal, Role};
use crate::store::{self, sessions::Session};

/// A session just started: the secret its cookie carries, and who signed in.
pub struct SignedIn {
    pub secret: String,
    pub me: Me,
}

/// Checks the credentials (within the sign-in limits), ends the caller's
/// current session if any, and starts a fresh one lasting `lifetime_ms`:
/// the session id always changes at sign-in. Failures are audited.
pub async fn sign_in(
    ctx: Ctx<'_>,
    caller: &Caller,
    limits: &LoginLimits,
    lifetime_ms: i64,
    name: &str,
    given: &str,
) -> Result<SignedIn, ServiceError> {
    let name = name.trim();
    let account = rate_limit::account_key(name);
    let now = ctx.now();
    if limits.prune(now) {
        let mut conn = ctx.db.acquire().await?;
        store::sign_in_backoff::forget_old(&mut conn, now).await?;
    }
    let limited = match limits.admit(name, caller.ip, now) {
        Err(refused) => Some(refused),
        Ok(()) => {
            let mut conn = ctx.db.acquire().await?;
            let next = store::sign_in_backoff::next_attempt_at(&mut conn, &account).await?;
            next.filter(|at| *at > now).map(|at| rate_limit::Refused::account(at - now))
        }
    };
    if let Some(refused) = limited {
        // Refusals cost one audit row per client a minute, however many there are.
        if let Some(count) = limits.refusal_to_audit(caller.ip, now) {
            let entry =
                store::audit::Entry::new(caller.principal.actor(), "login.limited", format!("client:{}", caller.ip))
                    .change(
                        &serde_json::Value::Null,
                        &json!({ "refused": count, "reason": refused.message, "last_name": shown_name(name) }),
                    )
                    .request(&caller.request_id);
            let mut tx = ctx.db.begin().await?;
            store::audit::append(&mut tx, &entry, now).await?;
            tx.commit().await?;
        }
        return Err(refused.into());
    }
    // No account can have a name outside the rules: refuse it without a lookup or a hash.
    let user = if users::is_valid_name(name) {
        let mut conn = ctx.db.acquire().await?;
        store::users::by_name(&mut conn, name).await?
    } else {
        None
    };
    // The decoy (hashed once, on first use) also runs inside the bound.
    let stored = user.as_ref().map(|user| user.password_hash.clone());
    let given = given.to_owned();
    let matches = password::bounded(move || match stored {
        Some(stored) => password::verify(&given, &stored),
        None => password::verify(&given, password::decoy()),
    })
    .await?;
    let user = match user {
        Some(user) if matches && user.disabled == 0 => user,
        other => {
            let reason = match &other {
                None => "unknown user",
                Some(user) if user.disabled != 0 => "user disabled",
                Some(_) => "wrong password",
            };
            limits.failed(name, caller.ip, now);
            let mut tx = ctx.db.begin().await?;
            store::audit::append(&mut tx, &refused(caller, name, reason), now).await?;
            // Only real accounts back off in the store: made-up names cannot fill it.
            if other.is_some() {
                store::sign_in_backoff::failed(&mut tx, &account, rate_limit::ACCOUNT_BACKOFF, now).await?;
            }
            tx.commit().await?;
            return Err(ServiceError::Unauthenticated("wrong name or password".into()));
        }
    };
    limits.succeeded(name, caller.ip);
    let mut tx = ctx.db.begin().await?;
    store::sign_in_backoff::cleared(&mut tx, &account).await?;
    if !store::sign_in_policy::local_allowed(&mut tx).await? && !keeps_password(&mut tx, &user).await? {
        store::audit::append(&mut tx, &refused(caller, name, "password sign-in is turned off"), now).await?;
        tx.commit().await?;
        return Err(ServiceError::Forbidden(
            "Signing in with a password is turned off here; use single sign-on.".into(),
        ));
    }
    let signed_in = open_session(&mut tx, caller, &user, lifetime_ms, now, "password").await?;
    tx.commit().await?;
    Ok(signed_in)
}

/// Whether `user` still signs in with a password once it is turned off for
/// everyone else: a hand-set admin (the first admin, break-glass accounts).
async fn keeps_password(tx: &mut store::Conn, user: &store::users::User) -> Result<bool, ServiceError> {
    let held = store::users::bindings_from(tx, &user.id, store::users::BindingSource::Manual).await?;
    Ok(held.iter().any(|binding| binding.role == Role::Admin && binding.domain.is_none()))
}

/// Turns password sign-in on or off for everyone but hand-set admins
/// (turning it off needs single sign-on set up: `sso_ready`). Audited.
pub async fn set_local_sign_in(
    ctx: Ctx<'_>,
    caller: &Caller,
    allowed: bool,
    sso_ready: bool,
) -> Result<(), ServiceError> {
    caller.principal.require(Permission::Administer, None)?;
    if !allowed && !sso_ready {
        return Err(ServiceError::Conflict(
            "set up single sign-on first (RAILYARD_OIDC_ISSUER): otherwise only admins could sign in".into(),
        ));
    }
    let now = ctx.now();
    let mut tx = ctx.db.begin().await?;
    let before = store::sign_in_policy::local_allowed(&mut tx).await?;
    store::sign_in_policy::set_local_allowed(&mut tx, allowed, now).await?;
    let entry = caller
        .audit("sign_in.local_changed", "sign-in:local")
        .change(&json!({ "local_allowed": before }), &json!({ "local_allowed": allowed }));
    store::audit::append(&mut tx, &entry, now).await?;
    ctx.commit(tx).await?;
    Ok(())
}

/// Whether everyone may sign in with a password.
pub async fn local_sign_in(ctx: Ctx<'_>) -> Result<bool, ServiceError> {
    let mut conn = ctx.db.acquire().await?;
    Ok(store::sign_in_policy::local_allowed(&mut conn).await?)
}

/// Ends the caller's current session if any and starts a fresh one for
/// `user` lasting `lifetime_ms` (the session id always changes at sign-in),
/// audited with how they signed in (`password`, `sso`).
pub(super) async fn open_session(
    tx: &mut store::Conn,
    caller: &Caller,
    user: &store::users::User,
    lifetime_ms: i64,
    now: crate::time::Instant,
    how: &str,
) -> Result<SignedIn, ServiceError> {
    let secret = secret::random_token(32);
    let session = Session {
        id: store::new_id(),
        user_id: user.id.clone(),
        created_at: now,
        last_seen_at: now,
        expires_at: now + lifetime_ms,
        ip: caller.ip.to_string(),
        user_agent: caller.user_agent.chars().take(200).collect(),
    };
    if let Principal::User { id, session_id, .. } = &caller.principal {
        store::sessions::end(tx, id, session_id, now).await?;
    }
    store::sessions::insert(tx, &session, &secret::digest(&secret)).await?;
    let entry = store::audit::Entry::new(format!("user:{}", user.name), "login", format!("user:{}", user.name))
        .change(&serde_json::Value::Null, &json!({ "session": session.id, "ip": session.ip, "with": how }))
        .request(&caller.request_id);
    store::audit::append(tx, &entry, now).await?;
    let roles = store::users::bindings(tx, &user.id).await?;
    let me = Me { name: user.name.clone(), roles, must_change_password: user.must_change_password != 0 };
    Ok(SignedIn { secret, me })
}

/// Ends the caller's session, if they have one.
pub async fn sign_out(ctx: Ctx<'_>, caller: &Caller) -> Result<(), ServiceError> {
    if let Principal::User { id, name, session_id, .. } = &caller.principal {
        let now = ctx.now();
        let mut tx = ctx.db.begin().await?;
        store::sessions::end(&mut tx, id, session_id, now).await?;
        store::audit::append(&mut tx, &caller.audit("logout", &format!("user:{name}")), now).await?;
        tx.commit().await?;
    }
    Ok(())
}

/// A name someone typed, as the audit log keeps it: at most 64 characters.
fn shown_name(name: &str) -> String {
    if name.chars().count() <= 64 {
        name.to_owned()
    } else {
        format!("{}…", name.chars().take(64).collect::<String>())
    }
}

fn refused(caller: &Caller, name: &str, reason: &str) -> store::audit::Entry {
    store::audit::Entry::new(caller.principal.actor(), "login.failed", format!("user:{}", shown_name(name)))
        .change(&serde_json::Value::Null, &json!({ "reason": reason, "ip": caller.ip.to_string() }))
        .request(&caller.request_id)
}
