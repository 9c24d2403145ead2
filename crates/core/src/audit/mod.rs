//! The tamper-evident audit log. Every record carries the SHA-256 of the
//! previous record's hash and its own canonical encoding, so changing,
//! removing or reordering any record breaks the chain from that record on.
//! [`verify`] recomputes the chain from the genesis hash and names the first
//! record that does not fit.

pub use railyard_domain::audit_chain as chain;
pub mod checkpoint;
pub mod keyed;
pub mod log;

pub use chain::{verify, Record, Verification, Verifier, GENESIS};
