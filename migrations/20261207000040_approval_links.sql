-- Links in approval notifications: one per candidate and request, signed,
-- single-use, expiring with the request (the train's cutover).
CREATE TABLE approval_links (
    id          TEXT PRIMARY KEY,
    train_id    TEXT NOT NULL REFERENCES trains (id),
    artifact_id TEXT NOT NULL REFERENCES artifacts (id),
    expires_at  BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    used_at     BIGINT,
    used_by     TEXT
);
CREATE INDEX approval_links_by_train ON approval_links (train_id);
