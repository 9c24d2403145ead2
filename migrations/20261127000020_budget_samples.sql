-- Each service's error budget sampled on a fixed grid (every 30 minutes by
-- default): budget left over the SLO window ending at the sample, and the
-- burn rate over the hour before it. The budget pages chart these.
CREATE TABLE budget_samples (
    service   TEXT NOT NULL,
    at        BIGINT NOT NULL,
    remaining DOUBLE PRECISION NOT NULL,
    burn_rate DOUBLE PRECISION,
    PRIMARY KEY (service, at)
);
