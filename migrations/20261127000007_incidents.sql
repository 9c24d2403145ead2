-- Incidents reported by paging tools, attributed to the train that last
-- changed the service within 24 hours before the incident started (seed M6).
CREATE TABLE incidents (
    id          TEXT PRIMARY KEY,
    service_id  TEXT NOT NULL REFERENCES services (id),
    severity    TEXT NOT NULL,
    title       TEXT NOT NULL DEFAULT '',
    link        TEXT NOT NULL DEFAULT '',
    started_at  BIGINT NOT NULL,
    train_id    TEXT REFERENCES trains (id),
    reported_at BIGINT NOT NULL
);
CREATE INDEX incidents_by_train ON incidents (train_id);
