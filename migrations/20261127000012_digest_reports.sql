-- What each environment reports running after a rollout step, against what
-- the train shipped (seed M12, artifact reproducibility).
CREATE TABLE digest_reports (
    train_id        TEXT NOT NULL REFERENCES trains (id),
    step            BIGINT NOT NULL,
    service         TEXT NOT NULL,
    environment     TEXT NOT NULL,
    expected_digest TEXT NOT NULL,
    running_digest  TEXT NOT NULL,
    reported_at     BIGINT NOT NULL,
    PRIMARY KEY (train_id, step, service)
);
