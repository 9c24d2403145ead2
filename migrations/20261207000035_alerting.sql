-- A definition's alerting ([[train.expected_alerts]], alert_when_held) as one JSON document.
ALTER TABLE train_definitions ADD COLUMN alerting TEXT NOT NULL DEFAULT '';

-- Alerts Railyard raised: active while ends_at is NULL; a resolved one is sent to Alertmanager
-- until resolved_sent is 1.
CREATE TABLE alerts (
    fingerprint TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    severity TEXT NOT NULL,
    train_id TEXT NOT NULL,
    labels TEXT NOT NULL,
    annotations TEXT NOT NULL,
    starts_at BIGINT NOT NULL,
    ends_at BIGINT,
    resolved_sent INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX alerts_active ON alerts (ends_at);
CREATE INDEX alerts_train ON alerts (train_id);

-- Alertmanager silences Railyard created for a train's expected alerts.
CREATE TABLE alert_silences (
    train_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    silence_id TEXT NOT NULL,
    ends_at BIGINT NOT NULL,
    PRIMARY KEY (train_id, position)
);
