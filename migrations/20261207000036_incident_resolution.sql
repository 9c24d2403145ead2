-- Incidents end: resolved_at (NULL while open) gives time to restore. An incident opened from an
-- Alertmanager alert keeps the alert's fingerprint and start as source_key, so a resent or
-- resolved alert finds it again.
ALTER TABLE incidents ADD COLUMN resolved_at BIGINT;
ALTER TABLE incidents ADD COLUMN source_key TEXT;
CREATE UNIQUE INDEX incidents_by_source ON incidents (source_key) WHERE source_key IS NOT NULL;
CREATE INDEX incidents_by_start ON incidents (started_at);
