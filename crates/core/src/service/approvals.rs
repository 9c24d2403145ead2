//! Approving or rejecting a candidate: the domain's approvers decide, never
//! the build's author, each once; the decision finishes the compliance and
//! schema gates of every train in flight that waits for it, in the same
//! transaction.

use anyhow::Context;
use railyard_domain::time::Instant;
use serde_json::json;

use super::{Ctx, ServiceError};
use crate::auth::{Caller, Permission, Principal};
use crate::engine::{Event, GateState, COMPLIANCE_GATE, SCHEMA_GATE};
use crate::gates;
use crate::ids::ArtifactId;
use crate::runtime;
use crate::store::{self, approvals::Approval, artifacts::Artifact, Conn};

pub use crate::candidate::Decision;

/// The decision `text` asks for: `approve` or `reject`, as the API and the console send it.
pub fn decision(text: &str) -> Result<Decision, ServiceError> {
    Decision::asked(text)
        .ok_or_else(|| ServiceError::invalid(format!("`decision` must be approve or reject, not \"{text}\"")))
}

/// Where a candidate's approvals stand, with every decision.
pub struct Summary {
    pub artifact_id: String,
    pub required: i64,
    pub approved: i64,
    /// `approved`, `rejected` or `pending`.
    pub status: &'static str,
    pub decisions: Vec<Approval>,
}

/// The candidate `id` and the name of its domain; 404 when there is none.
pub async fn candidate(conn: &mut Conn, id: &str) -> Result<(Artifact, String), ServiceError> {
    let artifact = store::artifacts::by_id(conn, id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("no artifact has id \"{id}\"")))?;
    let domain = store::domains::of_service(conn, &artifact.service_id).await?.unwrap_or_default();
    Ok((artifact, domain))
}

/// Where `artifact`'s approvals stand.
pub async fn summary(conn: &mut Conn, artifact: &Artifact) -> Result<Summary, ServiceError> {
    let domain_id = store::domains::id_of_service(conn, &artifact.service_id).await?;
    let required = store::approvals::required(conn, &domain_id).await?;
    let decisions = store::approvals::of_artifact(conn, &artifact.id).await?;
    let approved =
        i64::try_from(decisions.iter().filter(|d| d.decision == Decision::Approve).count()).unwrap_or(i64::MAX);
    let status = if decisions.iter().any(|d| d.decision == Decision::Reject) {
        "rejected"
    } else if approved >= required {
        "approved"
    } else {
        "pending"
    };
    Ok(Summary { artifact_id: artifact.id.to_string(), required, approved, status, decisions })
}

/// The approvals of candidate `id`, for anyone who may read its domain.
pub async fn of_candidate(ctx: Ctx<'_>, caller: &Caller, id: &ArtifactId) -> Result<Summary, ServiceError> {
    caller.principal.require_somewhere(Permission::Read)?;
    let mut conn = ctx.db.acquire().await?;
    let (artifact, domain) = candidate(&mut conn, id).await?;
    caller.principal.require(Permission::Read, Some(&domain))?;
    summary(&mut conn, &artifact).await
}

/// Records `caller`'s decision on candidate `id` (a rejection says why).
pub async fn decide(
    ctx: Ctx<'_>,
    caller: &Caller,
    id: &ArtifactId,
    decision: Decision,
    comment: &str,
) -> Result<Summary, ServiceError> {
    caller.principal.require_somewhere(Permission::Approve)?;
    let mut tx = ctx.db.begin().await?;
    let (artifact, domain) = candidate(&mut tx, id).await?;
    caller.principal.require(Permission::Approve, Some(&domain))?;
    let now = ctx.now();
    let summary = record(&mut tx, caller, &artifact, decision, comment, None, now).await?;
    ctx.commit(tx).await.context("committing the decision")?;
    Ok(summary)
}

/// Records `caller`'s decision on `artifact` (their right to approve in its
/// domain already checked) and finishes the gates waiting for it; `link`:
/// the approval link it came through. Never the author's, each person once.
pub(super) async fn record(
    tx: &mut Conn,
    caller: &Caller,
    artifact: &Artifact,
    decision: Decision,
    comment: &str,
    link: Option<&str>,
    now: Instant,
) -> Result<Summary, ServiceError> {
    let comment = comment.trim();
    if decision == Decision::Reject && comment.is_empty() {
        return Err(ServiceError::invalid("a rejection needs a comment saying why"));
    }
    let name = caller.principal.user_name().unwrap_or_default().to_owned();
    if caller_is_author(tx, caller, &artifact.author).await? {
        return Err(authored(&name, artifact));
    }
    let approval = Approval {
        id: store::new_id(),
        artifact_id: artifact.id.to_string(),
        approver: name.clone(),
        decision,
        comment: comment.to_owned(),
        decided_at: now,
    };
    if !store::approvals::decide(tx, &approval).await? {
        return Err(ServiceError::Conflict(format!("{name} already decided on this candidate")));
    }
    let mut change = json!({ "comment": approval.comment, "service": artifact.service, "version": artifact.version });
    if let Some(link) = link {
        change["via"] = json!("link");
        change["link"] = json!(link);
    }
    let entry = caller
        .audit(&format!("candidate.{}", decision.stored()), &format!("artifact:{}", artifact.id))
        .change(&serde_json::Value::Null, &change);
    store::audit::append(tx, &entry, now).await?;
    let summary = summary(tx, artifact).await?;
    decide_gates(tx, caller, &artifact.id, now).await?;
    Ok(summary)
}

/// The refusal for `name` deciding on a build they authored.
pub(super) fn authored(name: &str, artifact: &Artifact) -> ServiceError {
    ServiceError::Forbidden(format!(
        "{name} authored {} {} (as \"{}\"); someone else must approve it",
        artifact.service,
        artifact.version,
        artifact.author.trim()
    ))
}

/// Once a candidate is approved or rejected, finishes its compliance and
/// schema gates on every train in flight that waits for them.
async fn decide_gates(conn: &mut Conn, caller: &Caller, artifact_id: &str, now: Instant) -> Result<(), ServiceError> {
    let standing = store::approvals::standing(conn, artifact_id).await?;
    if matches!(standing, store::approvals::Standing::Pending { .. }) {
        return Ok(());
    }
    let outcome = gates::compliance(standing.into());
    for train_id in store::approvals::trains_carrying(conn, artifact_id).await? {
        let Some((run, _)) = store::runs::load(conn, &train_id).await? else { continue };
        let waiting: Vec<String> = run
            .candidates
            .iter()
            .filter(|c| c.artifact_id == artifact_id)
            .flat_map(|c| &c.gates)
            .filter(|g| [COMPLIANCE_GATE, SCHEMA_GATE].contains(&g.name.as_str()))
            .filter(|g| matches!(g.state, GateState::Pending | GateState::Running | GateState::Awaiting { .. }))
            .map(|g| g.name.clone())
            .collect();
        for gate in waiting {
            let event = Event::GateFinished { artifact_id: artifact_id.into(), gate, outcome: outcome.clone() };
            runtime::apply_in(conn, &train_id, &event, &caller.principal.actor(), now).await?;
        }
    }
    Ok(())
}

/// Whether the signed-in caller is `author` (a build's author as CI sent
/// it): their user name or any author identity an admin gave them.
pub async fn caller_is_author(conn: &mut Conn, caller: &Caller, author: &str) -> Result<bool, ServiceError> {
    match &caller.principal {
        Principal::User { id, name, .. } => Ok(store::users::is_author(conn, id, name, author).await?),
        _ => Ok(false),
    }
}
