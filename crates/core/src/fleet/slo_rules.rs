//! `railyard slo rules`: the Prometheus rule file for every SLO of the applied fleet.

use crate::analysis::slo_rules::{rule_file, SloSource};
use crate::store::{self, Db};

/// The rule file and the services left out (their SLO has no Prometheus queries).
pub async fn slo_rules(db: &Db) -> anyhow::Result<(String, Vec<String>)> {
    let mut conn = db.acquire().await?;
    let domains = store::domains::list(&mut conn).await?;
    let services = store::services::list(&mut conn).await?;
    drop(conn);
    let declared: Vec<_> = services
        .iter()
        .filter_map(|s| {
            let domain = domains.iter().find(|d| d.id == s.domain_id)?;
            Some((domain.name.as_str(), s, s.declared_slo()?))
        })
        .collect();
    let sources: Vec<SloSource<'_>> = declared
        .iter()
        .map(|(domain, service, slo)| SloSource { domain, service: &service.name, slo, runbook: &service.runbook_url })
        .collect();
    Ok(rule_file(&sources))
}
