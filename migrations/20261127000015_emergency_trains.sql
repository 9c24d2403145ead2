-- Emergency trains: created on demand for listed candidates, with the
-- definition's reduced gate set, and marked as such everywhere.
ALTER TABLE trains ADD COLUMN kind TEXT NOT NULL DEFAULT 'regular';
ALTER TABLE trains ADD COLUMN reason TEXT NOT NULL DEFAULT '';
ALTER TABLE train_definitions ADD COLUMN emergency_gates TEXT NOT NULL DEFAULT '["tests"]';

CREATE TABLE emergency_candidates (
    train_id    TEXT NOT NULL REFERENCES trains (id),
    artifact_id TEXT NOT NULL REFERENCES artifacts (id),
    PRIMARY KEY (train_id, artifact_id)
);
