//! Incidents as paging tools report them (by hand, or as Alertmanager's
//! webhook posts alerts), attributed to the train that last changed the
//! service (seed M6), and resolved when service is restored.

use std::collections::BTreeMap;

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
        resolved_at: None,
        source_key: None,
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

/// Marks incident `id` resolved at `resolved_at` (RFC 3339; none: now); answers it with its service's name.
pub async fn resolve(
    ctx: Ctx<'_>,
    caller: &Caller,
    id: &str,
    resolved_at: Option<&str>,
) -> Result<(Incident, String), ServiceError> {
    caller.require_somewhere(Permission::ReportIncidents)?;
    let now = ctx.now();
    let at = match resolved_at.map(str::trim).filter(|t| !t.is_empty()) {
        None => now,
        Some(text) => Instant::from_utc(
            DateTime::parse_from_rfc3339(text)
                .map_err(|_| {
                    ServiceError::invalid("`resolved_at` must be an RFC 3339 instant like 2026-12-01T04:05:00Z")
                })?
                .to_utc(),
        ),
    };
    let mut tx = ctx.db.begin().await?;
    let incident = store::incidents::by_id(&mut tx, id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("no incident {id}")))?;
    let domain = store::domains::of_service(&mut tx, &incident.service_id).await?;
    caller.require(Permission::ReportIncidents, domain.as_deref())?;
    if let Some(done) = incident.resolved_at {
        return Err(ServiceError::Conflict(format!("incident {id} was already resolved at {}", done.rfc3339())));
    }
    if at < incident.started_at || at > now {
        return Err(ServiceError::invalid(format!(
            "`resolved_at` must lie between the incident's start ({}) and now",
            incident.started_at.rfc3339()
        )));
    }
    store::incidents::resolve(&mut tx, id, at).await?;
    let entry = caller
        .audit("incident.resolved", &format!("incident:{id}"))
        .change(&serde_json::Value::Null, &serde_json::json!({ "resolved_at": at.rfc3339() }));
    store::audit::append(&mut tx, &entry, now).await?;
    let service = store::services::list(&mut tx)
        .await?
        .into_iter()
        .find(|s| s.id == incident.service_id)
        .map(|s| s.name)
        .unwrap_or_default();
    ctx.commit(tx).await?;
    Ok((Incident { resolved_at: Some(at), ..incident }, service))
}

/// One alert of Alertmanager's webhook.
#[derive(Debug, Clone)]
pub struct WebhookAlert {
    /// `firing` or `resolved`.
    pub status: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub starts_at: String,
    pub ends_at: String,
    pub generator_url: String,
    pub fingerprint: String,
}

/// What a webhook call did.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct WebhookOutcome {
    /// Incidents opened for firing alerts.
    pub opened: Vec<String>,
    /// Incidents resolved by resolved alerts.
    pub resolved: Vec<String>,
    /// Alerts left alone, each with why (no known service, already recorded, ...).
    pub ignored: Vec<String>,
}

