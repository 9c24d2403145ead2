-- The train taxonomy (a policy per kind of train), atomic groups and a
-- staging deploy target per definition, and the API contracts artifacts
-- provide and require.
CREATE TABLE train_kinds (
    kind       TEXT PRIMARY KEY,
    policy     TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

ALTER TABLE train_definitions ADD COLUMN groups TEXT NOT NULL DEFAULT '[]';
ALTER TABLE train_definitions ADD COLUMN staging_webhook_url TEXT NOT NULL DEFAULT '';

ALTER TABLE artifacts ADD COLUMN contracts TEXT NOT NULL DEFAULT '{}';
