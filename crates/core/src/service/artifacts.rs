//! Candidates: CI registers a build (idempotently: the same digest with the
//! same attributes is a harmless retry), and a release manager rejects a bad
//! one for good, which takes it off every train in flight that has not
//! deployed it yet. Both are audited.

use anyhow::Context;
use railyard_domain::time::Instant;
use serde_json::json;

use super::{approvals, Ctx, ServiceError};
use crate::artifacts::{Contracts, NewArtifact};
use crate::auth::{Caller, Permission};
use crate::engine::{Action, Event};
use crate::ids::ArtifactId;
use crate::runtime;
use crate::store::{self, artifacts::Artifact, artifacts::Check};

/// What registering a build did.
pub enum Registered {
    /// A new candidate, with the services its change reaches.
    New { artifact: Artifact, reaches: Vec<String> },
    /// The same build registered before (a retry), with its checks so far.
    Existing { artifact: Artifact, checks: Vec<Check>, reaches: Vec<String> },
}

/// How far ahead of the server's clock a commit time may be (CI clocks drift).
const COMMIT_CLOCK_SKEW_MS: i64 = 5 * 60_000;

/// Registers `build` for its service's trains.
pub async fn register(ctx: Ctx<'_>, caller: &Caller, build: NewArtifact) -> Result<Registered, ServiceError> {
    caller.principal.require_somewhere(Permission::RegisterArtifacts)?;
    let mut tx = ctx.db.begin().await?;
    let service = store::services::by_name(&mut tx, &build.service).await?.ok_or_else(|| {
        ServiceError::Unprocessable(format!(
            "service \"{}\" is not declared; add it to the trains-as-code file first",
            build.service
        ))
    })?;
    let domain = store::domains::of_service(&mut tx, &service.id).await?;
    caller.principal.require(Permission::RegisterArtifacts, domain.as_deref())?;
    if build.committed_at.is_some_and(|at| at > ctx.now() + COMMIT_CLOCK_SKEW_MS) {
        return Err(ServiceError::invalid("`committed_at` is in the future; send the commit's own time"));
    }
    let row = Artifact {
        id: store::new_id().into(),
        service_id: service.id.clone(),
        service: service.name.clone(),
        version: build.version,
        digest: build.digest.to_string(),
        commit_sha: build.commit,
        author: build.author,
        changes: serde_json::to_string(&build.changes).context("storing the changes")?,
        migrations: serde_json::to_string(&build.migrations).context("storing the migrations")?,
        contracts: serde_json::to_string(&build.contracts).context("storing the contracts")?,
        rejected_at: None,
        rejected_reason: None,
        created_at: ctx.now(),
    };
    if store::artifacts::insert_if_absent(&mut tx, &row).await? {
        if let Some(at) = build.committed_at {
            store::artifacts::set_committed_at(&mut tx, &row.id, at).await?;
        }
        let entry = caller.audit("artifact.registered", &format!("artifact:{}", row.id)).change(
            &serde_json::Value::Null,
            &json!({ "service": row.service, "version": row.version, "digest": row.digest, "author": row.author }),
        );
        store::audit::append(&mut tx, &entry, row.created_at).await?;
        let reaches = crate::fleet::dependency_graph(&mut tx).await?.impact(&row.service);
        ctx.commit(tx).await.context("committing the new artifact")?;
        return Ok(Registered::New { artifact: row, reaches });
    }
    let existing = store::artifacts::by_digest(&mut tx, &service.id, &row.digest)
        .await?
        .context("the artifact vanished between insert and read")?;
    ctx.commit(tx).await.context("ending the registration")?;
    let same = (&existing.version, &existing.commit_sha, &existing.author, &existing.changes, &existing.migrations)
        == (&row.version, &row.commit_sha, &row.author, &row.changes, &row.migrations)
        && Contracts::parse_stored(&existing.contracts) == Contracts::parse_stored(&row.contracts);
    if !same {
        return Err(ServiceError::Conflict(format!(
            "{} already registered {} as version {} from commit {}; a digest cannot change its attributes",
            existing.service, existing.digest, existing.version, existing.commit_sha
        )));
    }
    let mut conn = ctx.db.acquire().await?;
    let checks = store::artifacts::checks(&mut conn, &existing.id).await?;
    let reaches = crate::fleet::dependency_graph(&mut conn).await?.impact(&existing.service);
    Ok(Registered::Existing { artifact: existing, checks, reaches })
}

/// What rejecting a build did.
pub struct Rejection {
    pub at: Instant,
    /// Trains in flight it was taken off.
    pub removed_from: Vec<String>,
    /// Trains that already deployed it, each with what to do there.
    pub deployed_on: Vec<(String, String)>,
}

