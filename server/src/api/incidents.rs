//! `POST /api/v1/incidents`: what PagerDuty or Opsgenie webhooks carry,
//! attributed to the train that last changed the service (seed M6).

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

use super::AppJson;
use super::{ApiError, ApiState};
use crate::auth::{Caller, Permission};
use crate::service::incidents::{self, WebhookAlert, WebhookOutcome};
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

/// The body of `POST /api/v1/incidents/{id}/resolve`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    /// RFC 3339; default: now.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime, example = "2026-12-01T04:05:00Z")]
    pub resolved_at: Option<Text>,
}

/// Marks an incident resolved (service restored), which gives its time to restore.
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/resolve",
    tag = "incidents",
    params(("id" = String, Path, description = "The incident")),
    request_body = ResolveRequest,
    responses(
        (status = 200, description = "Resolved", body = IncidentJson),
        (status = 404, description = "No such incident"),
        (status = 409, description = "Already resolved")
    )
)]
pub async fn resolve(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<AppJson<ResolveRequest>, ApiError>,
) -> Result<Json<IncidentJson>, ApiError> {
    caller.require_somewhere(Permission::ReportIncidents)?;
    let AppJson(request) = body?;
    let (incident, service) = incidents::resolve(state.ctx(), &caller, &id, request.resolved_at.as_deref()).await?;
    Ok(Json(incident_json(incident, service)))
}

/// Alertmanager's webhook body (`webhook_configs`, version 4); fields Railyard does not use are ignored.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlertmanagerWebhook {
    #[serde(default)]
    pub version: String,
    pub alerts: Vec<AlertmanagerAlert>,
}

/// One alert of the webhook.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlertmanagerAlert {
    /// `firing` or `resolved`.
    pub status: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    pub starts_at: String,
    #[serde(default)]
    pub ends_at: String,
    #[serde(default, rename = "generatorURL")]
    pub generator_url: String,
    pub fingerprint: String,
}

/// Alertmanager's webhook: firing alerts open incidents (attributed to the train whose window and
/// services match, rehearsals excluded), resolved alerts resolve them. Authenticate with an API
/// token holding `incidents:write` (`http_config.authorization.credentials`).
#[utoipa::path(
    post,
    path = "/api/v1/alerts/alertmanager",
    tag = "incidents",
    request_body = AlertmanagerWebhook,
    responses((status = 200, description = "What each alert did", body = WebhookOutcome))
)]
pub async fn alertmanager(
    State(state): State<ApiState>,
    caller: Caller,
    body: Result<AppJson<AlertmanagerWebhook>, ApiError>,
) -> Result<Json<WebhookOutcome>, ApiError> {
    caller.require_somewhere(Permission::ReportIncidents)?;
    let AppJson(webhook) = body?;
    if !webhook.version.is_empty() && webhook.version != "4" {
        tracing::warn!(version = %webhook.version, "Alertmanager webhook of an unknown version; reading it as version 4");
    }
    let alerts = webhook
        .alerts
        .into_iter()
        .map(|a| WebhookAlert {
            status: a.status,
            labels: a.labels,
            annotations: a.annotations,
            starts_at: a.starts_at,
            ends_at: a.ends_at,
            generator_url: a.generator_url,
            fingerprint: a.fingerprint,
        })
        .collect();
    Ok(Json(incidents::from_alertmanager(state.ctx(), &caller, alerts).await?))
}
