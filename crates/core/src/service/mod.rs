//! Use cases: one function per thing a person, a pipeline or the scheduler
//! does, each in its caller's transaction. The HTTP handlers, the pages'
//! backend, the scheduler and the demo driver call these instead of
//! repeating them.

pub mod account;
pub mod approval_rules;
pub mod approvals;
pub mod artifacts;
pub mod audit;
pub mod break_glass;
pub mod embeds;
mod error;
pub mod freezes;
pub mod tokens;
pub mod trains;
pub mod users;
pub mod views;

use crate::clock::Clock;
use crate::store::Db;

pub use error::ServiceError;

/// What every use case works with: the store and the clock.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub db: &'a Db,
    pub clock: &'a dyn Clock,
}

impl Ctx<'_> {
    /// Now, in epoch milliseconds.
    pub fn now(&self) -> i64 {
        crate::time::to_ms(self.clock.now())
    }
}
