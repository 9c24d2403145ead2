//! API tokens for CI and other systems: created with scopes, an optional
//! domain limit and expiry, listed without their secrets, revoked at once.
//! Admins only; every change is audited.

use crate::time::Instant;
use anyhow::Context;
use serde_json::json;

use super::{Ctx, ServiceError};
use crate::auth::{secret, Caller, Permission, Scope};
use crate::store::{self, tokens::ApiToken};

/// Prefix of every token, so secret scanners can recognise leaked ones.
const PREFIX: &str = "ryd_";

/// What a new token is for.
pub struct NewToken<'a> {
    pub name: &'a str,
    pub scopes: &'a [String],
    /// Domain names it is limited to (none: every domain).
    pub domains: &'a [String],
    /// A duration like `90d`; `None` for a token that does not expire.
    pub expires_in: Option<&'a str>,
}

/// Every token, never with its secret.
pub async fn list(ctx: Ctx<'_>, caller: &Caller) -> Result<Vec<ApiToken>, ServiceError> {
    caller.principal.require(Permission::Administer, None)?;
    let mut conn = ctx.db.acquire().await?;
    Ok(store::tokens::list(&mut conn).await?)
}

/// Creates a token; answers with its row and its secret, shown this once.
pub async fn create(ctx: Ctx<'_>, caller: &Caller, request: NewToken<'_>) -> Result<(ApiToken, String), ServiceError> {
    caller.principal.require(Permission::Administer, None)?;
    let name = request.name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(ServiceError::invalid("a token needs a name of 1–100 characters, e.g. \"ci-payments\""));
    }
    if request.scopes.is_empty() {
        return Err(ServiceError::invalid(
            "a token needs at least one scope: read, artifacts:write, checks:write or incidents:write",
        ));
    }
    let mut scopes = Vec::new();
    for scope in request.scopes {
        let scope = Scope::parse(scope.trim()).map_err(ServiceError::Invalid)?;
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    let now = ctx.now();
    let expires_at = match request.expires_in {
        None => None,
        Some(text) => {
            let lifetime = humantime::parse_duration(text).map_err(|_| {
                ServiceError::invalid(format!("`expires_in` must be a duration like \"90d\", got \"{text}\""))
            })?;
            Some(now + i64::try_from(lifetime.as_millis()).unwrap_or(i64::MAX / 2))
        }
    };
    let mut tx = ctx.db.begin().await?;
    for domain in request.domains {
        if store::domains::by_name(&mut tx, domain).await?.is_none() {
            return Err(ServiceError::invalid(format!("unknown domain \"{domain}\"")));
        }
    }
    let secret = format!("{PREFIX}{}", secret::random_token(32));
    let row = ApiToken {
        id: store::new_id(),
        name: name.to_owned(),
        scopes: scopes.iter().map(|scope| scope.as_str()).collect::<Vec<_>>().join(" "),
        domains: request.domains.join(" "),
        created_by: caller.principal.actor(),
        created_at: now,
        expires_at,
        revoked_at: None,
        last_used_at: None,
    };
    store::tokens::insert(&mut tx, &row, &secret::digest(&secret)).await?;
    let entry = caller.audit("token.created", &format!("token:{}", row.id)).change(
        &serde_json::Value::Null,
        &json!({
            "name": row.name,
            "scopes": row.scopes.split_whitespace().collect::<Vec<_>>(),
            "domains": row.domains.split_whitespace().collect::<Vec<_>>(),
            "expires_at": row.expires_at.map(Instant::rfc3339),
        }),
    );
    store::audit::append(&mut tx, &entry, now).await?;
    ctx.commit(tx).await.context("committing the new token")?;
    Ok((row, secret))
}

/// Revokes token `id` at once.
pub async fn revoke(ctx: Ctx<'_>, caller: &Caller, id: &str) -> Result<(), ServiceError> {
    caller.principal.require(Permission::Administer, None)?;
    let now = ctx.now();
    let mut tx = ctx.db.begin().await?;
    let Some(token) = store::tokens::by_id(&mut tx, id).await? else {
        return Err(ServiceError::NotFound(format!("no token {id}")));
    };
    if !store::tokens::revoke(&mut tx, id, now).await? {
        return Err(ServiceError::Conflict(format!("token {} was already revoked", token.name)));
    }
    let entry = caller
        .audit("token.revoked", &format!("token:{id}"))
        .change(&json!({ "name": token.name }), &json!({ "revoked": true }));
    store::audit::append(&mut tx, &entry, now).await?;
    ctx.commit(tx).await.context("committing the revocation")?;
    Ok(())
}