/// Opens an incident for every firing alert that names a declared service (label `service`,
/// else `app`) and resolves the incident of every resolved one. The same alert sent again
/// changes nothing, so Alertmanager's retries and repeats are safe.
pub async fn from_alertmanager(
    ctx: Ctx<'_>,
    caller: &Caller,
    alerts: Vec<WebhookAlert>,
) -> Result<WebhookOutcome, ServiceError> {
    caller.require_somewhere(Permission::ReportIncidents)?;
    let mut outcome = WebhookOutcome::default();
    let mut tx = ctx.db.begin().await?;
    for alert in alerts {
        let name = alert.labels.get("alertname").cloned().unwrap_or_else(|| "alert".into());
        let started_at = DateTime::parse_from_rfc3339(&alert.starts_at)
            .map_err(|_| ServiceError::invalid(format!("alert {name}: `startsAt` is not an RFC 3339 instant")))?;
        let started_at = Instant::from_utc(started_at.to_utc());
        if alert.fingerprint.trim().is_empty() {
            return Err(ServiceError::invalid(format!("alert {name} has no `fingerprint`")));
        }
        let key = format!("alertmanager:{}@{}", alert.fingerprint.trim(), started_at.ms());
        let known = store::incidents::by_source(&mut tx, &key).await?;
        let service_name = alert.labels.get("service").or_else(|| alert.labels.get("app")).cloned().unwrap_or_default();
        let service = match service_name.is_empty() {
            true => None,
            false => store::services::by_name(&mut tx, &service_name).await?,
        };
        let domain = match &service {
            Some(service) => store::domains::of_service(&mut tx, &service.id).await?,
            None => None,
        };
        if service.is_some() && !caller.principal.can(Permission::ReportIncidents, domain.as_deref()) {
            outcome.ignored.push(format!("{name}: this token may not report incidents of {service_name}"));
            continue;
        }
        match (alert.status.as_str(), known, service) {
            ("resolved", Some(incident), _) if incident.resolved_at.is_none() => {
                let at = DateTime::parse_from_rfc3339(&alert.ends_at)
                    .map(|t| Instant::from_utc(t.to_utc()))
                    .unwrap_or_else(|_| ctx.now())
                    .max(incident.started_at);
                store::incidents::resolve(&mut tx, &incident.id, at).await?;
                let entry = caller.audit("incident.resolved", &format!("incident:{}", incident.id)).change(
                    &serde_json::Value::Null,
                    &serde_json::json!({ "resolved_at": at.rfc3339(), "alert": name }),
                );
                store::audit::append(&mut tx, &entry, ctx.now()).await?;
                outcome.resolved.push(incident.id);
            }
            ("resolved", Some(incident), _) => {
                outcome.ignored.push(format!("{name}: incident {} already resolved", incident.id))
            }
            (_, Some(incident), _) => outcome.ignored.push(format!("{name}: incident {} already open", incident.id)),
            (_, None, None) => outcome.ignored.push(format!(
                "{name}: no declared service in its `service` or `app` label{}",
                if service_name.is_empty() { String::new() } else { format!(" ({service_name})") }
            )),
            (status, None, Some(service)) if status == "firing" || status == "resolved" => {
                let train_id = match alert.labels.get("train") {
                    Some(train)
                        if store::trains::kind_of(&mut tx, train)
                            .await
                            .is_ok_and(|k| k != crate::train_kind::TrainKind::Rehearsal)
                            && store::trains::definition_id_of(&mut tx, train).await?.is_some() =>
                    {
                        Some(train.clone())
                    }
                    _ => store::incidents::attributable_train(&mut tx, &service.id, started_at).await?,
                };
                let resolved_at = (status == "resolved").then(|| {
                    DateTime::parse_from_rfc3339(&alert.ends_at)
                        .map(|t| Instant::from_utc(t.to_utc()))
                        .unwrap_or_else(|_| ctx.now())
                });
                let title = alert.annotations.get("summary").cloned().unwrap_or_else(|| name.clone());
                let link = [alert.annotations.get("train_url"), Some(&alert.generator_url)]
                    .into_iter()
                    .flatten()
                    .find(|l| is_web_link(l))
                    .cloned()
                    .unwrap_or_default();
                let incident = Incident {
                    id: store::new_id(),
                    service_id: service.id,
                    severity: severity_of(alert.labels.get("severity").map(String::as_str)),
                    title: title.chars().take(500).collect(),
                    link,
                    started_at,
                    train_id,
                    reported_at: ctx.now(),
                    resolved_at: resolved_at.map(|at| at.max(started_at)),
                    source_key: Some(key),
                };
                store::incidents::insert(&mut tx, &incident).await?;
                let entry = caller.audit("incident.reported", &format!("incident:{}", incident.id)).change(
                    &serde_json::Value::Null,
                    &serde_json::json!({ "service": service.name, "severity": incident.severity, "train": incident.train_id, "alert": name }),
                );
                store::audit::append(&mut tx, &entry, ctx.now()).await?;
                outcome.opened.push(incident.id);
            }
            (status, None, Some(_)) => outcome.ignored.push(format!("{name}: unknown status \"{status}\"")),
        }
    }
    ctx.commit(tx).await?;
    Ok(outcome)
}

/// An incident severity from an alert's `severity` label: Railyard's own `page`/`ticket`, or the
/// usual `critical`/`warning`/`info`.
fn severity_of(label: Option<&str>) -> String {
    let label = label.unwrap_or("").trim().to_ascii_lowercase();
    match label.as_str() {
        "page" | "critical" | "error" => "critical".into(),
        "ticket" | "warning" => "medium".into(),
        known if SEVERITIES.contains(&known) => known.into(),
        _ => "high".into(),
    }
}
