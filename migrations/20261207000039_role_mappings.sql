-- Roles granted by the identity provider's claims (trains as code's
-- [[role_mapping]]), where each role binding came from ('manual': an admin
-- set it; 'sso': recomputed from the claims at every single sign-on), and
-- whether people without a hand-set admin role may sign in with a password.
CREATE TABLE role_mappings (
    position   BIGINT NOT NULL,
    claim      TEXT NOT NULL,
    value      TEXT NOT NULL,
    role       TEXT NOT NULL,
    domain     TEXT,
    updated_at BIGINT NOT NULL
);

ALTER TABLE role_bindings ADD COLUMN source TEXT NOT NULL DEFAULT 'manual';

CREATE TABLE sign_in_policy (
    id            BIGINT PRIMARY KEY CHECK (id = 1),
    local_allowed BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
