//! Applying a validated file to the store: one transaction, idempotent.
//! Entities are matched by name; an entity already as declared is not touched.

use std::collections::HashMap;
use std::fmt;

use chrono::{DateTime, Utc};

use super::graph::Graph;
use crate::cadence::resolve_local;
use crate::store::json_text::JsonText;
use crate::store::{
    self, definitions::Definition, domains::Domain, freezes::Freeze, services::Service, Conn, Db, DbError,
};
use crate::time::Instant;
use railyard_domain::manifest::{Fleet, FreezeSchedule, FreezeSpec, Problem};

/// What applying changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplySummary {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// What changed, `created train payments-daily`, in the file's order.
    pub changes: Vec<String>,
}

impl fmt::Display for ApplySummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} created, {} updated, {} unchanged", self.created, self.updated, self.unchanged)
    }
}

/// Why nothing was applied.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The file is wrong; every problem is listed.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Problem>),
    /// The store failed; nothing was written.
    #[error("the database failed while applying: {0}")]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for ApplyError {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(DbError::Other(e))
    }
}

enum Outcome {
    Created,
    Updated,
    Unchanged,
}

impl ApplySummary {
    fn count(&mut self, kind: &str, name: &str, outcome: Outcome) {
        match outcome {
            Outcome::Created => self.created += 1,
            Outcome::Updated => self.updated += 1,
            Outcome::Unchanged => self.unchanged += 1,
        }
        match outcome {
            Outcome::Created => self.changes.push(format!("created {kind} {name}")),
            Outcome::Updated => self.changes.push(format!("updated {kind} {name}")),
            Outcome::Unchanged => {}
        }
    }
}

