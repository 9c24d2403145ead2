//! `GET /api/v1/trains` (trains cutting over in a time range), one train
//! with its rollout, cargo and timeline, and its release notes.

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::incidents::{incident_json, IncidentJson};
use super::{ApiError, ApiState};
use crate::auth::{Caller, Permission};
use crate::release_notes::{self, NoteEntry};
use crate::store::{self, trains::TrainListing};
use crate::time::{rfc3339, to_ms};

/// The longest range one request may ask for.
const MAX_RANGE_DAYS: i64 = 400;

/// Query parameters: `from` and `to` as RFC 3339 instants or `YYYY-MM-DD` (UTC midnight).
#[derive(Debug, Deserialize, utoipa::ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TrainQuery {
    from: String,
    to: String,
    domain: Option<String>,
}

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
    /// `regular` or `emergency`.
    pub kind: String,
    /// Why an emergency train was started (empty for regular trains).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

/// The response body.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TrainList {
    pub from: String,
    pub to: String,
    pub trains: Vec<TrainJson>,
}

/// Lists trains whose cutover is in `[from, to)`.
#[utoipa::path(
    operation_id = "list_trains",
    get,
    path = "/api/v1/trains",
    tag = "trains",
    params(
        TrainQuery,
        ("If-None-Match" = Option<String>, Header, description = "The `ETag` of an earlier answer: 304 if nothing changed")
    ),
    responses(
        (status = 200, description = "Trains cutting over in the range", body = TrainList,
         headers(("ETag" = String, description = "Names this answer; send it back in `If-None-Match`"))),
        (status = 304, description = "Nothing changed since the answer whose `ETag` was sent")
    )
)]
pub async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    query: Result<Query<TrainQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    caller.require_somewhere(Permission::Read)?;
    let Query(query) = query.map_err(|rejection| {
        ApiError::bad_request(format!(
            "{}; expected ?from=2026-12-01&to=2027-01-01 (dates or RFC 3339 instants)",
            rejection.body_text()
        ))
    })?;
    let from = parse_instant("from", &query.from)?;
    let to = parse_instant("to", &query.to)?;
    if to <= from {
        return Err(ApiError::bad_request("`to` must be after `from`"));
    }
    if to - from > Duration::days(MAX_RANGE_DAYS) {
        return Err(ApiError::bad_request(format!("the range may span at most {MAX_RANGE_DAYS} days")));
    }
    let (from, to, domain) = (to_ms(from), to_ms(to), query.domain.as_deref());
    if let Some(limits) = caller.principal.limited_to() {
        // A domain-limited token lists only its own domains' trains.
        if let Some(asked) = domain {
            caller.require(Permission::Read, Some(asked))?;
        }
        let mut conn = state.db.acquire().await?;
        let trains = store::trains::cutting_over_between(&mut conn, from, to, domain).await?;
        let trains = trains.into_iter().filter(|t| limits.contains(&t.domain)).map(train_json).collect();
        let list = TrainList { from: rfc3339(from), to: rfc3339(to), trains };
        return Ok(([(header::CACHE_CONTROL, "private, no-store")], Json(list)).into_response());
    }
    let key = format!("{from}|{to}|{}", domain.unwrap_or(""));
    let load = || async {
        let mut conn = state.db.acquire().await?;
        let trains = store::trains::cutting_over_between(&mut conn, from, to, domain).await?;
        let list =
            TrainList { from: rfc3339(from), to: rfc3339(to), trains: trains.into_iter().map(train_json).collect() };
        let body = serde_json::to_vec(&list).map_err(|error| ApiError::Internal(error.into()))?;
        let etag = format!("\"{}\"", hex::encode(&Sha256::digest(&body)[..8]));
        Ok::<_, ApiError>((Bytes::from(body), etag))
    };
    let answer = state.caches.train_lists.get(&state.db, key, to_ms(state.clock.now()), load).await?;
    let (body, etag) = &*answer;
    let validators = [(header::ETAG, etag.clone()), (header::CACHE_CONTROL, "private, no-store".to_owned())];
    let sent = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if sent.split(',').any(|tag| tag.trim() == etag || tag.trim() == "*") {
        return Ok((StatusCode::NOT_MODIFIED, validators).into_response());
    }
    Ok((validators, [(header::CONTENT_TYPE, "application/json")], body.clone()).into_response())
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

