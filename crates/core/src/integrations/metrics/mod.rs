//! Metrics providers: where a canary's and its baseline's series come
//! from. One trait, one file per adapter; a definition's [`MetricsSettings`]
//! pick the adapter. The judging itself is the domain's
//! (`analysis::judge_metric`, `analysis::score`).

pub mod prometheus;
pub mod simulated;

use crate::delivery::MetricsSettings;
use crate::engine::Environment;
use crate::runtime::BoxFuture;
use crate::time::Instant;

use super::canary::Judgement;

/// One canary analysis to run.
pub struct CanaryQuery<'a> {
    pub train_id: &'a str,
    pub step: usize,
    /// The services on board.
    pub services: &'a [String],
    pub environment: Environment,
    /// The step's region, for region-by-region rollouts.
    pub region: Option<&'a str>,
    /// `[from, to]`: the step's soak.
    pub window: (Instant, Instant),
}

/// Judges canaries against their baselines. A provider that cannot read
/// its series answers `NoData`, never a pass.
pub trait MetricsProvider: Send + Sync {
    fn judge<'a>(&'a self, query: &'a CanaryQuery<'a>) -> BoxFuture<'a, Judgement>;
}

/// The providers' shared clients; [`MetricsProviders::for_settings`] binds one to a definition.
pub struct MetricsProviders {
    pub simulated: simulated::SimulatedMetrics,
    pub prometheus: prometheus::PrometheusProvider,
}

impl MetricsProviders {
    /// The provider a definition's `settings` name.
    pub fn for_settings<'a>(&'a self, settings: &'a MetricsSettings) -> Box<dyn MetricsProvider + 'a> {
        match settings {
            MetricsSettings::Simulated => Box::new(&self.simulated),
            MetricsSettings::Prometheus { url, metrics } => {
                Box::new(prometheus::PrometheusCanary { provider: &self.prometheus, url, metrics })
            }
        }
    }
}
