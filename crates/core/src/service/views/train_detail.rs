//! A train with everything recorded about it: the read model behind
//! `GET /api/v1/trains/{id}`, the train page and the postmortem.

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::auth::{Caller, Permission};
use crate::ids::TrainId;
use crate::release_notes::{self, NoteEntry};
use crate::service::{Ctx, ServiceError};
use crate::store::{self, incidents::Incident, trains::TrainListing};
use crate::train_kind::TrainKind;

/// One train in the response.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TrainJson {
    pub id: String,
    pub definition: String,
    pub domain: String,
    pub state: String,
    pub time_zone: String,
    pub planning_opens_at: String,
    pub cutover_at: String,
    pub cutover_closes_at: String,
    pub kind: TrainKind,
    /// Why an emergency train was started (empty for regular trains).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

/// One entry of a train's timeline.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TimelineJson {
    pub seq: i64,
    pub at: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub actor: String,
    pub reason: String,
}

/// One candidate on a train.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CargoJson {
    pub artifact_id: String,
    pub service: String,
    pub version: String,
    pub digest: String,
    pub author: String,
    /// `boarded`, `missed`, `shipped` or `rolled_back`.
    pub status: String,
    pub reason: String,
    /// The services its service calls, as declared.
    pub calls: Vec<String>,
    /// The services this change reaches: those that call its service, directly or not.
    pub reaches: Vec<String>,
}

/// A train with its rollout, cargo and timeline.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TrainDetail {
    #[serde(flatten)]
    pub train: TrainJson,
    /// The engine's view: rollout steps, current step, gates; absent before the train opens.
    pub run: Option<serde_json::Value>,
    pub cargo: Vec<CargoJson>,
    pub timeline: Vec<TimelineJson>,
    /// Incidents attributed to this train (seed M6).
    pub incidents: Vec<IncidentJson>,
    /// What each environment reported running after each step (seed M12).
    pub digests: Vec<DigestJson>,
    /// What the finished rollout cost each service with an SLO (seeds M7, M8).
    pub measurements: Vec<MeasurementJson>,
    /// Every gate run and its answer, oldest first (seed F1).
    pub gate_runs: Vec<GateRunJson>,
    /// Every canary analysis with its evidence: per metric the queries, window, samples,
    /// Mann-Whitney and Hodges-Lehmann statistics and verdict; and the scorecard.
    pub canary_analyses: Vec<AnalysisJson>,
}

/// One canary analysis.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AnalysisJson {
    pub step: i64,
    pub verdict: String,
    pub detail: String,
    pub at: String,
    pub report: serde_json::Value,
}

/// One gate run.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GateRunJson {
    pub artifact_id: String,
    pub gate: String,
    /// `passed`, `failed`, `deferred`, `inconclusive`, `errored` or `awaiting`.
    pub outcome: String,
    pub detail: String,
    pub at: String,
}

/// What a finished rollout cost one service.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MeasurementJson {
    pub service: String,
    /// The span measured: first production deploy to the train's end (RFC 3339).
    pub from: String,
    pub to: String,
    pub slo_target: f64,
    pub bad_events: i64,
    pub total_events: i64,
    /// Share of the SLO window's error budget this rollout spent (seed M7, target below 0.2).
    pub budget_consumed: f64,
    /// Budget left over the SLO window when the train ended.
    pub budget_remaining: f64,
    pub p95_latency_before_seconds: Option<f64>,
    pub p95_latency_during_seconds: Option<f64>,
}

/// A running-digest report.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DigestJson {
    pub step: i64,
    pub service: String,
    pub environment: String,
    pub expected: String,
    pub running: String,
    pub matches: bool,
}

/// The recorded incident.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IncidentJson {
    pub id: String,
    pub service: String,
    pub severity: String,
    pub title: String,
    pub link: String,
    pub started_at: String,
    /// The train the incident is attributed to, if one changed the service in the 24 h before it.
    pub train_id: Option<String>,
    /// When service was restored (RFC 3339); absent while open.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<String>,
}

/// A train with everything recorded about it, for `caller`.
pub async fn detail_for(ctx: Ctx<'_>, caller: &Caller, id: &TrainId) -> Result<TrainDetail, ServiceError> {
    let mut conn = ctx.db.acquire().await?;
    may_read_train(&mut conn, caller, id).await?;
    drop(conn);
    detail(ctx, id).await
}

/// Refuses unless `caller` may read train `id` (404 for an unknown train):
/// everyone who reads, a domain-limited token only in its domains.
pub async fn may_read_train(conn: &mut store::Conn, caller: &Caller, id: &str) -> Result<(), ServiceError> {
    caller.principal.require_somewhere(Permission::Read)?;
    let domain = store::domains::of_train(conn, id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("no train has id \"{id}\"")))?;
    Ok(caller.principal.require(Permission::Read, Some(&domain))?)
}

