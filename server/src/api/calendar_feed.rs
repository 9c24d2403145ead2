//! `GET /calendar.ics[?domain=NAME]`: every train's cutover window and
//! every freeze as an iCalendar feed with stable UIDs, for Outlook and
//! Google Calendar subscriptions. Calendar apps cannot send headers, so the
//! feed also accepts a read-only API token as `?token=` (checked by the
//! authentication middleware for `.ics` paths only).

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{ApiError, ApiState};
use crate::auth::Caller;
use crate::service::views::calendar_feed;

/// The feed's query.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct FeedQuery {
    #[serde(default)]
    pub domain: Option<String>,
    /// A feed token (used by the middleware; ignored here).
    #[serde(default)]
    pub token: Option<String>,
}

/// The feed.
pub async fn feed(
    State(state): State<ApiState>,
    caller: Caller,
    Query(query): Query<FeedQuery>,
) -> Result<Response, ApiError> {
    let body = calendar_feed::feed(state.ctx(), &caller, query.domain.as_deref()).await?;
    Ok(([(header::CONTENT_TYPE, "text/calendar; charset=utf-8")], body).into_response())
}
