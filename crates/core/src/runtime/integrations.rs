//! The runtime's port to the outside world: assembly, gates, deployers, the
//! canary judge's metric queries, notifications. Simulated and real
//! implementations live in `crate::integrations`.

use railyard_domain::time::Instant;
use std::future::Future;
use std::pin::Pin;

use crate::engine::{Boarding, Burn, GateOutcome, Notice, Verdict};

/// A boxed future, so the port stays object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How a deployer answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deployment {
    /// The step is deployed.
    Done,
    /// The deployer accepted the release and will report back by callback.
    Pending,
}

/// Which train an effect is for, and its idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectContext {
    pub train_id: String,
    pub key: String,
    /// The runtime's clock when it carries out the effect.
    pub now: Instant,
}

/// Everything effects need. An `Err` is retried with backoff, with the same key.
pub trait Integrations: Send + Sync {
    /// The newest passing candidate per service of the train, with the gates each must clear.
    fn assemble<'a>(&'a self, context: &'a EffectContext) -> BoxFuture<'a, anyhow::Result<Vec<Boarding>>>;
    /// Runs one gate for one candidate.
    fn run_gate<'a>(
        &'a self,
        context: &'a EffectContext,
        artifact_id: &'a str,
        gate: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<GateOutcome>>;
    /// Deploys the train's candidates for rollout step `step`.
    fn deploy<'a>(&'a self, context: &'a EffectContext, step: usize) -> BoxFuture<'a, anyhow::Result<Deployment>>;
    /// Judges the canary of step `step`.
    fn judge<'a>(&'a self, context: &'a EffectContext, step: usize)
        -> BoxFuture<'a, anyhow::Result<(Verdict, String)>>;
    /// Checks the fast-burn rule for every service on the train that has an SLO.
    fn check_burn<'a>(&'a self, context: &'a EffectContext, step: usize) -> BoxFuture<'a, anyhow::Result<Burn>>;
    /// Measures and stores what the rollout `[from, to]` cost each service (error budget, latency).
    fn measure<'a>(
        &'a self,
        context: &'a EffectContext,
        from: Instant,
        to: Instant,
    ) -> BoxFuture<'a, anyhow::Result<()>>;
    /// Restores the previous stable version of the train's services at step
    /// `step`: of `services` only, or of every service on board when empty.
    fn roll_back<'a>(
        &'a self,
        context: &'a EffectContext,
        step: usize,
        services: &'a [String],
    ) -> BoxFuture<'a, anyhow::Result<Deployment>>;
    /// Rejects the artifact of a candidate that failed a gate: its digest never boards again.
    fn reject<'a>(
        &'a self,
        context: &'a EffectContext,
        artifact_id: &'a str,
        reason: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<()>>;
    /// Lifts an artifact's rejection after an override let it back on the train.
    fn reinstate<'a>(
        &'a self,
        context: &'a EffectContext,
        artifact_id: &'a str,
        reason: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<()>>;
    /// Tells people.
    fn notify<'a>(
        &'a self,
        context: &'a EffectContext,
        notice: Notice,
        text: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<()>>;
}
