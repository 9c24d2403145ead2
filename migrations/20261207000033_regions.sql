-- The regions rollouts name, as trains-as-code declares them; critical ones lead the dashboard's M9.
CREATE TABLE regions (
    name        TEXT PRIMARY KEY,
    critical    INTEGER NOT NULL DEFAULT 0,
    description TEXT NOT NULL DEFAULT '',
    -- The order of the file, so the dashboard lists regions as declared.
    position    INTEGER NOT NULL DEFAULT 0,
    updated_at  BIGINT NOT NULL
);