/// Applies `fleet` at `now`. Either everything is stored or nothing is.
pub async fn apply(db: &Db, fleet: &Fleet, now: DateTime<Utc>) -> Result<ApplySummary, ApplyError> {
    let now = Instant::from_utc(now);
    let mut tx = db.begin().await?;
    let mut summary = ApplySummary::default();
    let mut problems = Vec::new();
    let problem = |location: String, field: &str, message: String| Problem::new(&fleet.file, &location, field, message);

    for spec in &fleet.domains {
        let wanted = Domain {
            id: String::new(),
            name: spec.name.clone(),
            description: spec.description.clone(),
            colour: spec.colour.clone(),
            notify_webhook_env: spec.notify_webhook_env.clone(),
            notify_on: as_json(&spec.notify_on),
        };
        let outcome = match store::domains::by_name(&mut tx, &spec.name).await? {
            None => {
                store::domains::insert(&mut tx, &Domain { id: store::new_id(), ..wanted }, now).await?;
                Outcome::Created
            }
            Some(existing) if existing == Domain { id: existing.id.clone(), ..wanted.clone() } => Outcome::Unchanged,
            Some(existing) => {
                store::domains::update(&mut tx, &Domain { id: existing.id, ..wanted }, now).await?;
                Outcome::Updated
            }
        };
        summary.count("domain", &spec.name, outcome);
    }
    let domain_ids: HashMap<String, String> =
        store::domains::list(&mut tx).await?.into_iter().map(|d| (d.name, d.id)).collect();

    for spec in &fleet.services {
        let Some(domain_id) = domain_ids.get(&spec.domain) else {
            problems.push(problem(format!("service \"{}\"", spec.name), "domain", unknown("domain", &spec.domain)));
            continue;
        };
        let wanted = Service {
            id: String::new(),
            name: spec.name.clone(),
            domain_id: domain_id.clone(),
            owner: spec.owner.clone(),
            runbook_url: spec.runbook_url.clone(),
            on_call: spec.on_call.clone(),
            slo: spec.slo.as_ref().map(as_json).unwrap_or_default(),
            calls: as_json(&spec.calls),
        };
        let outcome = match store::services::by_name(&mut tx, &spec.name).await? {
            None => {
                store::services::insert(&mut tx, &Service { id: store::new_id(), ..wanted }, now).await?;
                Outcome::Created
            }
            Some(existing) if existing == Service { id: existing.id.clone(), ..wanted.clone() } => Outcome::Unchanged,
            Some(existing) => {
                store::services::update(&mut tx, &Service { id: existing.id, ..wanted }, now).await?;
                Outcome::Updated
            }
        };
        summary.count("service", &spec.name, outcome);
    }
    let services: HashMap<String, Service> =
        store::services::list(&mut tx).await?.into_iter().map(|s| (s.name.clone(), s)).collect();
    dependency_problems(fleet, &services, &mut problems);

    for spec in &fleet.trains {
        let location = format!("train \"{}\"", spec.name);
        let Some(domain_id) = domain_ids.get(&spec.domain) else {
            problems.push(problem(location, "domain", unknown("domain", &spec.domain)));
            continue;
        };
        let mut service_ids = Vec::new();
        for name in &spec.services {
            match services.get(name) {
                None => problems.push(problem(location.clone(), "services", unknown("service", name))),
                Some(service) if &service.domain_id != domain_id => problems.push(problem(
                    location.clone(),
                    "services",
                    format!("service \"{name}\" belongs to another domain than \"{}\"", spec.domain),
                )),
                Some(service) => service_ids.push(service.id.clone()),
            }
        }
        service_ids.sort();
        let wanted = Definition {
            id: String::new(),
            name: spec.name.clone(),
            domain_id: domain_id.clone(),
            cadence: spec.cadence.rule().to_owned(),
            time_zone: spec.cadence.time_zone().name().to_owned(),
            starts_on: spec.cadence.starts_on().format("%Y-%m-%d").to_string(),
            planning_window_ms: spec.planning_window_ms,
            cutover_window_ms: spec.cutover_window_ms,
            active_from: now,
            rollout: JsonText(spec.rollout.clone()),
            preflight_ms: spec.preflight_ms,
            monitoring_ms: spec.monitoring_ms,
            gates: JsonText(spec.gates.clone()),
            deployer: spec.deployer.clone(),
            webhook_url: spec.webhook_url.clone(),
            webhook_secret_env: spec.webhook_secret_env.clone(),
            gitops: JsonText(spec.gitops.clone()),
            metrics_provider: spec.metrics_provider.clone(),
            prometheus_url: spec.prometheus_url.clone(),
            metrics: JsonText(spec.metrics.clone()),
            emergency_gates: JsonText(spec.emergency_gates.clone()),
            groups: JsonText(spec.groups.clone()),
            staging_webhook_url: spec.staging_webhook_url.clone(),
            overrides: i64::from(spec.overrides),
            alerting: JsonText(spec.alerting.clone()),
        };
        let outcome = match store::definitions::by_name(&mut tx, &spec.name).await? {
            None => {
                let id = store::new_id();
                store::definitions::insert(&mut tx, &Definition { id: id.clone(), ..wanted }, now).await?;
                store::definitions::set_service_ids(&mut tx, &id, &service_ids).await?;
                Outcome::Created
            }
            Some(existing) => {
                let same = existing
                    == Definition { id: existing.id.clone(), active_from: existing.active_from, ..wanted.clone() };
                let same_services = store::definitions::service_ids(&mut tx, &existing.id).await? == service_ids;
                if !same {
                    store::definitions::update(&mut tx, &Definition { id: existing.id.clone(), ..wanted }, now).await?;
                    // Trains not yet open follow the new schedule; the scheduler recreates them.
                    store::trains::delete_unopened(&mut tx, &existing.id).await?;
                }
                if !same_services {
                    store::definitions::set_service_ids(&mut tx, &existing.id, &service_ids).await?;
                }
                if same && same_services {
                    Outcome::Unchanged
                } else {
                    Outcome::Updated
                }
            }
        };
        summary.count("train", &spec.name, outcome);
    }

    for spec in &fleet.freezes {
        let domain_id = match &spec.domain {
            None => None,
            Some(name) => match domain_ids.get(name) {
                Some(id) => Some(id.clone()),
                None => {
                    problems.push(problem(format!("freeze \"{}\"", spec.name), "domain", unknown("domain", name)));
                    continue;
                }
            },
        };
        summary.count("freeze", &spec.name, upsert_freeze(&mut tx, spec, domain_id, now).await?);
    }

    for policy in &fleet.kinds {
        let changed = store::kinds::upsert(&mut tx, policy, now).await?;
        summary.count("kind", policy.kind.as_str(), if changed { Outcome::Updated } else { Outcome::Unchanged });
    }

    for mapping in &fleet.role_mappings {
        if let Some(name) = mapping.domain.as_deref().filter(|name| !domain_ids.contains_key(*name)) {
            let at = format!("role_mapping \"{}\"", mapping.value);
            problems.push(problem(at, "domain", unknown("domain", name)));
        }
    }
    if store::role_mappings::replace(&mut tx, &fleet.role_mappings, now).await? {
        let mapped: Vec<String> =
            fleet.role_mappings.iter().map(|m| format!("{}={} → {}", m.claim, m.value, m.binding().label())).collect();
        summary.count("role mappings", &mapped.join(", "), Outcome::Updated);
    }

    if store::regions::replace(&mut tx, &fleet.regions, now).await? {
        let names: Vec<&str> = fleet.regions.iter().map(|r| r.name.as_str()).collect();
        summary.count("regions", &names.join(", "), Outcome::Updated);
    }

    if problems.is_empty() {
        // Every apply is on record, changes or not: which file (by its hash) and what it changed.
        let entry = store::audit::Entry::new("fleet-apply", "fleet.applied", format!("fleet:{}", fleet.file)).change(
            &serde_json::Value::Null,
            &serde_json::json!({
                "sha256": fleet.digest,
                "created": summary.created,
                "updated": summary.updated,
                "unchanged": summary.unchanged,
                "changes": summary.changes,
            }),
        );
        store::audit::append(&mut tx, &entry, now).await?;
        tx.commit().await?;
        Ok(summary)
    } else {
        tx.rollback().await?;
        Err(ApplyError::Invalid(problems))
    }
}

