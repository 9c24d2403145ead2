-- Railyard's first schema. Portable between SQLite and PostgreSQL:
-- application-generated TEXT ids, BIGINT UTC epoch milliseconds for instants,
-- TEXT for anything structured.

CREATE TABLE domains (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    colour      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE services (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    domain_id   TEXT NOT NULL REFERENCES domains (id),
    owner       TEXT NOT NULL DEFAULT '',
    runbook_url TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE train_definitions (
    id                 TEXT PRIMARY KEY,
    name               TEXT NOT NULL UNIQUE,
    domain_id          TEXT NOT NULL REFERENCES domains (id),
    cadence            TEXT NOT NULL,
    time_zone          TEXT NOT NULL,
    starts_on          TEXT NOT NULL,
    planning_window_ms BIGINT NOT NULL,
    cutover_window_ms  BIGINT NOT NULL,
    -- The scheduler never materialises trains that would have opened before this instant.
    active_from        BIGINT NOT NULL,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);

CREATE TABLE train_definition_services (
    definition_id TEXT NOT NULL REFERENCES train_definitions (id) ON DELETE CASCADE,
    service_id    TEXT NOT NULL REFERENCES services (id),
    PRIMARY KEY (definition_id, service_id)
);

CREATE TABLE trains (
    id                TEXT PRIMARY KEY,
    definition_id     TEXT NOT NULL REFERENCES train_definitions (id),
    state             TEXT NOT NULL,
    planning_opens_at BIGINT NOT NULL,
    cutover_at        BIGINT NOT NULL,
    cutover_closes_at BIGINT NOT NULL,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    -- One train per definition and cutover instant, whoever materialises it.
    UNIQUE (definition_id, cutover_at)
);
CREATE INDEX trains_by_cutover ON trains (cutover_at);
CREATE INDEX trains_by_state_and_opening ON trains (state, planning_opens_at);

CREATE TABLE train_events (
    id         TEXT PRIMARY KEY,
    train_id   TEXT NOT NULL REFERENCES trains (id),
    seq        BIGINT NOT NULL,
    at         BIGINT NOT NULL,
    kind       TEXT NOT NULL,
    from_state TEXT,
    to_state   TEXT,
    actor      TEXT NOT NULL,
    reason     TEXT NOT NULL DEFAULT '',
    UNIQUE (train_id, seq)
);

CREATE TABLE freezes (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    -- NULL freezes every domain.
    domain_id   TEXT REFERENCES domains (id),
    reason      TEXT NOT NULL DEFAULT '',
    time_zone   TEXT NOT NULL,
    -- NULL for a one-off freeze starting at starts_at; otherwise an RRULE
    -- whose occurrences each start a freeze of duration_ms.
    cadence     TEXT,
    starts_on   TEXT NOT NULL,
    starts_at   BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
