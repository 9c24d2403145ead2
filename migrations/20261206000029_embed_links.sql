-- Every embed link handed out, so each can be listed and revoked on its own
-- (the signed token names its row by `id`).
CREATE TABLE embed_links (
    id         TEXT PRIMARY KEY,
    panel      TEXT NOT NULL,
    -- JSON object of the panel's parameters.
    params     TEXT NOT NULL,
    audience   TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT,
    revoked_by TEXT NOT NULL DEFAULT ''
);
CREATE INDEX embed_links_by_creator ON embed_links (created_by, created_at);
