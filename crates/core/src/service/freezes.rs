//! Declaring a freeze from the console or over the API, with its impact
//! preview: before confirming, a release manager sees the trains and
//! cutovers the freeze would suspend or move. The entry is a `[[freeze]]`
//! of the trains-as-code format, validated the same way.

use anyhow::Context;
use railyard_domain::time::Instant;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Ctx, ServiceError};
use crate::auth::{Caller, Permission};
use crate::cadence::freeze_effect;
use crate::fleet::{parse_freeze, stored_freeze, FreezeEntry};
use crate::store::{self, freezes::Freeze};

/// How far ahead a preview looks at a recurring freeze's windows.
const PREVIEW_AHEAD_MS: i64 = 365 * 86_400_000;
/// Trains are looked for from this long before a window (a cutover window may reach into it).
const CUTOVER_REACH_MS: i64 = 7 * 86_400_000;

/// One window of the freeze.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WindowJson {
    pub start: String,
    pub end: String,
}

/// What the freeze would do to one train.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FreezeImpact {
    pub train_id: String,
    pub definition: String,
    pub domain: String,
    pub state: String,
    pub cutover_at: String,
    /// `suspended` (in flight, or cutting over when the freeze begins: no further production step
    /// until it ends) or `moved` (the cutover waits until the freeze ends).
    pub effect: String,
    /// When the train may go on.
    pub until: String,
}

/// The freeze as it would be (or was) stored, with its impact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FreezePreview {
    pub freeze: FreezeEntry,
    pub windows: Vec<WindowJson>,
    pub impacts: Vec<FreezeImpact>,
}

/// What declaring `entry` would do; nothing is stored.
pub async fn preview(ctx: Ctx<'_>, caller: &Caller, entry: FreezeEntry) -> Result<FreezePreview, ServiceError> {
    caller.principal.require_somewhere(Permission::Operate)?;
    let mut conn = ctx.db.acquire().await?;
    let freeze = validated(&mut conn, caller, &entry).await?;
    impact(&mut conn, entry, &freeze, ctx.now()).await
}

/// Declares the freeze (audited); answers with what it holds.
pub async fn declare(ctx: Ctx<'_>, caller: &Caller, entry: FreezeEntry) -> Result<FreezePreview, ServiceError> {
    caller.principal.require_somewhere(Permission::Operate)?;
    let now = ctx.now();
    let mut tx = ctx.db.begin().await?;
    let freeze = validated(&mut tx, caller, &entry).await?;
    if store::freezes::by_name(&mut tx, &freeze.name).await?.is_some() {
        return Err(ServiceError::Conflict(format!(
            "a freeze called \"{}\" exists already; pick another name",
            freeze.name
        )));
    }
    let freeze = Freeze { id: store::new_id(), ..freeze };
    store::freezes::insert(&mut tx, &freeze, now).await?;
    let audit = caller.audit("freeze.declared", &format!("freeze:{}", freeze.name));
    store::audit::append(&mut tx, &audit.change(&serde_json::Value::Null, &json!(entry)), now).await?;
    let preview = impact(&mut tx, entry, &freeze, now).await?;
    ctx.commit(tx).await.context("committing the freeze")?;
    Ok(preview)
}

/// Checks the entry like a `[[freeze]]` of a file and that `caller` may freeze its domain
/// (every domain needs a release manager of every domain).
async fn validated(conn: &mut store::Conn, caller: &Caller, entry: &FreezeEntry) -> Result<Freeze, ServiceError> {
    caller.principal.require(Permission::Operate, entry.domain.as_deref())?;
    let spec = parse_freeze("freeze", entry.clone()).map_err(|problems| {
        let messages: Vec<String> = problems.iter().map(ToString::to_string).collect();
        ServiceError::invalid(messages.join("; "))
    })?;
    let domain_id = match &spec.domain {
        None => None,
        Some(name) => Some(
            store::domains::list(conn)
                .await?
                .into_iter()
                .find(|d| &d.name == name)
                .map(|d| d.id)
                .ok_or_else(|| ServiceError::Unprocessable(format!("no domain is called \"{name}\"")))?,
        ),
    };
    Ok(stored_freeze(&spec, domain_id))
}

/// The freeze's windows in the coming year and the unfinished trains whose cutover window meets one.
async fn impact(
    conn: &mut store::Conn,
    entry: FreezeEntry,
    freeze: &Freeze,
    now: Instant,
) -> Result<FreezePreview, ServiceError> {
    let windows = freeze.windows(now, now + PREVIEW_AHEAD_MS);
    let mut impacts = Vec::new();
    if let (Some(first), Some(last)) = (windows.first(), windows.last()) {
        let trains = store::trains::cutting_over_between(
            conn,
            first.start - CUTOVER_REACH_MS,
            last.end,
            entry.domain.as_deref(),
        )
        .await?;
        for train in trains {
            if !train.state.freezable() {
                continue;
            }
            let rolling_out = train.state.rolling_out();
            let Some((effect, window)) =
                freeze_effect(&windows, train.cutover_at, train.cutover_closes_at, rolling_out)
            else {
                continue;
            };
            impacts.push(FreezeImpact {
                cutover_at: train.cutover_at.rfc3339(),
                train_id: train.id.into(),
                definition: train.definition,
                domain: train.domain,
                state: train.state.to_string(),
                effect: effect.as_str().to_owned(),
                until: window.end.rfc3339(),
            });
        }
    }
    let windows = windows.iter().map(|w| WindowJson { start: w.start.rfc3339(), end: w.end.rfc3339() }).collect();
    Ok(FreezePreview { freeze: entry, windows, impacts })
}
