//! Slack-style incoming webhooks (Slack, Mattermost, Rocket.Chat and
//! others that take `{"text": ...}`): the text is escaped as Slack's
//! mrkdwn, links follow it as lines (read everywhere) and as Block Kit
//! buttons (Slack), and the URL, which carries the token, is never shown whole.

use super::{Message, Notifier};
use crate::integrations::redact;
use crate::markdown::escape_slack;
use crate::runtime::BoxFuture;

/// Slack takes at most this many buttons in one actions block.
const MAX_BUTTONS: usize = 25;
/// And at most this many characters on a button.
const MAX_LABEL: usize = 75;

/// Posts to incoming webhooks.
#[derive(Debug, Clone)]
pub struct SlackWebhook {
    pub client: reqwest::Client,
}

/// The webhook's JSON body for `message`.
pub fn body(message: &Message) -> serde_json::Value {
    let mut text = escape_slack(&message.text);
    for link in &message.links {
        text.push_str(&format!("\n<{}|{}>", link.url, escape_slack(&link.label)));
    }
    if message.links.is_empty() {
        return serde_json::json!({ "text": text });
    }
    let buttons: Vec<serde_json::Value> = message
        .links
        .iter()
        .take(MAX_BUTTONS)
        .map(|link| {
            let label: String = link.label.chars().take(MAX_LABEL).collect();
            serde_json::json!({ "type": "button", "text": { "type": "plain_text", "text": label }, "url": link.url })
        })
        .collect();
    serde_json::json!({
        "text": text,
        "blocks": [
            { "type": "section", "text": { "type": "mrkdwn", "text": escape_slack(&message.text) } },
            { "type": "actions", "elements": buttons },
        ],
    })
}

impl Notifier for SlackWebhook {
    fn send<'a>(&'a self, url: &'a str, message: &'a Message) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            // The URL is the secret (Slack's carry their token in the path): errors name only its host.
            let shown = redact::url_for_display(url);
            let response = self.client.post(url).json(&body(message)).send().await.map_err(|error| {
                anyhow::anyhow!("the notification webhook at {shown} did not answer: {}", error.without_url())
            })?;
            if !response.status().is_success() {
                anyhow::bail!("the notification webhook at {shown} answered {}", response.status());
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::integrations::notify::MessageLink;

    #[test]
    fn links_follow_the_text_and_become_buttons_and_mentions_stay_plain() {
        let message = Message {
            text: "ledger waits for compliance <!channel>".into(),
            links: vec![MessageLink {
                label: "Approve or reject ledger 1.4.2".into(),
                url: "https://r.example/approve/x.y".into(),
            }],
        };
        let body = body(&message);
        assert_eq!(
            body["text"],
            "ledger waits for compliance &lt;!channel&gt;\n<https://r.example/approve/x.y|Approve or reject ledger 1.4.2>"
        );
        assert_eq!(body["blocks"][1]["elements"][0]["url"], "https://r.example/approve/x.y");
        assert_eq!(body["blocks"][1]["elements"][0]["text"]["text"], "Approve or reject ledger 1.4.2");
        let plain = super::body(&Message { text: "done".into(), links: vec![] });
        assert_eq!(plain, serde_json::json!({ "text": "done" }));
    }
}
