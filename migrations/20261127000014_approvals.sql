-- Compliance approvals of candidates, the per-domain rule of how many are
-- needed, and break-glass requests that let a domain's trains pass a freeze.
CREATE TABLE approval_rules (
    domain_id          TEXT PRIMARY KEY REFERENCES domains (id),
    required_approvals BIGINT NOT NULL,
    updated_by         TEXT NOT NULL,
    updated_at         BIGINT NOT NULL
);

CREATE TABLE approvals (
    id          TEXT PRIMARY KEY,
    artifact_id TEXT NOT NULL REFERENCES artifacts (id),
    approver    TEXT NOT NULL,
    decision    TEXT NOT NULL,
    comment     TEXT NOT NULL DEFAULT '',
    decided_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX approvals_one_per_person ON approvals (artifact_id, approver);

CREATE TABLE break_glass (
    id                 TEXT PRIMARY KEY,
    domain_id          TEXT NOT NULL REFERENCES domains (id),
    requested_by       TEXT NOT NULL,
    reason             TEXT NOT NULL,
    requested_at       BIGINT NOT NULL,
    duration_ms        BIGINT NOT NULL,
    first_approver     TEXT,
    first_approved_at  BIGINT,
    second_approver    TEXT,
    second_approved_at BIGINT,
    rejected_by        TEXT,
    rejected_at        BIGINT
);
CREATE INDEX break_glass_by_domain ON break_glass (domain_id);
