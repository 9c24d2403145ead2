//! Railyard's core: the use cases ([`service`]), the runtime that applies a
//! train's effects and renews its lease ([`runtime`]), the [`scheduler`],
//! the adapters to the platforms a train runs on ([`integrations`]), the
//! audit chain ([`audit`]) and the authorisation policy ([`auth`]). It
//! depends on the domain and the store and knows nothing of HTTP.

pub mod alerter;
pub mod artifacts;
pub mod audit;
pub mod auth;
pub mod clock;
pub mod demo_driver;
pub mod demo_history;
pub mod fleet;
pub mod gitops_sync;
pub mod ics;
pub mod integrations;
pub mod leadership;
pub mod markdown;
pub mod read_cache;
pub mod release_notes;
pub mod runtime;
pub mod scheduler;
pub mod service;

/// The pure domain, under the paths the core's modules use.
pub use railyard_domain::{
    alerting, analysis, cadence, candidate, delivery, digest, engine, gates, gitops, ids, links, manifest, roles, text,
    time, train_kind, train_state,
};

/// The SQL store.
pub use railyard_store as store;
