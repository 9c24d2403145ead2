-- Where a domain's notifications go (the environment variable holding a
-- Slack-compatible incoming-webhook URL) and which notices it wants.
ALTER TABLE domains ADD COLUMN notify_webhook_env TEXT NOT NULL DEFAULT '';
ALTER TABLE domains ADD COLUMN notify_on TEXT NOT NULL DEFAULT '[]';
