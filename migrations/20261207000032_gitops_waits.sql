-- A pushed GitOps release waiting for its controller (Argo CD or Flux) to apply it: one row per
-- controller object (an Application, a Kustomization or a HelmRelease) of the release's effect.
-- The step is deployed (or rolled back) when every object of the effect reports the revision applied.
CREATE TABLE gitops_waits (
    effect_key   TEXT NOT NULL,
    object       TEXT NOT NULL,
    train_id     TEXT NOT NULL,
    revision     TEXT NOT NULL,
    -- waiting, applied or failed
    state        TEXT NOT NULL DEFAULT 'waiting',
    detail       TEXT NOT NULL DEFAULT '',
    -- The images the controller reports running once applied (JSON list; Argo CD only).
    images       TEXT NOT NULL DEFAULT '[]',
    started_at   BIGINT NOT NULL,
    deadline_at  BIGINT NOT NULL,
    -- 1 once the train was held for the deadline (it is held once).
    overdue      INTEGER NOT NULL DEFAULT 0,
    settled_at   BIGINT,
    PRIMARY KEY (effect_key, object)
);
CREATE INDEX gitops_waits_open ON gitops_waits (settled_at, train_id);