/// Rejects build `id` for good (`reason` says why) and takes it off the trains in flight.
pub async fn reject(ctx: Ctx<'_>, caller: &Caller, id: &ArtifactId, reason: &str) -> Result<Rejection, ServiceError> {
    caller.principal.require_somewhere(Permission::Operate)?;
    let mut tx = ctx.db.begin().await?;
    let (artifact, domain) = approvals::candidate(&mut tx, id).await?;
    caller.principal.require(Permission::Operate, Some(&domain))?;
    let reason = reason.trim();
    if reason.chars().count() < 3 {
        return Err(ServiceError::invalid("`reason` must say why the build is bad (at least 3 characters)"));
    }
    if let (Some(at), Some(why)) = (artifact.rejected_at, &artifact.rejected_reason) {
        return Err(ServiceError::Conflict(format!(
            "{} {} was already rejected at {}: {why}",
            artifact.service,
            artifact.version,
            at.rfc3339()
        )));
    }
    let now = ctx.now();
    let actor = caller.principal.actor();
    store::artifacts::reject(&mut tx, id, &format!("rejected by {actor}: {reason}"), now).await?;
    let why = format!("build rejected: {reason}");
    let (mut removed_from, mut deployed_on) = (Vec::new(), Vec::new());
    for train_id in store::approvals::trains_carrying(&mut tx, id).await? {
        let Some((run, _)) = store::runs::load(&mut tx, &train_id).await? else { continue };
        let Some(candidate) = run.candidates.iter().find(|c| c.artifact_id == id.as_str() && c.boarded()) else {
            continue;
        };
        if run.has_deployed() {
            let detail = format!("{} is deployed on it: roll it back there (roll_back_services)", candidate.service);
            deployed_on.push((train_id, detail));
            continue;
        }
        let action = Action::RemoveCandidate { artifact_id: id.clone() };
        let event = Event::Operator { actor: actor.clone(), action, reason: why.clone() };
        runtime::apply_in(&mut tx, &train_id, &event, &actor, now).await?;
        removed_from.push(train_id);
    }
    let after = json!({
        "service": artifact.service, "version": artifact.version, "reason": reason,
        "removed_from": removed_from, "deployed_on": deployed_on.iter().map(|(train, _)| train).collect::<Vec<_>>(),
    });
    let entry = caller.audit("artifact.reject", &format!("artifact:{id}")).change(&serde_json::Value::Null, &after);
    store::audit::append(&mut tx, &entry, now).await?;
    ctx.commit(tx).await.context("committing the rejection")?;
    Ok(Rejection { at: now, removed_from, deployed_on })
}

/// An artifact with its checks and the services a change to it reaches, for a reader of its domain.
pub async fn show(
    ctx: Ctx<'_>,
    caller: &Caller,
    id: &ArtifactId,
) -> Result<(Artifact, Vec<Check>, Vec<String>), ServiceError> {
    caller.require_somewhere(Permission::Read)?;
    let mut conn = ctx.db.acquire().await?;
    let artifact = find(&mut conn, id).await?;
    let domain = store::domains::of_service(&mut conn, &artifact.service_id).await?;
    caller.require(Permission::Read, domain.as_deref())?;
    let checks = store::artifacts::checks(&mut conn, &artifact.id).await?;
    let reaches = crate::fleet::dependency_graph(&mut conn).await?.impact(&artifact.service);
    Ok((artifact, checks, reaches))
}

/// Refuses callers who may not report checks for the artifact's domain (404 first if it
/// does not exist). Checked before the report is read.
pub async fn may_report_checks(ctx: Ctx<'_>, caller: &Caller, artifact_id: &ArtifactId) -> Result<(), ServiceError> {
    caller.require_somewhere(Permission::ReportChecks)?;
    let mut conn = ctx.db.acquire().await?;
    let artifact = find(&mut conn, artifact_id).await?;
    let domain = store::domains::of_service(&mut conn, &artifact.service_id).await?;
    Ok(caller.require(Permission::ReportChecks, domain.as_deref())?)
}

/// A check as a pipeline reports it (kind and status already in their stored form).
pub struct CheckReport {
    pub kind: String,
    pub name: String,
    pub status: String,
    pub summary: String,
    pub url: String,
    /// JSON: what the check found (a scan's counts), `{}` when nothing.
    pub details: String,
}

/// Records a check of artifact `artifact_id` for a caller [`may_report_checks`] let through.
pub async fn report_check(
    ctx: Ctx<'_>,
    caller: &Caller,
    artifact_id: &ArtifactId,
    report: CheckReport,
) -> Result<Check, ServiceError> {
    let name = report.name.trim();
    if name.is_empty() || name.len() > 200 {
        return Err(ServiceError::invalid("`name` must be 1-200 characters, e.g. \"unit tests\""));
    }
    if !report.url.is_empty() && !crate::links::is_web_link(&report.url) {
        return Err(ServiceError::invalid("`url` must be an http(s) URL"));
    }
    if report.summary.len() > 10_000 {
        return Err(ServiceError::invalid("`summary` may be at most 10000 characters"));
    }
    let check = Check {
        id: store::new_id(),
        artifact_id: artifact_id.to_string(),
        kind: report.kind,
        name: name.to_owned(),
        status: report.status,
        summary: report.summary,
        url: report.url,
        details: report.details,
        reported_at: ctx.now(),
        reported_by: caller.principal.actor(),
    };
    let mut tx = ctx.db.begin().await?;
    find(&mut tx, &check.artifact_id).await?;
    store::artifacts::insert_check(&mut tx, &check).await?;
    let entry = caller
        .audit("check.reported", &format!("artifact:{}", check.artifact_id))
        .change(&serde_json::Value::Null, &json!({ "kind": check.kind, "name": check.name, "status": check.status }));
    store::audit::append(&mut tx, &entry, check.reported_at).await?;
    ctx.commit(tx).await.context("committing the check")?;
    Ok(check)
}

async fn find(conn: &mut store::Conn, id: &str) -> Result<Artifact, ServiceError> {
    store::artifacts::by_id(conn, id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("no artifact has id \"{id}\"")))
}
