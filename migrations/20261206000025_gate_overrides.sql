-- Whether a definition lets a failed or blocked gate be overridden by two
-- people (a release manager asks, a different approver grants). 1 = allowed.
ALTER TABLE train_definitions ADD COLUMN overrides BIGINT NOT NULL DEFAULT 1;
