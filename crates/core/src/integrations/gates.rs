//! Running a candidate's gates: the facts come from the store (approvals,
//! checks, SLOs, budgets, contracts); the verdicts are the domain's
//! (`gates::{compliance, schema, observability, check}`).

use anyhow::Context;
use railyard_domain::time::Instant;

use super::assembly::irreversible_migrations;
use super::FleetIntegrations;
use crate::artifacts::contracts::{self, Contracts, Party, Place};
use crate::artifacts::CheckStatus;
use crate::engine::GateOutcome;
use crate::gates::{self, GateKind};
use crate::runtime;
use crate::store;

impl FleetIntegrations {
    /// Evaluates `gate` of `artifact_id` on `train_id`: gathers the facts
    /// and hands them to the domain's evaluation.
    pub(super) async fn gate(
        &self,
        train_id: &str,
        now: Instant,
        artifact_id: &str,
        gate: &str,
    ) -> anyhow::Result<GateOutcome> {
        let kind = GateKind::parse(gate)?;
        let mut conn = self.db.acquire().await?;
        let artifact = store::artifacts::by_id(&mut conn, artifact_id).await?.context("the artifact is gone")?;
        Ok(match kind {
            GateKind::ErrorBudget => {
                drop(conn);
                self.budget_gate(train_id, &artifact.service, now).await?
            }
            GateKind::Observability => {
                let service =
                    store::services::by_name(&mut conn, &artifact.service).await?.context("the service is gone")?;
                gates::observability(&service.name, !service.slo.is_empty())
            }
            GateKind::ApiContract => {
                drop(conn);
                self.contract_gate(train_id, artifact_id).await?
            }
            GateKind::Compliance => gates::compliance(store::approvals::standing(&mut conn, artifact_id).await?.into()),
            GateKind::Schema => {
                let standing = store::approvals::standing(&mut conn, artifact_id).await?;
                gates::schema(&irreversible_migrations(&artifact.migrations), standing.into())
            }
            GateKind::Check(check) => {
                let latest = store::artifacts::latest_check(&mut conn, artifact_id, gate).await?;
                let latest = match latest {
                    Some(found) => {
                        let status: CheckStatus = serde_json::from_value(serde_json::Value::String(found.status))?;
                        let detail = if found.summary.is_empty() {
                            found.name
                        } else {
                            format!("{}: {}", found.name, found.summary)
                        };
                        Some((status, detail))
                    }
                    None => None,
                };
                gates::check(check, latest).map_err(anyhow::Error::msg)?
            }
        })
    }

    /// The API-contract gate: blocked when, after this train, a consumer
    /// (on it or in production) requires a contract version nobody provides
    /// and this candidate requires it or stopped providing it.
    async fn contract_gate(&self, train_id: &str, artifact_id: &str) -> anyhow::Result<GateOutcome> {
        let run = runtime::load(&self.db, train_id).await?;
        let mut conn = self.db.acquire().await?;
        let party = |a: store::artifacts::Artifact, place| Party {
            contracts: Contracts::parse_stored(&a.contracts),
            service: a.service,
            version: a.version,
            place,
        };
        let mut on_train = Vec::new();
        for candidate in run.candidates.iter().filter(|c| c.boarded() || c.artifact_id == artifact_id) {
            if let Some(artifact) = store::artifacts::by_id(&mut conn, &candidate.artifact_id).await? {
                on_train.push(party(artifact, Place::Train));
            }
        }
        let production: Vec<Party> = store::artifacts::in_production(&mut conn)
            .await?
            .into_iter()
            .map(|a| party(a, Place::Production))
            .collect();
        let artifact = store::artifacts::by_id(&mut conn, artifact_id).await?.context("the artifact is gone")?;
        let previous = production.iter().find(|p| p.service == artifact.service).map(|p| p.contracts.clone());
        let found = contracts::mismatches(&contracts::after_train(on_train, production));
        let blamed = contracts::blamed_on(&artifact.service, previous.as_ref(), &found);
        Ok(if blamed.is_empty() {
            GateOutcome::Passed
        } else {
            GateOutcome::Blocked(blamed.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))
        })
    }
}
