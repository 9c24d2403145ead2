//! `POST /api/v1/incidents`: what PagerDuty or Opsgenie webhooks carry,
//! attributed to the train that last changed the service (seed M6).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

use super::AppJson;
use super::{ApiError, ApiState};
use crate::auth::{Caller, Permission};
use crate::service::incidents;
pub use crate::service::views::train_detail::{incident_json, IncidentJson};
use crate::text::Text;

/// The body of `POST /api/v1/incidents`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentRequest {
    #[schema(value_type = String, example = "ledger")]
    pub service: Text,
    #[schema(value_type = String, pattern = "^(critical|high|medium|low|info)$")]
    pub severity: Text,
    /// RFC 3339.
    #[schema(value_type = String, format = DateTime, example = "2026-12-01T03:20:00Z")]
    pub started_at: Text,
    #[serde(default)]
    #[schema(schema_with = title_schema)]
    pub title: Text,
    /// An http(s) URL, or empty.
    #[serde(default)]
    #[schema(value_type = String, pattern = "^(https?://.*)?$")]
    pub link: Text,
}

/// Records an incident and attributes it.
#[utoipa::path(
    post,
    path = "/api/v1/incidents",
    tag = "incidents",
    request_body = IncidentRequest,
    responses((status = 201, description = "Recorded and attributed", body = IncidentJson))
)]
pub async fn report(
    State(state): State<ApiState>,
    caller: Caller,
    body: Result<AppJson<IncidentRequest>, ApiError>,
) -> Result<(StatusCode, Json<IncidentJson>), ApiError> {
    caller.require_somewhere(Permission::ReportIncidents)?;
    let AppJson(request) = body?;
    let report = incidents::Report {
        service: &request.service,
        severity: &request.severity,
        started_at: &request.started_at,
        title: request.title.to_string(),
        link: request.link.to_string(),
    };
    let (incident, service) = incidents::report(state.ctx(), &caller, report).await?;
    Ok((StatusCode::CREATED, Json(incident_json(incident, service))))
}

/// An incident's title: printable, at most 500 characters.
fn title_schema() -> utoipa::openapi::schema::Object {
    crate::text::schema::at_most(500)
}
