-- Where a webhook deployer posts, and the environment variable holding its signing secret.
ALTER TABLE train_definitions ADD COLUMN webhook_url TEXT NOT NULL DEFAULT '';
ALTER TABLE train_definitions ADD COLUMN webhook_secret_env TEXT NOT NULL DEFAULT '';
