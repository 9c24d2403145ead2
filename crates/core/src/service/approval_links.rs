//! Deciding from an approval link: the link names one candidate of one
//! train's approval request, is signed, single-use, and lapses with the
//! request; it grants nothing by itself. The person opening it must be
//! signed in, may approve in the candidate's domain and did not author the
//! build; the decision is the console's, audited as coming through the link.

use anyhow::Context;
use railyard_views::approval_link::{ApprovalLinkView, GateLine};

use super::approvals::{self, Decision, Summary};
use super::{Ctx, ServiceError};
use crate::artifacts::registration::Change;
use crate::auth::{approval_link, secret, Caller, Permission, Principal};
use crate::engine::TrainRun;
use crate::store::{self, approval_links::ApprovalLink, artifacts::Artifact, Conn};
use crate::time::Instant;

/// What the link's page shows.
pub async fn open(ctx: Ctx<'_>, caller: &Caller, token: &str) -> Result<ApprovalLinkView, ServiceError> {
    let mut conn = ctx.db.acquire().await?;
    let checked = check(&mut conn, caller, token, ctx.now()).await?;
    let summary = approvals::summary(&mut conn, &checked.artifact).await?;
    let train = store::trains::by_id(&mut conn, &checked.link.train_id).await?;
    let (name, zone) = train.map(|t| (t.definition, t.time_zone)).unwrap_or_default();
    Ok(view(checked, name, &zone, &summary))
}

/// Records the caller's decision through the link, which is used up by it.
pub async fn decide(
    ctx: Ctx<'_>,
    caller: &Caller,
    token: &str,
    decision: Decision,
    comment: &str,
) -> Result<Summary, ServiceError> {
    let now = ctx.now();
    let mut tx = ctx.db.begin().await?;
    let checked = check(&mut tx, caller, token, now).await?;
    let name = caller.principal.user_name().unwrap_or_default();
    if !store::approval_links::use_once(&mut tx, &checked.link.id, name, now).await? {
        return Err(ServiceError::Conflict("this approval link has been used already".into()));
    }
    let summary =
        approvals::record(&mut tx, caller, &checked.artifact, decision, comment, Some(&checked.link.id), now).await?;
    ctx.commit(tx).await.context("committing the decision")?;
    Ok(summary)
}

/// A link that checked out, with what it is about.
struct Checked {
    link: ApprovalLink,
    artifact: Artifact,
    domain: String,
    run: TrainRun,
}

/// The link `token` names, if it is genuine, unused, unexpired, its
/// request still open, and the caller may decide on its candidate.
async fn check(conn: &mut Conn, caller: &Caller, token: &str, now: Instant) -> Result<Checked, ServiceError> {
    if !matches!(caller.principal, Principal::User { .. }) {
        return Err(ServiceError::Unauthenticated("sign in as yourself to use this approval link".into()));
    }
    let not_valid =
        || ServiceError::NotFound("this approval link is not valid (altered, or not from this server)".into());
    let link = match approval_link::link_id(token) {
        Some(id) => store::approval_links::by_id(conn, id).await?,
        None => None,
    }
    .ok_or_else(not_valid)?;
    let key = store::secrets::key(conn, approval_link::KEY_NAME, &secret::random_token(32), now).await?;
    if !approval_link::verifies(key.as_bytes(), &link, token) {
        return Err(not_valid());
    }
    if let (Some(at), Some(by)) = (link.used_at, &link.used_by) {
        let at = at.rfc3339();
        return Err(ServiceError::Conflict(format!("this approval link was used already, by {by} at {at}")));
    }
    if link.expires_at <= now {
        let at = link.expires_at.rfc3339();
        return Err(ServiceError::Conflict(format!(
            "this approval link expired at {at} (with its request); ask for a new one or decide in the console"
        )));
    }
    let (artifact, domain) = approvals::candidate(conn, &link.artifact_id).await?;
    caller.principal.require(Permission::Approve, Some(&domain)).map_err(|_| {
        ServiceError::Forbidden(format!(
            "{} may not approve in {domain}; only its approvers can use this link",
            caller.principal.user_name().unwrap_or("this account")
        ))
    })?;
    if approvals::caller_is_author(conn, caller, &artifact.author).await? {
        return Err(approvals::authored(caller.principal.user_name().unwrap_or_default(), &artifact));
    }
    let run = store::runs::load(conn, &link.train_id).await?.map(|(run, _)| run);
    let waiting = run.as_ref().is_some_and(|run| run.awaits_approval(&link.artifact_id));
    match run {
        Some(run) if waiting => Ok(Checked { link, artifact, domain, run }),
        _ => Err(ServiceError::Conflict(
            "the train no longer waits for this approval (decided, expired or the train moved on)".into(),
        )),
    }
}

fn view(checked: Checked, train: String, zone: &str, summary: &Summary) -> ApprovalLinkView {
    let Checked { link, artifact, domain, run } = checked;
    let changes: Vec<Change> = serde_json::from_str(&artifact.changes).unwrap_or_default();
    let gates = run
        .candidates
        .iter()
        .filter(|c| c.artifact_id == artifact.id.as_str())
        .flat_map(|c| &c.gates)
        .map(|g| GateLine { name: g.name.clone(), state: g.state.name().to_owned(), detail: g.state.detail() })
        .collect();
    ApprovalLinkView {
        train_id: link.train_id,
        train,
        domain,
        cutover_at: run.cutover_at.rfc3339(),
        cutover_shown: shown_in(zone, run.cutover_at),
        link_expires_shown: shown_in(zone, link.expires_at),
        service: artifact.service,
        version: artifact.version,
        author: artifact.author,
        commit_sha: artifact.commit_sha,
        changes: changes.into_iter().map(|c| c.title.into()).collect(),
        gates,
        required: summary.required,
        approved: summary.approved,
        decisions: summary
            .decisions
            .iter()
            .map(|d| {
                let verb = if d.decision == Decision::Approve { "approved" } else { "rejected" };
                if d.comment.is_empty() {
                    format!("{} {verb}", d.approver)
                } else {
                    format!("{} {verb}: {}", d.approver, d.comment)
                }
            })
            .collect(),
    }
}

/// `at` as `Tue 1 Dec 2026 03:00 Europe/Berlin` in the train's `zone` (UTC when it has none).
fn shown_in(zone: &str, at: Instant) -> String {
    match zone.parse::<chrono_tz::Tz>() {
        Ok(tz) => at.to_utc().with_timezone(&tz).format(&format!("%a %-d %b %Y %H:%M {zone}")).to_string(),
        Err(_) => at.to_utc().format("%a %-d %b %Y %H:%M UTC").to_string(),
    }
}
