-- Candidates: artifacts registered by CI, and the checks CI reports on them.

CREATE TABLE artifacts (
    id          TEXT PRIMARY KEY,
    service_id  TEXT NOT NULL REFERENCES services (id),
    version     TEXT NOT NULL,
    -- Immutable content address, e.g. sha256:<64 hex digits>.
    digest      TEXT NOT NULL,
    commit_sha  TEXT NOT NULL,
    author      TEXT NOT NULL,
    -- JSON arrays: change entries and declared migrations.
    changes     TEXT NOT NULL,
    migrations  TEXT NOT NULL,
    -- Set when a gate rejected this digest; it may never board a train again.
    rejected_at BIGINT,
    rejected_reason TEXT,
    created_at  BIGINT NOT NULL,
    UNIQUE (service_id, digest)
);
CREATE INDEX artifacts_by_service ON artifacts (service_id, created_at);

CREATE TABLE artifact_checks (
    id          TEXT PRIMARY KEY,
    artifact_id TEXT NOT NULL REFERENCES artifacts (id),
    kind        TEXT NOT NULL,
    name        TEXT NOT NULL,
    status      TEXT NOT NULL,
    summary     TEXT NOT NULL DEFAULT '',
    url         TEXT NOT NULL DEFAULT '',
    -- JSON: findings per severity for security scans.
    details     TEXT NOT NULL DEFAULT '{}',
    reported_at BIGINT NOT NULL
);
CREATE INDEX artifact_checks_by_artifact ON artifact_checks (artifact_id, reported_at);
