-- Every gate run and its outcome, so flakiness (seed F1) can be computed:
-- the same artifact's gate answering both pass and not-pass.
CREATE TABLE gate_runs (
    id          TEXT PRIMARY KEY,
    train_id    TEXT NOT NULL REFERENCES trains (id),
    artifact_id TEXT NOT NULL,
    gate        TEXT NOT NULL,
    -- passed, failed, deferred, inconclusive, errored or awaiting
    outcome     TEXT NOT NULL,
    detail      TEXT NOT NULL,
    at          BIGINT NOT NULL
);
CREATE INDEX gate_runs_by_gate ON gate_runs (gate, at);
