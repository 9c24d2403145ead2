//! Notifiers: where a train's notices go. One trait, one file per adapter.

pub mod slack;

use crate::runtime::BoxFuture;

/// Delivers one message to one destination.
pub trait Notifier: Send + Sync {
    /// Sends `text` to `destination` (for the Slack-style webhook, its URL).
    fn send<'a>(&'a self, destination: &'a str, text: &'a str) -> BoxFuture<'a, anyhow::Result<()>>;
}
