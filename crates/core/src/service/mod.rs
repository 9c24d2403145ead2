//! Use cases: one function per thing a person, a pipeline or the scheduler
//! does, each in its caller's transaction. The HTTP handlers, the pages'
//! backend, the scheduler and the demo driver call these instead of
//! repeating them.

pub mod account;
pub mod approval_links;
pub mod approval_rules;
pub mod approvals;
pub mod artifacts;
pub mod audit;
pub mod break_glass;
pub mod credentials;
pub mod deployments;
pub mod embeds;
mod error;
pub mod freezes;
pub mod gitops;
pub mod incidents;
pub mod sign_in;
pub mod sso;
pub mod tokens;
pub mod trains;
pub mod users;
pub mod views;

use crate::clock::Clock;
use crate::read_cache::ReadCaches;
use crate::store::{Db, DbError};
use railyard_domain::time::Instant;

pub use error::ServiceError;

/// What every use case works with: the store, the clock and the read caches.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub db: &'a Db,
    pub clock: &'a dyn Clock,
    pub caches: &'a ReadCaches,
}

impl Ctx<'_> {
    /// Now, in epoch milliseconds.
    pub fn now(&self) -> Instant {
        self.clock.instant()
    }

    /// Commits a use case's transaction and tells the read caches that what
    /// people read has changed.
    pub async fn commit(&self, tx: crate::store::Tx) -> Result<(), DbError> {
        tx.commit().await?;
        self.caches.changed();
        Ok(())
    }
}
