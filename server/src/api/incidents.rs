//! `POST /api/v1/incidents`: what PagerDuty or Opsgenie webhooks carry,
//! attributed to the train that last changed the service (seed M6).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::DateTime;
use serde::Deserialize;

use super::AppJson;
use super::{ApiError, ApiState};
use crate::auth::{Caller, Permission};
use crate::links::is_web_link;
pub use crate::service::views::train_detail::{incident_json, IncidentJson};
use crate::store::{self, incidents::Incident};
use crate::text::Text;
use crate::time::to_ms;

/// Severities, most severe first.
const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "info"];

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
    let severity = request.severity.trim().to_ascii_lowercase();
    if !SEVERITIES.contains(&severity.as_str()) {
        return Err(ApiError::bad_request(format!("`severity` must be one of {}", SEVERITIES.join(", "))));
    }
    let started_at = DateTime::parse_from_rfc3339(&request.started_at)
        .map_err(|_| ApiError::bad_request("`started_at` must be an RFC 3339 instant like 2026-12-01T03:20:00Z"))?;
    if !request.link.is_empty() && !is_web_link(&request.link) {
        return Err(ApiError::bad_request("`link` must be an http(s) URL"));
    }
    if request.title.len() > 500 {
        return Err(ApiError::bad_request("`title` may be at most 500 characters"));
    }
    let mut tx = state.db.begin().await?;
    let service = store::services::by_name(&mut tx, request.service.trim()).await?.ok_or_else(|| {
        ApiError::Rejected(StatusCode::UNPROCESSABLE_ENTITY, format!("service \"{}\" is not declared", request.service))
    })?;
    let domain = store::domains::of_service(&mut tx, &service.id).await?;
    caller.require(Permission::ReportIncidents, domain.as_deref())?;
    let started_at = to_ms(started_at.to_utc());
    let incident = Incident {
        id: store::new_id(),
        train_id: store::incidents::attributable_train(&mut tx, &service.id, started_at).await?,
        service_id: service.id,
        severity,
        title: request.title.into(),
        link: request.link.into(),
        started_at,
        reported_at: to_ms(state.clock.now()),
    };
    store::incidents::insert(&mut tx, &incident).await?;
    let entry = caller.audit("incident.reported", &format!("incident:{}", incident.id)).change(
        &serde_json::Value::Null,
        &serde_json::json!({ "service": service.name, "severity": incident.severity, "train": incident.train_id }),
    );
    store::audit::append(&mut tx, &entry, incident.reported_at).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(incident_json(incident, service.name))))
}

/// An incident's title: printable, at most 500 characters.
fn title_schema() -> utoipa::openapi::schema::Object {
    crate::text::schema::at_most(500)
}
