-- How each train definition rolls out: its steps, the pre-flight lead
-- before cutover, the monitoring window after, and the gates candidates clear.
ALTER TABLE train_definitions ADD COLUMN rollout TEXT NOT NULL DEFAULT '[]';
ALTER TABLE train_definitions ADD COLUMN preflight_ms BIGINT NOT NULL DEFAULT 7200000;
ALTER TABLE train_definitions ADD COLUMN monitoring_ms BIGINT NOT NULL DEFAULT 3600000;
ALTER TABLE train_definitions ADD COLUMN gates TEXT NOT NULL DEFAULT '["tests","security_scan"]';
ALTER TABLE train_definitions ADD COLUMN deployer TEXT NOT NULL DEFAULT 'simulated';
