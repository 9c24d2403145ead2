-- What a finished train's rollout cost each service: error budget consumed
-- (seed M7) and p95 latency before and after (seed M8).
CREATE TABLE train_measurements (
    train_id         TEXT NOT NULL REFERENCES trains (id),
    service          TEXT NOT NULL,
    from_at          BIGINT NOT NULL,
    to_at            BIGINT NOT NULL,
    slo_target       DOUBLE PRECISION NOT NULL,
    bad              BIGINT NOT NULL,
    total            BIGINT NOT NULL,
    budget_consumed  DOUBLE PRECISION NOT NULL,
    budget_remaining DOUBLE PRECISION NOT NULL,
    latency_before   DOUBLE PRECISION,
    latency_after    DOUBLE PRECISION,
    measured_at      BIGINT NOT NULL,
    PRIMARY KEY (train_id, service)
);