/// `GET /api/v1/trains/{id}`.
#[utoipa::path(
    operation_id = "show_train",
    get,
    path = "/api/v1/trains/{id}",
    tag = "trains",
    params(("id" = String, Path, description = "Train id")),
    responses((status = 200, description = "The train with its rollout, cargo, timeline and evidence", body = TrainDetail))
)]
pub async fn show(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<TrainDetail>, ApiError> {
    Ok(Json(detail_for(&state, &caller, &id).await?))
}

/// A train with everything recorded about it, for `caller`; shared by the API and the train page.
pub async fn detail_for(state: &ApiState, caller: &Caller, id: &str) -> Result<TrainDetail, ApiError> {
    let mut conn = state.db.acquire().await?;
    may_read_train(&mut conn, caller, id).await?;
    drop(conn);
    detail(state, id).await
}

/// Refuses unless `caller` may read train `id` (404 for an unknown train):
/// everyone who reads, a domain-limited token only in its domains.
pub async fn may_read_train(conn: &mut store::Conn, caller: &Caller, id: &str) -> Result<(), ApiError> {
    caller.require_somewhere(Permission::Read)?;
    let domain = store::domains::of_train(conn, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no train has id \"{id}\"")))?;
    caller.require(Permission::Read, Some(&domain))
}

/// Train `id` with everything recorded about it, for a caller already allowed to read it.
pub async fn detail(state: &ApiState, id: &str) -> Result<TrainDetail, ApiError> {
    let id = id.to_owned();
    let mut conn = state.db.acquire().await?;
    let train = find(&mut conn, &id).await?;
    let run = store::runs::load(&mut conn, &id)
        .await?
        .map(|(json, _)| serde_json::from_str(&json))
        .transpose()
        .map_err(|e| ApiError::Internal(e.into()))?;
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
            environment: d.environment,
            expected: d.expected_digest,
            running: d.running_digest,
        })
        .collect();
    let measurements = store::measurements::of_train(&mut conn, &id)
        .await?
        .into_iter()
        .map(|m| MeasurementJson {
            from: rfc3339(m.from_at),
            to: rfc3339(m.to_at),
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
            at: rfc3339(r.at),
        })
        .collect();
    let canary_analyses = store::analyses::of_train(&mut conn, &id)
        .await?
        .into_iter()
        .map(|a| AnalysisJson {
            step: a.step,
            verdict: a.verdict,
            detail: a.detail,
            at: rfc3339(a.at),
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
                artifact_id: c.artifact_id,
                service: c.service,
                version: c.version,
                digest: c.digest,
                author: c.author,
                status: c.status,
                reason: c.reason,
            })
            .collect(),
        timeline: events
            .into_iter()
            .map(|e| TimelineJson {
                seq: e.seq,
                at: rfc3339(e.at),
                from: e.from_state,
                to: e.to_state,
                actor: e.actor,
                reason: e.reason,
            })
            .collect(),
    })
}

/// `GET /api/v1/trains/{id}/release-notes`: Markdown.
#[utoipa::path(
    get,
    path = "/api/v1/trains/{id}/release-notes",
    tag = "trains",
    params(("id" = String, Path, description = "Train id")),
    responses((status = 200, description = "Release notes", body = String, content_type = "text/markdown"))
)]
pub async fn release_notes(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let mut conn = state.db.acquire().await?;
    may_read_train(&mut conn, &caller, &id).await?;
    let markdown = release_notes_of(&mut conn, &id).await?;
    Ok(([(header::CONTENT_TYPE, "text/markdown; charset=utf-8")], markdown).into_response())
}

/// The release notes of train `id`, Markdown.
pub async fn release_notes_of(conn: &mut store::Conn, id: &str) -> Result<String, ApiError> {
    let train = find(conn, id).await?;
    let entries = store::artifacts::cargo(conn, id)
        .await?
        .into_iter()
        .map(|c| {
            Ok(NoteEntry {
                changes: serde_json::from_str(&c.changes).map_err(|e| ApiError::Internal(e.into()))?,
                service: c.service,
                version: c.version,
                status: c.status,
                reason: c.reason,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let title = format!("{}, cutover {}", train.definition, rfc3339(train.cutover_at));
    Ok(release_notes::render(&title, &train.state, &entries))
}

async fn find(conn: &mut store::Conn, id: &str) -> Result<TrainListing, ApiError> {
    store::trains::by_id(conn, id).await?.ok_or_else(|| ApiError::NotFound(format!("no train has id \"{id}\"")))
}

/// A stored train as the API shows it.
pub fn train_json(t: TrainListing) -> TrainJson {
    TrainJson {
        id: t.id,
        definition: t.definition,
        domain: t.domain,
        state: t.state,
        time_zone: t.time_zone,
        planning_opens_at: rfc3339(t.planning_opens_at),
        cutover_at: rfc3339(t.cutover_at),
        cutover_closes_at: rfc3339(t.cutover_closes_at),
        kind: t.kind,
        reason: t.reason,
    }
}

fn parse_instant(name: &str, text: &str) -> Result<DateTime<Utc>, ApiError> {
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(date.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
    }
    DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).map_err(|_| {
        ApiError::bad_request(format!(
            "`{name}` is \"{text}\", which is neither a date like 2026-12-01 nor an instant like 2026-12-01T03:00:00Z"
        ))
    })
}
