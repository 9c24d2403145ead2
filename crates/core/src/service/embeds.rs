//! Embedding panels in internal wikis: the admin-managed allow-list of wiki
//! origins, and signed, expiring, revocable links for one panel each.
//! Every change is audited.

use railyard_domain::time::Instant;
use std::collections::BTreeMap;

use anyhow::Context;
use serde_json::json;

use super::{Ctx, ServiceError};
use crate::auth::embed::{self, Claims};
use crate::auth::{Caller, Permission};
use crate::store::{self, embed_links::EmbedLink};
use crate::time::rfc3339;

/// Longest an embed link may live.
const MAX_LIFETIME_MS: i64 = 366 * 24 * 3_600_000;
/// How long a link lives when the request does not say.
const DEFAULT_LIFETIME: &str = "90d";

/// The origins allowed to frame panels.
pub async fn origins(ctx: Ctx<'_>, caller: &Caller) -> Result<Vec<String>, ServiceError> {
    caller.principal.require(Permission::Administer, None)?;
    let mut conn = ctx.db.acquire().await?;
    Ok(store::secrets::embed_origins(&mut conn).await?)
}

/// Allows `origin` to frame panels; `false` when it already could.
pub async fn allow_origin(ctx: Ctx<'_>, caller: &Caller, origin: &str) -> Result<bool, ServiceError> {
    caller.principal.require(Permission::Administer, None)?;
    let origin = embed::parse_origin(origin).map_err(ServiceError::Invalid)?;
    let now = ctx.now();
    let mut tx = ctx.db.begin().await?;
    if !store::secrets::add_embed_origin(&mut tx, &origin, &caller.principal.actor(), now).await? {
        return Ok(false);
    }
    store::audit::append(&mut tx, &caller.audit("embed.origin_allowed", &format!("origin:{origin}")), now).await?;
    ctx.commit(tx).await.context("committing the allowed origin")?;
    Ok(true)
}

/// Stops `origin` framing panels; its links stop working.
pub async fn remove_origin(ctx: Ctx<'_>, caller: &Caller, origin: &str) -> Result<(), ServiceError> {
    caller.principal.require(Permission::Administer, None)?;
    let origin = embed::parse_origin(origin).map_err(ServiceError::Invalid)?;
    let now = ctx.now();
    let mut tx = ctx.db.begin().await?;
    if !store::secrets::remove_embed_origin(&mut tx, &origin).await? {
        return Err(ServiceError::NotFound(format!("{origin} is not on the allow-list")));
    }
    store::audit::append(&mut tx, &caller.audit("embed.origin_removed", &format!("origin:{origin}")), now).await?;
    ctx.commit(tx).await.context("committing the removed origin")?;
    Ok(())
}

/// The link asked for.
pub struct NewLink {
    pub panel: String,
    pub params: BTreeMap<String, String>,
    /// The wiki's origin; must be on the allow-list.
    pub audience: String,
    /// A duration like `30d`, at most 366 days; 90 days when `None`.
    pub expires_in: Option<String>,
}

/// A link just made.
pub struct CreatedLink {
    pub link: EmbedLink,
    /// Path and query to put in the iframe's `src` (after this server's address).
    pub path: String,
    pub token: String,
}

