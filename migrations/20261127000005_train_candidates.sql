-- Which artifacts boarded which train, and how it ended for each.
CREATE TABLE train_candidates (
    train_id    TEXT NOT NULL REFERENCES trains (id),
    artifact_id TEXT NOT NULL REFERENCES artifacts (id),
    -- boarded | missed | shipped | rolled_back
    status      TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (train_id, artifact_id)
);
CREATE INDEX train_candidates_by_artifact ON train_candidates (artifact_id, status);
