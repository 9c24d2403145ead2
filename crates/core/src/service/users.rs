//! People: creating them, their roles and author identities, disabling
//! them and resetting their passwords. Admins only; every change is audited
//! with the state before and after, in the transaction that makes it.

use anyhow::Context;
use serde_json::json;

use super::{Ctx, ServiceError};
use crate::auth::{password, Binding, Caller, Permission, Role};
use crate::store::sso::SsoLink;
use crate::store::users::{BindingSource, User};
use crate::store::{self, Conn};

/// Most author identities one person may hold.
pub const MAX_IDENTITIES: usize = 20;

/// A user with their roles and the identities linked to them.
pub struct UserRecord {
    pub user: User,
    /// The roles an admin gave them by hand.
    pub roles: Vec<Binding>,
    /// The roles their last single sign-on granted (through `[[role_mapping]]`).
    pub sso_roles: Vec<Binding>,
    /// The names they author builds under (e-mail, VCS logins), set by an admin.
    pub identities: Vec<String>,
    /// Who the identity provider says they are.
    pub sso: Vec<SsoLink>,
}

/// Every user, by name.
pub async fn list(ctx: Ctx<'_>, caller: &Caller) -> Result<Vec<UserRecord>, ServiceError> {
    caller.principal.require(Permission::Administer, None)?;
    let mut conn = ctx.db.acquire().await?;
    let mut records = Vec::new();
    for user in store::users::list(&mut conn).await? {
        records.push(record(&mut conn, user).await?);
    }
    Ok(records)
}

/// `user` with their roles and linked identities.
pub async fn record(conn: &mut Conn, user: User) -> Result<UserRecord, ServiceError> {
    Ok(UserRecord {
        roles: store::users::bindings_from(conn, &user.id, BindingSource::Manual).await?,
        sso_roles: store::users::bindings_from(conn, &user.id, BindingSource::Sso).await?,
        identities: store::users::identities(conn, &user.id).await?,
        sso: store::sso::links(conn, &user.id).await?,
        user,
    })
}

/// Ends every session of `name` at once: whatever their roles were, they
/// sign in again, and a single sign-on recomputes them.
pub async fn end_sessions(ctx: Ctx<'_>, caller: &Caller, name: &str) -> Result<u64, ServiceError> {
    caller.principal.require(Permission::Administer, None)?;
    let now = ctx.now();
    let mut tx = ctx.db.begin().await?;
    let user = existing(&mut tx, name).await?;
    let ended = store::sessions::end_all(&mut tx, &user.id, None, now).await?;
    let entry = caller
        .audit("user.sessions_ended", &format!("user:{}", user.name))
        .change(&serde_json::Value::Null, &json!({ "sessions_ended": ended }));
    store::audit::append(&mut tx, &entry, now).await?;
    ctx.commit(tx).await.context("committing the ended sessions")?;
    Ok(ended)
}

/// Creates `name` with `initial_password`, which they must change at first sign-in.
pub async fn create(
    ctx: Ctx<'_>,
    caller: &Caller,
    name: &str,
    initial_password: String,
    roles: &[Binding],
) -> Result<UserRecord, ServiceError> {
    caller.principal.require(Permission::Administer, None)?;
    let name = parse_name(name)?;
    password::check_strength(&initial_password).map_err(ServiceError::Invalid)?;
    let hash = hash_password(initial_password).await?;
    let now = ctx.now();
    let mut tx = ctx.db.begin().await?;
    if store::users::by_name(&mut tx, &name).await?.is_some() {
        return Err(ServiceError::Conflict(format!("a user called \"{name}\" already exists")));
    }
    let bindings = resolve(&mut tx, roles).await?;
    let user = User {
        id: store::new_id(),
        name: name.clone(),
        password_hash: hash,
        disabled: 0,
        must_change_password: 1,
        created_at: now,
    };
    store::users::insert(&mut tx, &user, now).await?;
    store::users::replace_bindings(&mut tx, &user.id, &bindings, now).await?;
    let roles = store::users::bindings(&mut tx, &user.id).await?;
    let entry = caller
        .audit("user.created", &format!("user:{name}"))
        .change(&serde_json::Value::Null, &json!({ "roles": roles }));
    store::audit::append(&mut tx, &entry, now).await?;
    let record = record(&mut tx, user).await?;
    ctx.commit(tx).await.context("committing the new user")?;
    Ok(record)
}

