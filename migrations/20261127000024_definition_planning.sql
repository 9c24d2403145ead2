-- The first cutover of each definition that the scheduler has not planned
-- yet: a tick only looks at definitions whose next cutover enters its
-- horizon, so it costs what there is to do, not the size of the fleet.
-- 0 means "plan it now" (new or changed definitions).
ALTER TABLE train_definitions ADD COLUMN next_unplanned_cutover BIGINT NOT NULL DEFAULT 0;
CREATE INDEX train_definitions_next_unplanned ON train_definitions (next_unplanned_cutover);
