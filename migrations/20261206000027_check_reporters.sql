-- Who reported each check: the CI token (`token:<name>`) or the demo's
-- simulated CI. Checks reported before this column existed show as unknown.
ALTER TABLE artifact_checks ADD COLUMN reported_by TEXT NOT NULL DEFAULT '';
