//! A person's own account: who they are, their sessions, their password.
//! API tokens have no account; every change is audited.

use anyhow::Context;
use serde_json::json;

use super::{Ctx, ServiceError};
use crate::auth::rate_limit::LoginLimits;
use crate::auth::{password, Binding, Caller, Principal};
use crate::store::{self, sessions::Session, users::User};

/// The signed-in person and their roles.
pub struct Me {
    pub name: String,
    pub roles: Vec<Binding>,
    pub must_change_password: bool,
}

/// Who is signed in.
pub async fn me(ctx: Ctx<'_>, caller: &Caller) -> Result<Me, ServiceError> {
    let Principal::User { name, bindings, .. } = &caller.principal else { return Err(signed_in_only(caller)) };
    let mut conn = ctx.db.acquire().await?;
    let user = own_user(&mut conn, caller).await?;
    Ok(Me { name: name.clone(), roles: bindings.clone(), must_change_password: user.must_change_password != 0 })
}

/// The caller's live sessions (idle ones past `idle_ms` are over), and the id of the one in use.
pub async fn sessions(ctx: Ctx<'_>, caller: &Caller, idle_ms: i64) -> Result<(Vec<Session>, String), ServiceError> {
    let Principal::User { id, session_id, .. } = &caller.principal else { return Err(signed_in_only(caller)) };
    let mut conn = ctx.db.acquire().await?;
    Ok((store::sessions::of_user(&mut conn, id, ctx.now(), idle_ms).await?, session_id.clone()))
}

/// Ends one of the caller's sessions.
pub async fn end_session(ctx: Ctx<'_>, caller: &Caller, session: &str) -> Result<(), ServiceError> {
    let Principal::User { id, .. } = &caller.principal else { return Err(signed_in_only(caller)) };
    let now = ctx.now();
    let mut tx = ctx.db.begin().await?;
    if !store::sessions::end(&mut tx, id, session, now).await? {
        return Err(ServiceError::NotFound(format!("you have no live session {session}")));
    }
    store::audit::append(&mut tx, &caller.audit("session.ended", &format!("session:{session}")), now).await?;
    ctx.commit(tx).await.context("committing the ended session")?;
    Ok(())
}

/// Changes the caller's password (guessing the current one backs off like
/// signing in does, per `limits`) and ends their other sessions.
pub async fn change_password(
    ctx: Ctx<'_>,
    caller: &Caller,
    limits: &LoginLimits,
    current: String,
    new: String,
) -> Result<(), ServiceError> {
    let Principal::User { id, name, session_id, .. } = &caller.principal else { return Err(signed_in_only(caller)) };
    password::check_strength(&new).map_err(ServiceError::Invalid)?;
    if new == current {
        return Err(ServiceError::invalid("the new password must differ from the current one"));
    }
    let user = {
        let mut conn = ctx.db.acquire().await?;
        own_user(&mut conn, caller).await?
    };
    let now = ctx.now();
    limits.admit(name, caller.ip, now)?;
    let stored = user.password_hash;
    let hash = password::bounded(move || password::verify(&current, &stored).then(|| password::hash(&new)).transpose())
        .await?
        .context("hashing the new password")?;
    let Some(hash) = hash else {
        limits.failed(name, caller.ip, now);
        let mut tx = ctx.db.begin().await?;
        store::audit::append(&mut tx, &caller.audit("password.change_refused", &format!("user:{name}")), now).await?;
        ctx.commit(tx).await.context("recording the refused change")?;
        return Err(ServiceError::Forbidden("the current password is wrong".into()));
    };
    limits.succeeded(name, caller.ip);
    let mut tx = ctx.db.begin().await?;
    store::users::set_password(&mut tx, id, &hash, now).await?;
    let ended = store::sessions::end_all(&mut tx, id, Some(session_id), now).await?;
    let entry = caller
        .audit("password.changed", &format!("user:{name}"))
        .change(&serde_json::Value::Null, &json!({ "other_sessions_ended": ended }));
    store::audit::append(&mut tx, &entry, now).await?;
    ctx.commit(tx).await.context("committing the new password")?;
    Ok(())
}

/// The caller's own user row (gone if an admin deleted and recreated the name).
async fn own_user(conn: &mut store::Conn, caller: &Caller) -> Result<User, ServiceError> {
    let Principal::User { id, name, .. } = &caller.principal else { return Err(signed_in_only(caller)) };
    Ok(store::users::by_name(conn, name).await?.filter(|user| &user.id == id).ok_or(store::DbError::NotFound)?)
}

/// Why a caller without an account of their own is refused.
pub fn signed_in_only(caller: &Caller) -> ServiceError {
    match caller.principal {
        Principal::Anonymous => ServiceError::Unauthenticated("sign in first".into()),
        _ => ServiceError::Forbidden("this is about a person's own account; API tokens have none".into()),
    }
}
