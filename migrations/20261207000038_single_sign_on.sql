-- Single sign-on with an OpenID provider.
-- A sign-in under way: created when the browser is sent to the provider,
-- taken (deleted) when it comes back. Keyed by the digest of the `state`
-- value; the browser also carries a cookie with that state.
CREATE TABLE sso_sign_ins (
    state_digest  TEXT PRIMARY KEY,
    nonce         TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    next          TEXT NOT NULL,
    expires_at    BIGINT NOT NULL
);

-- Who a provider's subject is here: one user per (issuer, subject).
CREATE TABLE sso_identities (
    issuer          TEXT NOT NULL,
    subject         TEXT NOT NULL,
    user_id         TEXT NOT NULL REFERENCES users (id),
    email           TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    last_sign_in_at BIGINT NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX sso_identities_by_user ON sso_identities (user_id);
