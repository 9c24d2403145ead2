//! Railyard's server: configuration, start-up, the HTTP surface, the SQL
//! store, cadences, the scheduler and trains-as-code.

pub mod analysis;
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
pub mod engine;
pub mod fleet;
pub mod ics;
pub mod integrations;
pub mod leadership;
pub mod links;
pub mod markdown;
pub mod pages;
pub mod postmortem;
pub mod read_cache;
pub mod release_notes;
pub mod routes;
pub mod runtime;
pub mod schedule;
pub mod scheduler;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod time;
pub mod train_kind;
pub mod train_state;
