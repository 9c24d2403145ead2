-- The engine's runtime: each running train's state, and the outbox of
-- effects (with their idempotency keys) and timers waiting to be carried out.

CREATE TABLE train_runs (
    train_id   TEXT PRIMARY KEY REFERENCES trains (id),
    -- JSON of the engine's TrainRun.
    state      TEXT NOT NULL,
    -- Bumped on every change; writers check it (optimistic concurrency).
    version    BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE outbox (
    id         TEXT PRIMARY KEY,
    train_id   TEXT NOT NULL REFERENCES trains (id),
    -- The effect's idempotency key; an effect is stored once.
    effect_key TEXT NOT NULL UNIQUE,
    -- JSON of the engine's Effect.
    effect     TEXT NOT NULL,
    -- Not to be carried out before this instant (timers, retries).
    due_at     BIGINT NOT NULL,
    -- pending | done | failed
    status     TEXT NOT NULL,
    attempts   BIGINT NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    done_at    BIGINT
);
CREATE INDEX outbox_due ON outbox (status, due_at);
