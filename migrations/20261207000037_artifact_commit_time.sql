-- When the artifact's commit was made (optional), for lead time for changes (DORA).
ALTER TABLE artifacts ADD COLUMN committed_at BIGINT;
