//! Trains as code: domains, services, train definitions and freezes declared
//! in a TOML file, validated as a whole and applied in one transaction.

mod apply;
pub mod demo;
mod slo_rules;
pub use railyard_domain::graph;

pub use apply::{apply, stored_freeze, ApplyError, ApplySummary};
pub use railyard_domain::manifest::{
    parse, parse_freeze, AtomicGroup, DomainSpec, Fleet, FreezeEntry, FreezeSchedule, FreezeSpec, Problem, ServiceSlo,
    ServiceSpec, TrainSpec,
};
pub use slo_rules::slo_rules;

/// The dependency graph of every stored service.
pub async fn dependency_graph(conn: &mut crate::store::Conn) -> Result<graph::Graph, crate::store::DbError> {
    let services = crate::store::services::list(conn).await?;
    let calls: Vec<(String, Vec<String>)> = services
        .into_iter()
        .map(|service| {
            let calls = service.callees();
            (service.name, calls)
        })
        .collect();
    Ok(graph::Graph::new(calls.iter().map(|(name, calls)| (name.as_str(), calls.as_slice()))))
}

/// Reads, validates and applies the file at `path`.
pub async fn apply_file(
    db: &crate::store::Db,
    path: &std::path::Path,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<ApplySummary, ApplyError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| ApplyError::Invalid(vec![Problem::new(&file, "file", "", format!("cannot be read: {e}"))]))?;
    let fleet = parse(&file, &text).map_err(ApplyError::Invalid)?;
    apply(db, &fleet, now).await
}
