//! `GET /api/v1/trains`: trains cutting over in a time range.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{ApiError, ApiState};
use crate::store;
use crate::time::{rfc3339, to_ms};

/// The longest range one request may ask for.
const MAX_RANGE_DAYS: i64 = 400;

/// Query parameters: `from` and `to` as RFC 3339 instants or `YYYY-MM-DD` (UTC midnight).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainQuery {
    from: String,
    to: String,
    domain: Option<String>,
}

/// One train in the response.
#[derive(Debug, Serialize, Deserialize)]
pub struct TrainJson {
    pub id: String,
    pub definition: String,
    pub domain: String,
    pub state: String,
    pub time_zone: String,
    pub planning_opens_at: String,
    pub cutover_at: String,
    pub cutover_closes_at: String,
}

/// The response body.
#[derive(Debug, Serialize, Deserialize)]
pub struct TrainList {
    pub from: String,
    pub to: String,
    pub trains: Vec<TrainJson>,
}

/// Lists trains whose cutover is in `[from, to)`.
pub async fn list(
    State(state): State<ApiState>,
    query: Result<Query<TrainQuery>, QueryRejection>,
) -> Result<Json<TrainList>, ApiError> {
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
    let mut conn = state.db.acquire().await?;
    let trains =
        store::trains::cutting_over_between(&mut conn, to_ms(from), to_ms(to), query.domain.as_deref()).await?;
    Ok(Json(TrainList {
        from: rfc3339(to_ms(from)),
        to: rfc3339(to_ms(to)),
        trains: trains
            .into_iter()
            .map(|t| TrainJson {
                id: t.id,
                definition: t.definition,
                domain: t.domain,
                state: t.state,
                time_zone: t.time_zone,
                planning_opens_at: rfc3339(t.planning_opens_at),
                cutover_at: rfc3339(t.cutover_at),
                cutover_closes_at: rfc3339(t.cutover_closes_at),
            })
            .collect(),
    }))
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
