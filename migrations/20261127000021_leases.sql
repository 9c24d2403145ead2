-- Leadership leases: one replica at a time runs the scheduler and the
-- runtime. Every take-over bumps `term`, the fencing token that each of the
-- leader's writes re-checks inside its own transaction.

CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    -- The replica holding it (host name and process id, plus a random suffix).
    holder      TEXT NOT NULL,
    term        BIGINT NOT NULL,
    acquired_at BIGINT NOT NULL,
    -- Wall-clock milliseconds; another replica may take over from then on.
    expires_at  BIGINT NOT NULL
);
