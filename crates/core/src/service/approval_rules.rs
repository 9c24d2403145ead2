//! How many approvals each domain's candidates need. Admins only; audited.

use anyhow::Context;
use serde_json::json;

use super::{Ctx, ServiceError};
use crate::auth::{Caller, Permission};
use crate::store;
use crate::time::Instant;

/// Most approvals a domain may require.
pub const MAX_REQUIRED: i64 = 10;

/// Every domain's name with the approvals its candidates need.
pub async fn list(ctx: Ctx<'_>, caller: &Caller) -> Result<Vec<(String, i64)>, ServiceError> {
    caller.principal.require(Permission::Administer, None)?;
    let mut conn = ctx.db.acquire().await?;
    let mut rules = Vec::new();
    for domain in store::domains::list(&mut conn).await? {
        let required = store::approvals::required(&mut conn, &domain.id).await?;
        rules.push((domain.name, required));
    }
    Ok(rules)
}

/// A domain's rule as the API publishes it.
pub struct Rule {
    pub domain: String,
    pub required_approvals: i64,
    pub updated_by: String,
    pub updated_at: Instant,
}

/// Every domain's rule with who changed it last, for any reader.
pub async fn rules(ctx: Ctx<'_>, caller: &Caller) -> Result<Vec<Rule>, ServiceError> {
    caller.require(Permission::Read, None)?;
    let mut conn = ctx.db.acquire().await?;
    let rules = store::approvals::rules(&mut conn).await?;
    Ok(rules
        .into_iter()
        .map(|(domain, required_approvals, updated_by, updated_at)| Rule {
            domain,
            required_approvals,
            updated_by,
            updated_at,
        })
        .collect())
}

/// Sets how many approvals `domain`'s candidates need; answers with when it changed.
pub async fn set(ctx: Ctx<'_>, caller: &Caller, domain: &str, required: i64) -> Result<Instant, ServiceError> {
    caller.principal.require(Permission::Administer, None)?;
    if !(1..=MAX_REQUIRED).contains(&required) {
        return Err(ServiceError::invalid(format!("`required_approvals` must be between 1 and {MAX_REQUIRED}")));
    }
    let now = ctx.now();
    let mut tx = ctx.db.begin().await?;
    let Some(found) = store::domains::by_name(&mut tx, domain).await? else {
        return Err(ServiceError::NotFound(format!("no domain called \"{domain}\"")));
    };
    let before = store::approvals::required(&mut tx, &found.id).await?;
    store::approvals::set_rule(&mut tx, &found.id, required, &caller.principal.actor(), now).await?;
    let entry = caller
        .audit("approval_rule.changed", &format!("domain:{domain}"))
        .change(&json!({ "required_approvals": before }), &json!({ "required_approvals": required }));
    store::audit::append(&mut tx, &entry, now).await?;
    ctx.commit(tx).await.context("committing the approval rule")?;
    Ok(now)
}
