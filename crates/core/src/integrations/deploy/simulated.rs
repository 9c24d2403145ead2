//! The simulated deployer, a labelled demo feature: nothing leaves
//! Railyard, and every step "runs" exactly what it was given.

use super::{Deployer, ReleaseRequest, Released, RunningDigest};
use crate::runtime::BoxFuture;

/// Deploys nothing, and says so in the log.
#[derive(Debug, Clone, Copy, Default)]
pub struct SimulatedDeployer;

impl Deployer for SimulatedDeployer {
    fn release<'a>(&'a self, request: &'a ReleaseRequest<'a>) -> BoxFuture<'a, anyhow::Result<Released>> {
        let payload = request.payload;
        tracing::info!(
            train = %payload.train_id,
            step = payload.step.index,
            action = %payload.action,
            key = %request.key,
            "simulated deployer: done"
        );
        let running = payload
            .artifacts
            .iter()
            .map(|a| RunningDigest { service: a.service.clone(), digest: a.digest.clone() })
            .collect();
        Box::pin(async move { Ok(Released::Done { running }) })
    }
}
