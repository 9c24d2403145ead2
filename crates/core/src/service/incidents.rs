//! Incidents as paging tools report them, attributed to the train that last
//! changed the service (seed M6).

use chrono::DateTime;

use super::{Ctx, ServiceError};
use crate::auth::{Caller, Permission};
use crate::links::is_web_link;
use crate::store::{self, incidents::Incident};
use crate::time::Instant;

/// Severities, most severe first.
pub const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "info"];

/// An incident as reported.
pub struct Report<'a> {
    pub service: &'a str,
    pub severity: &'a str,
    /// RFC 3339.
    pub started_at: &'a str,
    pub title: String,
    /// An http(s) URL, or empty.
    pub link: String,
}

/// Records an incident and attributes it; answers it with its service's name.
pub async fn report(ctx: Ctx<'_>, caller: &Caller, report: Report<'_>) -> Result<(Incident, String), ServiceError> {
    caller.require_somewhere(Permission::ReportIncidents)?;
    let severity = report.severity.trim().to_ascii_lowercase();
    if !SEVERITIES.contains(&severity.as_str()) {
        return Err(ServiceError::invalid(format!("`severity` must be one of {}", SEVERITIES.join(", "))));
    }
    let started_at = DateTime::parse_from_rfc3339(report.started_at)
        .map_err(|_| ServiceError::invalid("`started_at` must be an RFC 3339 instant like 2026-12-01T03:20:00Z"))?;
    if !report.link.is_empty() && !is_web_link(&report.link) {
        return Err(ServiceError::invalid("`link` must be an http(s) URL"));
    }
    if report.title.len() > 500 {
        return Err(ServiceError::invalid("`title` may be at most 500 characters"));
    }
    let mut tx = ctx.db.begin().await?;
    let service = store::services::by_name(&mut tx, report.service.trim())
        .await?
        .ok_or_else(|| ServiceError::Unprocessable(format!("service \"{}\" is not declared", report.service)))?;
    let domain = store::domains::of_service(&mut tx, &service.id).await?;
    caller.require(Permission::ReportIncidents, domain.as_deref())?;
    let started_at = Instant::from_utc(started_at.to_utc());
    let incident = Incident {
        id: store::new_id(),
        train_id: store::incidents::attributable_train(&mut tx, &service.id, started_at).await?,
        service_id: service.id,
        severity,
        title: report.title,
        link: report.link,
        started_at,
        reported_at: ctx.now(),
    };
    store::incidents::insert(&mut tx, &incident).await?;
    let entry = caller.audit("incident.reported", &format!("incident:{}", incident.id)).change(
        &serde_json::Value::Null,
        &serde_json::json!({ "service": service.name, "severity": incident.severity, "train": incident.train_id }),
    );
    store::audit::append(&mut tx, &entry, incident.reported_at).await?;
    ctx.commit(tx).await?;
    Ok((incident, service.name))
}
