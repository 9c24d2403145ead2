//! Slack-style incoming webhooks (Slack, Mattermost, Rocket.Chat and
//! others that take `{"text": ...}`): the text is escaped as Slack's
//! mrkdwn, and the URL, which carries the token, is never shown whole.

use super::Notifier;
use crate::integrations::redact;
use crate::runtime::BoxFuture;

/// Posts to incoming webhooks.
#[derive(Debug, Clone)]
pub struct SlackWebhook {
    pub client: reqwest::Client,
}

impl Notifier for SlackWebhook {
    fn send<'a>(&'a self, url: &'a str, text: &'a str) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let message = serde_json::json!({ "text": crate::markdown::escape_slack(text) });
            // The URL is the secret (Slack's carry their token in the path): errors name only its host.
            let shown = redact::url_for_display(url);
            let response = self.client.post(url).json(&message).send().await.map_err(|error| {
                anyhow::anyhow!("the notification webhook at {shown} did not answer: {}", error.without_url())
            })?;
            if !response.status().is_success() {
                anyhow::bail!("the notification webhook at {shown} answered {}", response.status());
            }
            Ok(())
        })
    }
}
