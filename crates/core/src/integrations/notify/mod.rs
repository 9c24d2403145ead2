//! Notifiers: where a train's notices go. One trait, one file per adapter.

pub mod slack;

use crate::runtime::BoxFuture;

/// A notice as sent: its text and the links a person acts on (shown as buttons where the chat has them).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    pub text: String,
    pub links: Vec<MessageLink>,
}

/// A link to act on, e.g. "Approve or reject ledger 1.4.2".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageLink {
    pub label: String,
    pub url: String,
}

/// Delivers one message to one destination.
pub trait Notifier: Send + Sync {
    /// Sends `message` to `destination` (for the Slack-style webhook, its URL).
    fn send<'a>(&'a self, destination: &'a str, message: &'a Message) -> BoxFuture<'a, anyhow::Result<()>>;
}
