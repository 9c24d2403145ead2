//! Railyard's server: configuration, start-up, the HTTP surface (API
//! routes, DTOs, middleware), the pages' backend and the CLI. The use cases
//! live in the core crate.

pub mod api;
pub mod assets;
pub mod auth;
pub mod canary_replay;
pub mod cli;
pub mod config;

pub mod pages;

pub mod routes;
pub mod startup;
pub mod telemetry;

/// The core (use cases, runtime, scheduler, adapters, audit), under the paths the server has always used.
pub use railyard_core::{
    alerter, artifacts, audit, clock, demo_driver, demo_history, fleet, gitops_sync, ics, integrations, leadership,
    markdown, read_cache, release_notes, runtime, scheduler, service,
};

/// The pure domain (engine, canary analysis, cadences, trains-as-code), under the paths the server has always used.
pub use railyard_domain::{
    alerting, analysis, cadence, candidate, delivery, digest, engine, gates, gitops, ids, links, manifest, roles, text,
    time, train_kind, train_state,
};

/// The SQL store, under the path the server has always used.
pub use railyard_store as store;
