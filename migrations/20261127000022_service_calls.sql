-- The services a service calls (JSON array of names), declared in the
-- trains-as-code file: the dependency graph that orders rollouts and names
-- what a change reaches.
ALTER TABLE services ADD COLUMN calls TEXT NOT NULL DEFAULT '[]';
