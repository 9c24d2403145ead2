//! Break-glass: a release manager asks to let a domain's trains through a
//! freeze for a while; two different approvers (neither the requester) must
//! agree within four hours. Every step is audited.

use anyhow::Context;
use railyard_domain::time::Instant;
use serde_json::json;

use super::{Ctx, ServiceError};
use crate::auth::{Caller, Permission};
use crate::store::{self, approvals::BreakGlass, Conn};

/// Longest window a break-glass may open.
const MAX_DURATION_MS: i64 = 24 * 3_600_000;

/// How long a request waits for its two approvals before it lapses and must be asked again.
pub const PENDING_FOR_MS: i64 = 4 * 60 * 60_000;

/// Where a request stands at `now`: `pending` (0 or 1 approvals), `lapsed`
/// (not granted within [`PENDING_FOR_MS`]), `granted`, `expired` or `rejected`.
pub fn status(request: &BreakGlass, now: Instant) -> &'static str {
    match (request.active_window(), request.rejected_at) {
        (_, Some(_)) => "rejected",
        (Some((_, until)), None) if until > now => "granted",
        (Some(_), None) => "expired",
        (None, None) if now >= request.requested_at + PENDING_FOR_MS => "lapsed",
        (None, None) => "pending",
    }
}

/// The requests of the domains `caller` may read, newest first.
pub async fn list(ctx: Ctx<'_>, caller: &Caller) -> Result<Vec<BreakGlass>, ServiceError> {
    caller.principal.require_somewhere(Permission::Read)?;
    let mut conn = ctx.db.acquire().await?;
    let requests = store::approvals::break_glasses(&mut conn).await?;
    // A domain-limited token sees its own domains' requests only.
    Ok(requests.into_iter().filter(|b| caller.principal.can(Permission::Read, Some(&b.domain))).collect())
}

/// Files `caller`'s request to pass `domain`'s freezes for `duration` (like `4h`, at most a day).
pub async fn request(
    ctx: Ctx<'_>,
    caller: &Caller,
    domain: &str,
    reason: &str,
    duration: &str,
) -> Result<BreakGlass, ServiceError> {
    caller.principal.require_somewhere(Permission::Operate)?;
    let mut tx = ctx.db.begin().await?;
    let domain = store::domains::by_name(&mut tx, domain)
        .await?
        .ok_or_else(|| ServiceError::invalid(format!("unknown domain \"{domain}\"")))?;
    caller.principal.require(Permission::Operate, Some(&domain.name))?;
    if reason.trim().len() < 10 {
        return Err(ServiceError::invalid("say why the freeze must be broken (at least 10 characters)"));
    }
    let parsed = humantime::parse_duration(duration)
        .map_err(|_| ServiceError::invalid(format!("`duration` must be like \"4h\", got \"{duration}\"")))?;
    let duration_ms = i64::try_from(parsed.as_millis()).unwrap_or(i64::MAX);
    if duration_ms <= 0 || duration_ms > MAX_DURATION_MS {
        return Err(ServiceError::invalid("a break-glass lasts at most 24h"));
    }
    let now = ctx.now();
    let row = BreakGlass {
        id: store::new_id(),
        domain_id: domain.id,
        domain: domain.name,
        requested_by: caller.principal.user_name().unwrap_or_default().to_owned(),
        reason: reason.trim().to_owned(),
        requested_at: now,
        duration_ms,
        first_approver: None,
        first_approved_at: None,
        second_approver: None,
        second_approved_at: None,
        rejected_by: None,
        rejected_at: None,
    };
    store::approvals::request_break_glass(&mut tx, &row).await?;
    let entry = caller.audit("break_glass.requested", &format!("break_glass:{}", row.id)).change(
        &serde_json::Value::Null,
        &json!({ "domain": row.domain, "reason": row.reason, "duration_ms": duration_ms }),
    );
    store::audit::append(&mut tx, &entry, now).await?;
    ctx.commit(tx).await.context("committing the break-glass request")?;
    Ok(row)
}

/// Adds `caller`'s approval (one of the two).
pub async fn approve(ctx: Ctx<'_>, caller: &Caller, id: &str, comment: &str) -> Result<BreakGlass, ServiceError> {
    let mut tx = ctx.db.begin().await?;
    let found = authorized(&mut tx, caller, id).await?;
    let name = caller.principal.user_name().unwrap_or_default().to_owned();
    if found.requested_by == name {
        return Err(ServiceError::Forbidden("you asked for this break-glass; two other people must approve it".into()));
    }
    if found.first_approver.as_deref() == Some(name.as_str()) {
        return Err(ServiceError::Forbidden(format!(
            "{name} already approved; a second, different approver is needed"
        )));
    }
    let now = ctx.now();
    if status(&found, now) == "lapsed" {
        return Err(ServiceError::Conflict(
            "this break-glass lapsed: nobody granted it within 4 hours; the release manager must ask again".into(),
        ));
    }
    if !store::approvals::approve_break_glass(&mut tx, id, &name, now).await? {
        return Err(ServiceError::Conflict("this break-glass is already granted or rejected".into()));
    }
    decided(&mut tx, caller, "break_glass.approved", id, comment, now).await?;
    let updated = store::approvals::break_glass(&mut tx, id).await?.ok_or(store::DbError::NotFound)?;
    ctx.commit(tx).await.context("committing the approval")?;
    Ok(updated)
}

/// Rejects the request (a rejection says why).
pub async fn reject(ctx: Ctx<'_>, caller: &Caller, id: &str, comment: &str) -> Result<BreakGlass, ServiceError> {
    let mut tx = ctx.db.begin().await?;
    authorized(&mut tx, caller, id).await?;
    if comment.trim().is_empty() {
        return Err(ServiceError::invalid("a rejection needs a comment saying why"));
    }
    let now = ctx.now();
    let name = caller.principal.user_name().unwrap_or_default().to_owned();
    if !store::approvals::reject_break_glass(&mut tx, id, &name, now).await? {
        return Err(ServiceError::Conflict("this break-glass is already granted or rejected".into()));
    }
    decided(&mut tx, caller, "break_glass.rejected", id, comment, now).await?;
    let updated = store::approvals::break_glass(&mut tx, id).await?.ok_or(store::DbError::NotFound)?;
    ctx.commit(tx).await.context("committing the rejection")?;
    Ok(updated)
}

/// Audits a decision.
async fn decided(
    conn: &mut Conn,
    caller: &Caller,
    action: &str,
    id: &str,
    comment: &str,
    now: Instant,
) -> Result<(), ServiceError> {
    let entry = caller
        .audit(action, &format!("break_glass:{id}"))
        .change(&serde_json::Value::Null, &json!({ "comment": comment }));
    store::audit::append(conn, &entry, now).await?;
    Ok(())
}

/// The request `id`, once the caller is known to approve in its domain.
async fn authorized(conn: &mut Conn, caller: &Caller, id: &str) -> Result<BreakGlass, ServiceError> {
    caller.principal.require_somewhere(Permission::Approve)?;
    let found = store::approvals::break_glass(conn, id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("no break-glass request {id}")))?;
    caller.principal.require(Permission::Approve, Some(&found.domain))?;
    Ok(found)
}