/// Signs a read-only link to one panel with `key`, and stores it so it can be listed and revoked.
pub async fn create_link(
    ctx: Ctx<'_>,
    caller: &Caller,
    key: &[u8],
    request: NewLink,
) -> Result<CreatedLink, ServiceError> {
    caller.principal.require(Permission::ShareEmbeds, None)?;
    let query = embed::panel_query(&request.panel, &request.params).map_err(ServiceError::Invalid)?;
    let audience = embed::parse_origin(&request.audience).map_err(ServiceError::Invalid)?;
    let expires_in = request.expires_in.as_deref().unwrap_or(DEFAULT_LIFETIME);
    let lifetime = humantime::parse_duration(expires_in).map_err(|_| {
        ServiceError::invalid(format!("`expires_in` must be a duration like \"30d\", got \"{expires_in}\""))
    })?;
    let lifetime = i64::try_from(lifetime.as_millis()).unwrap_or(i64::MAX);
    if lifetime > MAX_LIFETIME_MS {
        return Err(ServiceError::invalid("an embed link may live at most 366 days"));
    }
    let now = ctx.now();
    let mut tx = ctx.db.begin().await?;
    if !store::secrets::embed_origins(&mut tx).await?.contains(&audience) {
        return Err(ServiceError::invalid(format!(
            "{audience} is not on the embed allow-list; an admin must add it first"
        )));
    }
    let claims = Claims {
        panel: request.panel,
        params: request.params,
        aud: audience,
        exp: (now + lifetime).ms(),
        sub: caller.principal.actor(),
        jti: store::new_id(),
    };
    let token = embed::sign(&claims, key).context("signing the embed link")?;
    let link = EmbedLink {
        id: claims.jti.clone(),
        panel: claims.panel.clone(),
        params: serde_json::to_string(&claims.params).context("storing the link's parameters")?,
        audience: claims.aud.clone(),
        created_by: claims.sub.clone(),
        created_at: now,
        expires_at: Instant::from_ms(claims.exp),
        revoked_at: None,
        revoked_by: String::new(),
    };
    store::embed_links::insert(&mut tx, &link).await?;
    let entry = caller.audit("embed.link_created", &format!("embed_link:{}", link.id)).change(
        &serde_json::Value::Null,
        &json!({ "panel": claims.panel, "params": claims.params, "audience": claims.aud, "expires_at": rfc3339(claims.exp) }),
    );
    store::audit::append(&mut tx, &entry, now).await?;
    ctx.commit(tx).await.context("committing the embed link")?;
    let path = format!("/embed/{}?{query}token={token}", claims.panel);
    Ok(CreatedLink { link, path, token })
}

/// The links an admin (every link) or a release manager (their own) handed out, newest first.
pub async fn links(ctx: Ctx<'_>, caller: &Caller) -> Result<Vec<EmbedLink>, ServiceError> {
    caller.principal.require(Permission::ShareEmbeds, None)?;
    let mut conn = ctx.db.acquire().await?;
    let actor = caller.principal.actor();
    let creator = (!caller.principal.can(Permission::Administer, None)).then_some(actor.as_str());
    Ok(store::embed_links::list(&mut conn, creator).await?)
}

/// Revokes link `id` at once (admins any, others their own).
pub async fn revoke_link(ctx: Ctx<'_>, caller: &Caller, id: &str) -> Result<(), ServiceError> {
    caller.principal.require(Permission::ShareEmbeds, None)?;
    let now = ctx.now();
    let mut tx = ctx.db.begin().await?;
    let link = store::embed_links::by_id(&mut tx, id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("no embed link has id \"{id}\"")))?;
    let actor = caller.principal.actor();
    if link.created_by != actor && !caller.principal.can(Permission::Administer, None) {
        return Err(ServiceError::Forbidden(format!(
            "{} created this link; only they or an admin can revoke it",
            link.created_by
        )));
    }
    if !store::embed_links::revoke(&mut tx, id, &actor, now).await? {
        return Err(ServiceError::Conflict("this embed link is already revoked".into()));
    }
    let entry = caller
        .audit("embed.link_revoked", &format!("embed_link:{id}"))
        .change(&json!({ "panel": link.panel, "audience": link.audience }), &serde_json::Value::Null);
    store::audit::append(&mut tx, &entry, now).await?;
    ctx.commit(tx).await.context("committing the revocation")?;
    Ok(())
}

/// `active`, `expired` or `revoked`, as of `now`.
pub fn status(link: &EmbedLink, now: Instant) -> &'static str {
    match link.revoked_at {
        Some(_) => "revoked",
        None if link.expires_at <= now => "expired",
        None => "active",
    }
}
