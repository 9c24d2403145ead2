-- Checkpoints of the audit log's head, each signed (HMAC-SHA256) with the
-- audit key the servers are given outside the database: someone who rewrites
-- the whole log and recomputes every hash cannot sign matching checkpoints.
CREATE TABLE audit_checkpoints (
    count BIGINT PRIMARY KEY,
    head  TEXT NOT NULL,
    mac   TEXT NOT NULL,
    at    BIGINT NOT NULL
);