async fn upsert_freeze(
    conn: &mut Conn,
    spec: &FreezeSpec,
    domain_id: Option<String>,
    now: Instant,
) -> Result<Outcome, DbError> {
    let wanted = stored_freeze(spec, domain_id);
    Ok(match store::freezes::by_name(conn, &spec.name).await? {
        None => {
            store::freezes::insert(conn, &Freeze { id: store::new_id(), ..wanted }, now).await?;
            Outcome::Created
        }
        Some(existing) if existing == Freeze { id: existing.id.clone(), ..wanted.clone() } => Outcome::Unchanged,
        Some(existing) => {
            store::freezes::update(conn, &Freeze { id: existing.id, ..wanted }, now).await?;
            Outcome::Updated
        }
    })
}

/// The stored form of a validated freeze (its id left empty).
pub fn stored_freeze(spec: &FreezeSpec, domain_id: Option<String>) -> Freeze {
    let (cadence, starts_on, starts_at, duration_ms) = match &spec.schedule {
        FreezeSchedule::Once { start, end } => {
            let starts_at = Instant::from_utc(resolve_local(spec.time_zone, *start));
            (None, start.date(), starts_at, Instant::from_utc(resolve_local(spec.time_zone, *end)) - starts_at)
        }
        FreezeSchedule::Recurring { cadence, duration_ms } => {
            let midnight = cadence.starts_on().and_hms_opt(0, 0, 0).unwrap_or_default();
            (
                Some(cadence.rule().to_owned()),
                cadence.starts_on(),
                Instant::from_utc(resolve_local(spec.time_zone, midnight)),
                *duration_ms,
            )
        }
    };
    Freeze {
        id: String::new(),
        name: spec.name.clone(),
        domain_id,
        reason: spec.reason.clone(),
        time_zone: spec.time_zone.name().to_owned(),
        cadence,
        starts_on: starts_on.format("%Y-%m-%d").to_string(),
        starts_at,
        duration_ms,
    }
}

/// JSON of plain data (strings, numbers, enums), which cannot fail to serialise.
fn as_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("plain data serialises")
}

/// Calls must name services (in the file or stored), and the whole graph —
/// this file's services with those already applied — must have no cycle.
fn dependency_problems(fleet: &Fleet, services: &HashMap<String, Service>, problems: &mut Vec<Problem>) {
    for spec in &fleet.services {
        for callee in spec.calls.iter().filter(|callee| !services.contains_key(*callee)) {
            let location = format!("service \"{}\"", spec.name);
            problems.push(Problem::new(&fleet.file, &location, "calls", unknown("service", callee)));
        }
    }
    let calls: Vec<(String, Vec<String>)> = services.values().map(|s| (s.name.clone(), s.callees())).collect();
    let graph = Graph::new(calls.iter().map(|(name, calls)| (name.as_str(), calls.as_slice())));
    if let Some(cycle) = graph.cycle() {
        let location = format!("service \"{}\"", cycle[0]);
        let message = format!(
            "dependency cycle with the services already applied: {}; services must not call each other in a circle",
            cycle.join(" → ")
        );
        problems.push(Problem::new(&fleet.file, &location, "calls", message));
    }
}

fn unknown(kind: &str, name: &str) -> String {
    format!("names {kind} \"{name}\", which is neither in this file nor already applied")
}
