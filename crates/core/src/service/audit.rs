//! Reading the audit log and checking its hash chain. Admins only.

use super::{Ctx, ServiceError};
use crate::audit::{log, Record, Verification};
use crate::auth::{Caller, Permission};
use crate::store;

/// Most records one read returns.
pub const MAX_LIMIT: i64 = 1_000;

/// The newest `limit` records, newest first.
pub async fn latest(ctx: Ctx<'_>, caller: &Caller, limit: i64) -> Result<Vec<Record>, ServiceError> {
    caller.principal.require(Permission::Administer, None)?;
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ServiceError::invalid(format!("`limit` must be between 1 and {MAX_LIMIT}")));
    }
    let mut conn = ctx.db.acquire().await?;
    Ok(store::audit::latest(&mut conn, limit).await?)
}

/// How many records there are and the chain's head.
pub async fn head(ctx: Ctx<'_>, caller: &Caller) -> Result<(i64, String), ServiceError> {
    caller.principal.require(Permission::Administer, None)?;
    let mut conn = ctx.db.acquire().await?;
    Ok(store::audit::head(&mut conn).await?)
}

/// Recomputes the whole chain (and, with `key`, checks the signed checkpoints).
pub async fn verify(ctx: Ctx<'_>, caller: &Caller, key: Option<&[u8]>) -> Result<Verification, ServiceError> {
    caller.principal.require(Permission::Administer, None)?;
    Ok(log::verify_store(ctx.db, None, key).await?)
}
