//! Which notices a domain wants, and where they go. Approval requests and
//! reminders carry a signed, single-use link per waiting candidate.

use anyhow::Context;

use super::notify::{Message, MessageLink, Notifier};
use super::FleetIntegrations;
use crate::auth::{approval_link, secret};
use crate::engine::{Candidate, Notice, TrainRun};
use crate::store::{self, approval_links::ApprovalLink};

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
        let links = match notice {
            Notice::ApprovalRequested | Notice::ApprovalExpiring => self.approval_links(train_id, notice, text).await?,
            _ => Vec::new(),
        };
        let message = Message { text: format!("[{}] {}: {text}", domain.name, definition.name), links };
        self.notifier.send(&url, &message).await
    }

    /// A new link for each candidate of the train the notice is about that
    /// waits for approvers (a request names its candidate first; a reminder
    /// covers every waiting one), each valid as long as the request.
    async fn approval_links(&self, train_id: &str, notice: Notice, text: &str) -> anyhow::Result<Vec<MessageLink>> {
        let now = self.clock.instant();
        let mut tx = self.db.begin().await?;
        let Some((run, _)) = store::runs::load(&mut tx, train_id).await? else { return Ok(Vec::new()) };
        let key = store::secrets::key(&mut tx, approval_link::KEY_NAME, &secret::random_token(32), now).await?;
        let mut links = Vec::new();
        for candidate in waiting(&run, notice, text) {
            let Some(artifact) = store::artifacts::by_id(&mut tx, &candidate).await? else { continue };
            let link = ApprovalLink {
                id: store::new_id(),
                train_id: train_id.to_owned(),
                artifact_id: candidate,
                expires_at: link_expiry(&run, now),
                created_at: now,
                used_at: None,
                used_by: None,
            };
            store::approval_links::insert(&mut tx, &link).await?;
            links.push(MessageLink {
                label: format!("Approve or reject {} {}", artifact.service, artifact.version),
                url: format!("{}/approve/{}", self.public_url, approval_link::token(key.as_bytes(), &link)),
            });
        }
        tx.commit().await?;
        Ok(links)
    }
}

/// An emergency train past its cutover waits for approvers as long as it takes.
const LINK_LIFETIME_AFTER_CUTOVER_MS: i64 = 24 * 60 * 60_000;

/// When a link lapses: with the request at cutover, or a day on for a train
/// already past its cutover (whose request does not expire).
fn link_expiry(run: &TrainRun, now: crate::time::Instant) -> crate::time::Instant {
    if run.cutover_at > now {
        run.cutover_at
    } else {
        now + LINK_LIFETIME_AFTER_CUTOVER_MS
    }
}

/// The artifact ids a notice's links are for.
fn waiting(run: &TrainRun, notice: Notice, text: &str) -> Vec<String> {
    let all: Vec<&Candidate> = run.candidates.iter().filter(|c| run.awaits_approval(c.artifact_id.as_str())).collect();
    let named: Vec<&Candidate> = all.iter().copied().filter(|c| text.starts_with(&format!("{} ", c.service))).collect();
    let chosen = if notice == Notice::ApprovalRequested && !named.is_empty() { named } else { all };
    chosen.into_iter().map(|c| c.artifact_id.to_string()).collect()
}
