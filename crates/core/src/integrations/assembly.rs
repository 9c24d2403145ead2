//! Assembly: which candidates board a train, with which gates, in which atomic groups.

use super::FleetIntegrations;
use crate::artifacts::Migration;
use crate::engine::{Boarding, Group, SCHEMA_GATE};
use crate::store;

impl FleetIntegrations {
    pub(super) async fn boarding(&self, train_id: &str) -> anyhow::Result<Vec<Boarding>> {
        let mut conn = self.db.acquire().await?;
        let definition = self.definition_of(&mut conn, train_id).await?;
        let kind = store::trains::kind_of(&mut conn, train_id).await?;
        let policy = store::kinds::policy(&mut conn, kind).await?;
        let (regular, reduced) = definition.gate_lists();
        let gates = policy.gates(&regular, &reduced);
        let groups = definition.atomic_groups();
        let listed = store::trains::emergency_candidates(&mut conn, train_id).await?;
        // An emergency train carries exactly what it was started for; the others the newest candidates.
        let artifacts = if listed.is_empty() {
            let service_ids = store::definitions::service_ids(&mut conn, &definition.id).await?;
            store::artifacts::newest_boardable(&mut conn, &service_ids).await?
        } else {
            let mut artifacts = Vec::new();
            for id in &listed {
                if let Some(artifact) =
                    store::artifacts::by_id(&mut conn, id).await?.filter(|a| a.rejected_at.is_none())
                {
                    artifacts.push(artifact);
                }
            }
            artifacts
        };
        Ok(artifacts
            .into_iter()
            .map(|a| {
                let irreversible = irreversible_migrations(&a.migrations);
                let mut gates = gates.clone();
                // An irreversible migration always needs its sign-off, whatever the definition lists.
                if !irreversible.is_empty() && !gates.iter().any(|g| g == SCHEMA_GATE) {
                    gates.push(SCHEMA_GATE.to_owned());
                }
                let group = groups
                    .iter()
                    .find(|g| g.services.contains(&a.service))
                    .map(|g| Group { name: g.name.clone(), services: g.services.clone() });
                Boarding { artifact_id: a.id, service: a.service, gates, irreversible, group }
            })
            .collect())
    }
}

/// The names of the irreversible migrations in an artifact's stored migrations (JSON).
pub fn irreversible_migrations(migrations: &str) -> Vec<String> {
    serde_json::from_str::<Vec<Migration>>(migrations)
        .unwrap_or_default()
        .into_iter()
        .filter(|m| !m.reversible)
        .map(|m| m.name.into_inner())
        .collect()
}
