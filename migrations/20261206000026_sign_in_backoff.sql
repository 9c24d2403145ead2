-- Failed sign-ins per account across every client and replica: after a
-- number of free failures each further one doubles the wait (capped), and a
-- success clears the row. Accounts are keyed in lower case.
CREATE TABLE sign_in_backoff (
    account    TEXT PRIMARY KEY,
    failures   BIGINT NOT NULL,
    next_at    BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX sign_in_backoff_updated ON sign_in_backoff (updated_at);
