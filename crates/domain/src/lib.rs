//! Railyard's pure domain: the train engine, canary analysis, cadences,
//! gates and trains-as-code. Nothing here reads a clock, a file, a socket
//! or the environment; the server crate does I/O and calls in.

pub mod alerting;
pub mod analysis;
pub mod audit_chain;
pub mod cadence;
pub mod candidate;
pub mod checks;
pub mod delivery;
pub mod digest;
pub mod engine;
pub mod gates;
pub mod gitops;
pub mod graph;
pub mod ids;
pub mod links;
pub mod manifest;
pub mod role_mapping;
pub mod roles;
pub mod text;
pub mod time;
pub mod train_kind;
pub mod train_state;
pub mod yaml;
