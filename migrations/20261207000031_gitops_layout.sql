-- A gitops deployer's settings as one JSON document ([train.gitops]: repository, branch, the layout
-- of paths, the edit and canary traffic). It supersedes gitops_repo and gitops_branch, which are no
-- longer read: trains-as-code re-applies every definition at start-up.
ALTER TABLE train_definitions ADD COLUMN gitops TEXT NOT NULL DEFAULT '';
