//! Who is asking: the principal behind an API token, a session cookie or an
//! embed link. The HTTP edge reads them from the request and calls these.

use super::{Ctx, ServiceError};
use crate::auth::embed::{self, Claims, EmbedError};
use crate::auth::{secret, Principal, Scope};
use crate::store;

/// A token's or a session's last-used time is written at most this often.
const TOUCH_EVERY_MS: i64 = 60_000;

fn unknown_token() -> ServiceError {
    ServiceError::Unauthenticated("the API token is unknown, revoked or expired".into())
}

/// The caller behind API token `token`, from the read cache while nothing has
/// changed (a revocation on this replica applies to the next request; one on
/// another replica within [`crate::read_cache::TTL`]); expiry is checked every time.
pub async fn token(ctx: Ctx<'_>, token: &str) -> Result<Principal, ServiceError> {
    let digest = secret::digest(token);
    let now = ctx.now();
    let load = || async {
        let mut conn = ctx.db.acquire().await?;
        let Some(row) = store::tokens::live(&mut conn, &digest, now).await? else { return Err(unknown_token()) };
        if row.last_used_at.is_none_or(|used| now - used >= TOUCH_EVERY_MS) {
            store::tokens::touch(&mut conn, &row.id, now).await?;
        }
        let principal = Principal::Token {
            scopes: row.scopes.split_whitespace().filter_map(|scope| Scope::parse(scope).ok()).collect(),
            domains: row.domains.split_whitespace().map(str::to_owned).collect(),
            id: row.id,
            name: row.name,
        };
        Ok((principal, row.expires_at))
    };
    let cached = ctx.caches.tokens.get(digest.clone(), now, load).await.map_err(ServiceError::shared)?;
    let (principal, expires_at) = &*cached;
    if expires_at.is_some_and(|at| at <= now) {
        return Err(unknown_token());
    }
    Ok(principal.clone())
}

/// The person behind session cookie `cookie` (anonymous when the session is
/// over or unknown). Roles are read every time, so a change applies at once.
pub async fn session(ctx: Ctx<'_>, cookie: &str, idle_ms: i64) -> Result<Principal, ServiceError> {
    let now = ctx.now();
    let mut conn = ctx.db.acquire().await?;
    let Some(session) = store::sessions::live(&mut conn, &secret::digest(cookie), now, idle_ms).await? else {
        return Ok(Principal::Anonymous);
    };
    if now - session.last_seen_at >= TOUCH_EVERY_MS.min(idle_ms / 2) {
        store::sessions::touch(&mut conn, &session.id, now).await?;
    }
    let bindings = store::users::bindings(&mut conn, &session.user_id).await?;
    Ok(Principal::User {
        id: session.user_id,
        name: session.user_name,
        session_id: session.id,
        bindings,
        must_change_password: session.must_change_password != 0,
    })
}

/// The grant of embed link `token` for `panel`: signed with `key`, not expired,
/// not revoked, and for an origin still allowed to embed.
pub async fn embed_link(ctx: Ctx<'_>, key: &[u8], token: &str, panel: &str) -> Result<Claims, ServiceError> {
    let claims = embed::verify(token, key, panel, ctx.now()).map_err(|error| match error {
        EmbedError::WrongPanel(_) => ServiceError::Forbidden(error.to_string()),
        EmbedError::Invalid | EmbedError::Expired => ServiceError::Unauthenticated(error.to_string()),
    })?;
    let mut conn = ctx.db.acquire().await?;
    let stored = store::embed_links::by_id(&mut conn, &claims.jti).await?;
    if stored.is_none_or(|link| link.revoked_at.is_some()) {
        return Err(ServiceError::Unauthenticated("the embed link was revoked; ask for a new one".into()));
    }
    if !store::secrets::embed_origins(&mut conn).await?.contains(&claims.aud) {
        return Err(ServiceError::Forbidden(format!(
            "{} is no longer allowed to embed Railyard panels; an admin can add it back",
            claims.aud
        )));
    }
    Ok(claims)
}
