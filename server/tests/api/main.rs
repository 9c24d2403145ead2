//! Integration tests: the real application on port 0 with a fresh database
//! per test, on SQLite and on PostgreSQL.

mod apply;
mod artifacts;
mod assets;
mod audit_log;
mod auth;
mod authorization;
mod bad_input;
mod budgets;
mod calendar_feed;
mod calendar_page;
mod cli;
mod compliance;
mod contracts;
mod demo_guide;
mod dependencies;
mod deploy_lock;
mod emergency;
mod freezes;
mod gitops;
mod groups;
mod health;
mod helpers;
mod leadership;
mod partial_rollback;
mod pipeline;
mod postmortem;
mod prometheus;
mod prometheus_faults;
mod rehearsal;
mod rejections;
mod runtime;
mod scheduler;
mod separation_of_duties;
mod trains_api;
mod webhook;