/// Replaces `name`'s roles; in force from their next request.
pub async fn set_roles(
    ctx: Ctx<'_>,
    caller: &Caller,
    name: &str,
    roles: &[Binding],
) -> Result<UserRecord, ServiceError> {
    caller.principal.require(Permission::Administer, None)?;
    let now = ctx.now();
    let mut tx = ctx.db.begin().await?;
    let user = existing(&mut tx, name).await?;
    let bindings = resolve(&mut tx, roles).await?;
    let before = store::users::bindings_from(&mut tx, &user.id, BindingSource::Manual).await?;
    if caller.principal.user_name() == Some(user.name.as_str())
        && !roles.iter().any(|binding| binding.role == Role::Admin && binding.domain.is_none())
    {
        return Err(ServiceError::Conflict("you cannot remove your own admin role; ask another admin".into()));
    }
    store::users::replace_bindings(&mut tx, &user.id, &bindings, now).await?;
    let after = store::users::bindings_from(&mut tx, &user.id, BindingSource::Manual).await?;
    let entry = caller
        .audit("user.roles_changed", &format!("user:{}", user.name))
        .change(&json!({ "roles": before }), &json!({ "roles": after }));
    store::audit::append(&mut tx, &entry, now).await?;
    let record = record(&mut tx, user).await?;
    ctx.commit(tx).await.context("committing the new roles")?;
    Ok(record)
}

/// Disables `name` (ending all their sessions) or enables them again.
pub async fn set_disabled(
    ctx: Ctx<'_>,
    caller: &Caller,
    name: &str,
    disabled: bool,
) -> Result<UserRecord, ServiceError> {
    caller.principal.require(Permission::Administer, None)?;
    let now = ctx.now();
    let mut tx = ctx.db.begin().await?;
    let mut user = existing(&mut tx, name).await?;
    if disabled && caller.principal.user_name() == Some(user.name.as_str()) {
        return Err(ServiceError::Conflict("you cannot disable yourself".into()));
    }
    store::users::set_disabled(&mut tx, &user.id, disabled, now).await?;
    let ended = if disabled { store::sessions::end_all(&mut tx, &user.id, None, now).await? } else { 0 };
    let action = if disabled { "user.disabled" } else { "user.enabled" };
    let entry = caller
        .audit(action, &format!("user:{}", user.name))
        .change(&json!({ "disabled": user.disabled != 0 }), &json!({ "disabled": disabled, "sessions_ended": ended }));
    store::audit::append(&mut tx, &entry, now).await?;
    user.disabled = i64::from(disabled);
    let record = record(&mut tx, user).await?;
    ctx.commit(tx).await.context("committing the disabling")?;
    Ok(record)
}

/// Sets a password `name` must change at next sign-in, and ends their sessions.
pub async fn reset_password(ctx: Ctx<'_>, caller: &Caller, name: &str, chosen: String) -> Result<(), ServiceError> {
    caller.principal.require(Permission::Administer, None)?;
    password::check_strength(&chosen).map_err(ServiceError::Invalid)?;
    let hash = hash_password(chosen).await?;
    let now = ctx.now();
    let mut tx = ctx.db.begin().await?;
    let user = existing(&mut tx, name).await?;
    store::users::set_password(&mut tx, &user.id, &hash, now).await?;
    store::users::require_password_change(&mut tx, &user.id).await?;
    let ended = store::sessions::end_all(&mut tx, &user.id, None, now).await?;
    let entry = caller
        .audit("user.password_reset", &format!("user:{}", user.name))
        .change(&serde_json::Value::Null, &json!({ "sessions_ended": ended }));
    store::audit::append(&mut tx, &entry, now).await?;
    ctx.commit(tx).await.context("committing the password reset")?;
    Ok(())
}

