//! Railyard's server: configuration, start-up, the HTTP surface, the SQL
//! store, cadences, the scheduler and trains-as-code.

pub mod api;
pub mod artifacts;
pub mod assets;
pub mod audit;
pub mod auth;
pub mod canary_replay;
pub mod cli;
pub mod clock;
pub mod config;
pub mod demo_driver;
pub mod fleet;
pub mod ics;
pub mod integrations;
pub mod leadership;
pub mod markdown;
pub mod pages;
pub mod postmortem;
pub mod read_cache;
pub mod release_notes;
pub mod routes;
pub mod runtime;
pub mod scheduler;
pub mod service;
pub mod startup;
pub mod telemetry;

/// The pure domain (engine, canary analysis, cadences, trains-as-code), under the paths the server has always used.
pub use railyard_domain::{
    analysis, cadence, delivery, engine, gates, links, manifest, roles, time, train_kind, train_state,
};

/// The SQL store, under the path the server has always used.
pub use railyard_store as store;
