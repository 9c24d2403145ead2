-- The names a person appears under as the author of a build (an e-mail, a
-- VCS login), set by an admin: separation of duties compares a candidate's
-- `author` with the approver's user name and every one of these. Lower case;
-- an identity belongs to one person.
CREATE TABLE author_identities (
    identity   TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL
);
CREATE INDEX author_identities_by_user ON author_identities (user_id);
