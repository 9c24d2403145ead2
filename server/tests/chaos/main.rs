//! Chaos tests against the real binary: SIGKILL in a loop, three replicas on
//! one PostgreSQL with a killed and a paused leader, memory under a hostile
//! crowd. Loopback only, each bounded in time.

mod fuzz;
mod gitops;
mod kill_loop;
mod load;
mod memory;
mod replicas;
mod support;

#[path = "../common/postgres.rs"]
mod postgres;
