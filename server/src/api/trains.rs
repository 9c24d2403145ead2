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

use super::{ApiError, ApiState};
use crate::auth::{Caller, Permission};
use crate::ids::TrainId;
pub use crate::service::views::train_detail::{
    train_json, AnalysisJson, CargoJson, DigestJson, GateRunJson, MeasurementJson, TimelineJson, TrainDetail, TrainJson,
};
use crate::service::views::{train_detail, train_list};
use crate::service::ServiceError;
use crate::time::Instant;

/// The longest range one request may ask for: as far as a plan reaches.
const MAX_RANGE_DAYS: i64 = crate::service::views::plan::MAX_DAYS;

/// Query parameters: `from` and `to` as RFC 3339 instants or `YYYY-MM-DD` (UTC midnight).
#[derive(Debug, Deserialize, utoipa::ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TrainQuery {
    from: String,
    to: String,
    domain: Option<String>,
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
    // Who may list is checked before what they asked for is read.
    caller.require_somewhere(Permission::Read)?;
    let Query(query) = query.map_err(|rejection| {
        ApiError::bad_request(format!(
            "{}; expected ?from=2026-12-01&to=2027-01-01 (dates or RFC 3339 instants)",
            rejection.body_text()
        ))
    })?;
    let (from, to) = parse_range(&query.from, &query.to)?;
    let domain = query.domain.as_deref();
    let audience = train_list::audience(&caller, domain)?;
    if let train_list::Audience::Domains(_) = audience {
        // A domain-limited token's list is its own: not cached.
        let trains = train_list::between(state.ctx(), &audience, from, to, domain).await?;
        let list =
            TrainList { from: from.rfc3339(), to: to.rfc3339(), trains: trains.into_iter().map(train_json).collect() };
        return Ok(([(header::CACHE_CONTROL, "private, no-store")], Json(list)).into_response());
    }
    let key = format!("{}|{}|{}", from.ms(), to.ms(), domain.unwrap_or(""));
    let load = || async {
        let trains = train_list::between(state.ctx(), &audience, from, to, domain).await?;
        let list =
            TrainList { from: from.rfc3339(), to: to.rfc3339(), trains: trains.into_iter().map(train_json).collect() };
        let body = serde_json::to_vec(&list).map_err(|error| ServiceError::Internal(error.into()))?;
        let etag = format!("\"{}\"", hex::encode(&Sha256::digest(&body)[..8]));
        Ok::<_, ServiceError>((Bytes::from(body), etag))
    };
    let answer = state.caches.train_lists.get(key, state.clock.instant(), load).await.map_err(ServiceError::shared)?;
    let (body, etag) = &*answer;
    let validators = [(header::ETAG, etag.clone()), (header::CACHE_CONTROL, "private, no-store".to_owned())];
    let sent = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if sent.split(',').any(|tag| tag.trim() == etag || tag.trim() == "*") {
        return Ok((StatusCode::NOT_MODIFIED, validators).into_response());
    }
    Ok((validators, [(header::CONTENT_TYPE, "application/json")], body.clone()).into_response())
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
    Path(id): Path<TrainId>,
) -> Result<Json<TrainDetail>, ApiError> {
    Ok(Json(train_detail::detail_for(state.ctx(), &caller, &id).await?))
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
    train_detail::may_read_train(&mut conn, &caller, &id).await?;
    let markdown = train_detail::release_notes_of(&mut conn, &id).await?;
    Ok(([(header::CONTENT_TYPE, "text/markdown; charset=utf-8")], markdown).into_response())
}

/// `[from, to)` from a query's texts: `to` after `from`, at most [`MAX_RANGE_DAYS`] apart.
pub(super) fn parse_range(from: &str, to: &str) -> Result<(Instant, Instant), ApiError> {
    let (from, to) = (parse_instant("from", from)?, parse_instant("to", to)?);
    if to <= from {
        return Err(ApiError::bad_request("`to` must be after `from`"));
    }
    if to - from > Duration::days(MAX_RANGE_DAYS) {
        return Err(ApiError::bad_request(format!("the range may span at most {MAX_RANGE_DAYS} days")));
    }
    Ok((Instant::from_utc(from), Instant::from_utc(to)))
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
