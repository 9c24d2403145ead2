//! Which notices a domain wants, and where they go.

use anyhow::Context;

use super::notify::Notifier;
use super::FleetIntegrations;
use crate::engine::Notice;
use crate::store;

impl FleetIntegrations {
    /// Posts `text` to the train's domain's incoming webhook, if it wants `notice`.
    pub(super) async fn post_notice(&self, train_id: &str, notice: Notice, text: &str) -> anyhow::Result<()> {
        let mut conn = self.db.acquire().await?;
        let definition = self.definition_of(&mut conn, train_id).await?;
        let domains = store::domains::list(&mut conn).await?;
        drop(conn);
        let domain =
            domains.into_iter().find(|d| d.id == definition.domain_id).context("the train's domain is gone")?;
        let wanted: Vec<Notice> = serde_json::from_str(&domain.notify_on).unwrap_or_default();
        if domain.notify_webhook_env.is_empty() || !wanted.contains(&notice) {
            tracing::info!(train = %train_id, ?notice, text, "notification (no webhook for it)");
            return Ok(());
        }
        let url = std::env::var(&domain.notify_webhook_env).with_context(|| {
            format!("the notification variable {} is not set for this server", domain.notify_webhook_env)
        })?;
        let text = format!("[{}] {}: {text}", domain.name, definition.name);
        self.notifier.send(&url, &text).await
    }
}
