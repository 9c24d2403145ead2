-- Where a gitops deployer commits: a Git repository (path or URL) and the branch Argo CD or Flux syncs.
ALTER TABLE train_definitions ADD COLUMN gitops_repo TEXT NOT NULL DEFAULT '';
ALTER TABLE train_definitions ADD COLUMN gitops_branch TEXT NOT NULL DEFAULT '';
