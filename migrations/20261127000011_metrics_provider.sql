-- Where a train's canary metrics come from: `simulated` or `prometheus` (with
-- its base URL), and the metrics judged (JSON array of queries and policies).
ALTER TABLE train_definitions ADD COLUMN metrics_provider TEXT NOT NULL DEFAULT 'simulated';
ALTER TABLE train_definitions ADD COLUMN prometheus_url TEXT NOT NULL DEFAULT '';
ALTER TABLE train_definitions ADD COLUMN metrics TEXT NOT NULL DEFAULT '[]';
