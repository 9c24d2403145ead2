-- Every canary analysis with its evidence (queries, windows, samples,
-- statistics, scorecard) as JSON, keyed by the judge effect's key.
CREATE TABLE canary_analyses (
    effect_key TEXT PRIMARY KEY,
    train_id   TEXT NOT NULL REFERENCES trains (id),
    step       BIGINT NOT NULL,
    verdict    TEXT NOT NULL,
    detail     TEXT NOT NULL,
    report     TEXT NOT NULL,
    at         BIGINT NOT NULL
);
CREATE INDEX canary_analyses_by_train ON canary_analyses (train_id, at);
