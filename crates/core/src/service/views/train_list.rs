//! Trains cutting over in a span of time, as a reader may list them.

use crate::auth::{Caller, Permission};
use crate::service::{Ctx, ServiceError};
use crate::store::{self, trains::TrainListing};
use railyard_domain::time::Instant;

/// Whom a listing is for: anyone who may read every domain sees the same list
/// (and it may be cached); a domain-limited token sees its own domains' trains.
pub enum Audience {
    Everyone,
    Domains(Vec<String>),
}

/// Who `caller` lists trains as, for `domain` (a name) or all.
pub fn audience(caller: &Caller, domain: Option<&str>) -> Result<Audience, ServiceError> {
    caller.require_somewhere(Permission::Read)?;
    Ok(match caller.principal.limited_to() {
        Some(limits) => {
            if let Some(asked) = domain {
                caller.require(Permission::Read, Some(asked))?;
            }
            Audience::Domains(limits.to_vec())
        }
        None => Audience::Everyone,
    })
}

/// The trains cutting over in `[from, to)` of `domain` (or every domain) that `audience` may see.
pub async fn between(
    ctx: Ctx<'_>,
    audience: &Audience,
    from: Instant,
    to: Instant,
    domain: Option<&str>,
) -> Result<Vec<TrainListing>, ServiceError> {
    let mut conn = ctx.db.acquire().await?;
    let trains = store::trains::cutting_over_between(&mut conn, from, to, domain).await?;
    Ok(match audience {
        Audience::Everyone => trains,
        Audience::Domains(limits) => trains.into_iter().filter(|t| limits.contains(&t.domain)).collect(),
    })
}