/// Replaces the names `name` authors builds under; one identity belongs to one person.
pub async fn set_identities(
    ctx: Ctx<'_>,
    caller: &Caller,
    name: &str,
    identities: &[String],
) -> Result<UserRecord, ServiceError> {
    caller.principal.require(Permission::Administer, None)?;
    let wanted = parse_identities(identities)?;
    let now = ctx.now();
    let mut tx = ctx.db.begin().await?;
    let user = existing(&mut tx, name).await?;
    for identity in &wanted {
        if let Some(holder) = store::users::identity_holder(&mut tx, identity, &user.id).await? {
            return Err(ServiceError::Conflict(format!(
                "\"{identity}\" is already an identity of {holder}; one identity belongs to one person"
            )));
        }
    }
    let before = store::users::identities(&mut tx, &user.id).await?;
    store::users::replace_identities(&mut tx, &user.id, &wanted, now).await?;
    let entry = caller
        .audit("user.identities_changed", &format!("user:{}", user.name))
        .change(&json!({ "identities": before }), &json!({ "identities": wanted }));
    store::audit::append(&mut tx, &entry, now).await?;
    let record = record(&mut tx, user).await?;
    ctx.commit(tx).await.context("committing the identities")?;
    Ok(record)
}

/// Author identities, normalised (trimmed, lower case) and without repeats;
/// each 1–254 characters without spaces, at most [`MAX_IDENTITIES`].
fn parse_identities(given: &[String]) -> Result<Vec<String>, ServiceError> {
    if given.len() > MAX_IDENTITIES {
        return Err(ServiceError::invalid(format!("a person has at most {MAX_IDENTITIES} author identities")));
    }
    let mut identities: Vec<String> = Vec::new();
    for text in given {
        let identity = store::users::normal_identity(text);
        if identity.is_empty() || identity.len() > 254 || identity.chars().any(char::is_whitespace) {
            return Err(ServiceError::invalid(format!(
                "\"{}\" is not an author identity: an e-mail address or a login, 1–254 characters without spaces",
                text.trim()
            )));
        }
        if !identities.contains(&identity) {
            identities.push(identity);
        }
    }
    identities.sort();
    Ok(identities)
}

/// The argon2id hash of `chosen`, computed off the async threads (bounded: a crowd waits or hears 503).
pub async fn hash_password(chosen: String) -> Result<String, ServiceError> {
    Ok(password::bounded(move || password::hash(&chosen)).await?.context("hashing a password")?)
}

async fn existing(conn: &mut Conn, name: &str) -> Result<User, ServiceError> {
    store::users::by_name(conn, name).await?.ok_or_else(|| ServiceError::NotFound(format!("no user called \"{name}\"")))
}

/// Role bindings with domain names turned into ids; unknown domains and domain-bound admins are refused.
async fn resolve(conn: &mut Conn, bindings: &[Binding]) -> Result<Vec<(Role, Option<String>)>, ServiceError> {
    let mut resolved = Vec::new();
    for binding in bindings {
        let domain_id = match &binding.domain {
            None => None,
            Some(_) if binding.role == Role::Admin => {
                return Err(ServiceError::invalid("the admin role is global; it cannot be limited to a domain"))
            }
            Some(name) => Some(
                store::domains::by_name(conn, name)
                    .await?
                    .ok_or_else(|| ServiceError::invalid(format!("unknown domain \"{name}\"")))?
                    .id,
            ),
        };
        if !resolved.contains(&(binding.role, domain_id.clone())) {
            resolved.push((binding.role, domain_id));
        }
    }
    Ok(resolved)
}

/// Whether `name` is a possible user name: 1–64 characters of letters, digits, `.`, `-`, `_`, `@`.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'))
}

/// A user name: 1–64 characters of letters, digits, `.`, `-`, `_`, `@`.
fn parse_name(name: &str) -> Result<String, ServiceError> {
    let name = name.trim();
    if is_valid_name(name) {
        Ok(name.to_owned())
    } else {
        Err(ServiceError::invalid("a user name is 1–64 letters, digits, '.', '-', '_' or '@'"))
    }
}