/// Train `id` with everything recorded about it, for a caller already allowed to read it.
pub async fn detail(ctx: Ctx<'_>, id: &TrainId) -> Result<TrainDetail, ServiceError> {
    let id = id.to_owned();
    let mut conn = ctx.db.acquire().await?;
    let train = find(&mut conn, &id).await?;
    let run = match store::runs::load(&mut conn, &id).await? {
        Some((run, _)) => Some(serde_json::to_value(run).context("showing the train's state")?),
        None => None,
    };
    let cargo = store::artifacts::cargo(&mut conn, &id).await?;
    let graph = crate::fleet::dependency_graph(&mut conn).await?;
    let events = store::trains::events(&mut conn, &id).await?;
    let services = store::services::list(&mut conn).await?;
    let incidents = store::incidents::of_train(&mut conn, &id)
        .await?
        .into_iter()
        .map(|incident| {
            let service =
                services.iter().find(|s| s.id == incident.service_id).map(|s| s.name.clone()).unwrap_or_default();
            incident_json(incident, service)
        })
        .collect();
    let digests = store::digests::of_train(&mut conn, &id)
        .await?
        .into_iter()
        .map(|d| DigestJson {
            matches: d.expected_digest == d.running_digest,
            step: d.step,
            service: d.service,
            environment: d.environment.to_string(),
            expected: d.expected_digest,
            running: d.running_digest,
        })
        .collect();
    let measurements = store::measurements::of_train(&mut conn, &id)
        .await?
        .into_iter()
        .map(|m| MeasurementJson {
            from: m.from_at.rfc3339(),
            to: m.to_at.rfc3339(),
            service: m.service,
            slo_target: m.slo_target,
            bad_events: m.bad,
            total_events: m.total,
            budget_consumed: m.budget_consumed,
            budget_remaining: m.budget_remaining,
            p95_latency_before_seconds: m.latency_before,
            p95_latency_during_seconds: m.latency_after,
        })
        .collect();
    let gate_runs = store::gate_runs::of_train(&mut conn, &id)
        .await?
        .into_iter()
        .map(|r| GateRunJson {
            artifact_id: r.artifact_id,
            gate: r.gate,
            outcome: r.outcome,
            detail: r.detail,
            at: r.at.rfc3339(),
        })
        .collect();
    let canary_analyses = store::analyses::of_train(&mut conn, &id)
        .await?
        .into_iter()
        .map(|a| AnalysisJson {
            step: a.step,
            verdict: a.verdict,
            detail: a.detail,
            at: a.at.rfc3339(),
            report: serde_json::from_str(&a.report).unwrap_or_default(),
        })
        .collect();
    Ok(TrainDetail {
        canary_analyses,
        gate_runs,
        measurements,
        digests,
        incidents,
        train: train_json(train),
        run,
        cargo: cargo
            .into_iter()
            .map(|c| CargoJson {
                calls: graph.callees(&c.service).map(str::to_owned).collect(),
                reaches: graph.impact(&c.service),
                artifact_id: c.artifact_id.into(),
                service: c.service,
                version: c.version,
                digest: c.digest,
                author: c.author,
                status: c.status.to_string(),
                reason: c.reason,
            })
            .collect(),
        timeline: events
            .into_iter()
            .map(|e| TimelineJson {
                seq: e.seq,
                at: e.at.rfc3339(),
                from: e.from_state,
                to: e.to_state,
                actor: e.actor,
                reason: e.reason,
            })
            .collect(),
    })
}

/// The release notes of train `id`, Markdown.
pub async fn release_notes_of(conn: &mut store::Conn, id: &str) -> Result<String, ServiceError> {
    let train = find(conn, id).await?;
    let entries = store::artifacts::cargo(conn, id)
        .await?
        .into_iter()
        .map(|c| {
            Ok(NoteEntry {
                changes: serde_json::from_str(&c.changes).context("reading a candidate's changes")?,
                service: c.service,
                version: c.version,
                status: c.status,
                reason: c.reason,
            })
        })
        .collect::<Result<Vec<_>, ServiceError>>()?;
    let title = format!("{}, cutover {}", train.definition, train.cutover_at.rfc3339());
    Ok(release_notes::render(&title, train.state.as_str(), &entries))
}

async fn find(conn: &mut store::Conn, id: &str) -> Result<TrainListing, ServiceError> {
    store::trains::by_id(conn, id).await?.ok_or_else(|| ServiceError::NotFound(format!("no train has id \"{id}\"")))
}

/// A stored train as the API shows it.
pub fn train_json(t: TrainListing) -> TrainJson {
    TrainJson {
        id: t.id.into(),
        definition: t.definition,
        domain: t.domain,
        state: t.state.to_string(),
        time_zone: t.time_zone,
        planning_opens_at: t.planning_opens_at.rfc3339(),
        cutover_at: t.cutover_at.rfc3339(),
        cutover_closes_at: t.cutover_closes_at.rfc3339(),
        kind: t.kind,
        reason: t.reason,
    }
}

/// An incident as the API shows it.
pub fn incident_json(incident: Incident, service: String) -> IncidentJson {
    IncidentJson {
        id: incident.id,
        service,
        severity: incident.severity,
        title: incident.title,
        link: incident.link,
        started_at: incident.started_at.rfc3339(),
        train_id: incident.train_id,
        resolved_at: incident.resolved_at.map(|at| at.rfc3339()),
    }
}
