-- The region a digest report is about (empty for rollouts without regions): drift is per service,
-- environment and region, so one region's drift is not hidden by another's report.
ALTER TABLE digest_reports ADD COLUMN region TEXT NOT NULL DEFAULT '';
