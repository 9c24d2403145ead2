//! Checking `[train.gitops]` (the repository, the layout templates, the
//! edit, canary traffic and the controller) and `[[region]]`, each problem
//! reported with its field.

use super::check::is_env_name;
use super::check::Checker;
use super::raw::{RawEdit, RawGitops, RawRegion, RawTraffic};
use super::{RegionSpec, TrainSpec};
use crate::cadence::parse_window;
use crate::engine::RolloutStep;
use crate::gitops::template::is_safe_name;
use crate::gitops::{Controller, Edit, GitopsSettings, HelmKeys, Template, Traffic};
use crate::links::is_web_link;

impl Checker<'_> {
    pub(super) fn region(&mut self, raw: RawRegion) -> Option<RegionSpec> {
        if !is_safe_name(&raw.name) {
            let at = format!("region \"{}\"", raw.name);
            self.problem(&at, "name", "goes into paths and object names: use letters, digits, '-', '_' or '.'");
            return None;
        }
        Some(RegionSpec { name: raw.name, critical: raw.critical, description: raw.description })
    }

    /// Once regions are declared, every step names a declared one.
    pub(super) fn declared_regions(&mut self, regions: &[RegionSpec], trains: &[TrainSpec]) {
        if regions.is_empty() {
            return;
        }
        for train in trains {
            for step in &train.rollout {
                let Some(region) = &step.region else { continue };
                if !regions.iter().any(|r| &r.name == region) {
                    let names: Vec<&str> = regions.iter().map(|r| r.name.as_str()).collect();
                    self.problem(
                        &format!("train \"{}\"", train.name),
                        "step.region",
                        format!(
                            "step \"{}\" names region \"{region}\", which no [[region]] declares ({})",
                            step.name,
                            names.join(", ")
                        ),
                    );
                }
            }
        }
    }

    /// The validated settings, or `None` with the problems reported.
    pub(super) fn gitops(&mut self, at: &str, raw: RawGitops, rollout: &[RolloutStep]) -> Option<GitopsSettings> {
        let before = self.problems.len();
        let repository = raw.repository.trim().to_owned();
        if repository.is_empty() || repository.starts_with('-') {
            self.problem(at, "gitops.repository", "name the repository: a path or a file://, ssh:// or https:// URL");
        }
        let branch = raw.branch.trim().to_owned();
        let branch_ok = !branch.is_empty()
            && !branch.starts_with('-')
            && !branch.contains("..")
            && branch.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c));
        if !branch_ok {
            self.problem(at, "gitops.branch", "name the branch Argo CD or Flux syncs, e.g. \"main\"");
        }
        let path = self.template(at, "gitops.path", &raw.path, true);
        let image = self.template(at, "gitops.image", &raw.image, false);
        let edit = self.edit(at, &raw);
        let controller = self.controller(at, &raw);
        let traffic = match raw.traffic {
            Some(traffic) => self.traffic(at, traffic, path.as_ref()).map(Some),
            None => Some(None),
        };
        let sync_timeout_ms = match &raw.sync_timeout {
            Some(text) => parse_window(text).map_err(|e| self.problem(at, "gitops.sync_timeout", e)).ok(),
            None => Some(10 * 60_000),
        };
        let (Some(path), Some(image), Some(edit), Some(traffic), Some(controller), Some(sync_timeout_ms)) =
            (path, image, edit, traffic, controller, sync_timeout_ms)
        else {
            return None;
        };
        let settings = GitopsSettings { repository, branch, path, image, edit, traffic, controller, sync_timeout_ms };
        if settings.uses_region() {
            for step in rollout.iter().filter(|s| s.region.is_none()) {
                self.problem(
                    at,
                    "gitops.path",
                    format!("names {{region}}, but step \"{}\" has no `region`", step.name),
                );
            }
        }
        for step in rollout {
            if let Some(region) = step.region.as_deref().filter(|r| !is_safe_name(r)) {
                self.problem(
                    at,
                    "step.region",
                    format!("\"{region}\" goes into paths and object names: use letters, digits, '-', '_' or '.'"),
                );
            }
        }
        (self.problems.len() == before).then_some(settings)
    }

    /// The controller: exactly one of `[train.gitops.argocd]`, `[train.gitops.flux]` or `controller = "none"`.
    fn controller(&mut self, at: &str, raw: &RawGitops) -> Option<Controller> {
        let none = match raw.controller.as_deref() {
            None => false,
            Some("none") => true,
            Some(other) => {
                self.problem(
                    at,
                    "gitops.controller",
                    format!("\"{other}\": only \"none\" is written here; Argo CD and Flux have their own tables"),
                );
                return None;
            }
        };
        match (none, &raw.argocd, &raw.flux) {
            (true, None, None) => Some(Controller::None),
            (false, Some(argo), None) => {
                let url_ok = is_web_link(&argo.url);
                if !url_ok {
                    self.problem(at, "gitops.argocd.url", "is the Argo CD server's http(s) URL");
                }
                let env_ok = is_env_name(&argo.token_env);
                if !env_ok {
                    self.problem(
                        at,
                        "gitops.argocd.token_env",
                        "name the environment variable holding the API token, e.g. ARGOCD_TOKEN",
                    );
                }
                let application = self.template(at, "gitops.argocd.application", &argo.application, false)?;
                let namespace_ok = argo.app_namespace.as_deref().is_none_or(is_safe_name);
                if !namespace_ok {
                    self.problem(at, "gitops.argocd.app_namespace", "is a Kubernetes namespace name");
                }
                (url_ok && env_ok && namespace_ok).then(|| Controller::ArgoCd {
                    url: argo.url.trim_end_matches('/').to_owned(),
                    token_env: argo.token_env.clone(),
                    application,
                    app_namespace: argo.app_namespace.clone(),
                })
            }
            (false, None, Some(flux)) => {
                let env_ok = is_env_name(&flux.secret_env);
                if !env_ok {
                    self.problem(
                        at,
                        "gitops.flux.secret_env",
                        "name the environment variable holding the Provider's token, e.g. FLUX_WEBHOOK_TOKEN",
                    );
                }
                let name = self.template(at, "gitops.flux.name", &flux.name, false)?;
                let namespace_ok = flux.namespace.as_deref().is_none_or(is_safe_name);
                if !namespace_ok {
                    self.problem(at, "gitops.flux.namespace", "is a Kubernetes namespace name");
                }
                (env_ok && namespace_ok).then(|| Controller::Flux {
                    secret_env: flux.secret_env.clone(),
                    kind: flux.kind,
                    name,
                    namespace: flux.namespace.clone(),
                })
            }
            _ => {
                self.problem(
                    at,
                    "gitops.controller",
                    "say which one controller applies the repository: [train.gitops.argocd], [train.gitops.flux], \
                     or controller = \"none\" when nothing reports back (a step then counts as deployed once pushed)",
                );
                None
            }
        }
    }

    fn template(&mut self, at: &str, field: &str, text: &str, path: bool) -> Option<Template> {
        let parsed = if path { Template::path(text.trim()) } else { Template::parse(text.trim()) };
        parsed.map_err(|problem| self.problem(at, field, problem)).ok()
    }

    fn edit(&mut self, at: &str, raw: &RawGitops) -> Option<Edit> {
        let helm_fields = [&raw.values_file, &raw.repository_key, &raw.tag_key, &raw.digest_key];
        match raw.edit {
            RawEdit::Kustomize => {
                if helm_fields.iter().any(|f| f.is_some()) {
                    self.problem(
                        at,
                        "gitops.values_file",
                        "`values_file` and the `*_key`s are only for edit = \"helm\"",
                    );
                    return None;
                }
                let image_name = match &raw.image_name {
                    Some(name) => Some(self.template(at, "gitops.image_name", name, false)?),
                    None => None,
                };
                Some(Edit::Kustomize { image_name })
            }
            RawEdit::Helm => {
                if raw.image_name.is_some() {
                    self.problem(at, "gitops.image_name", "is only for edit = \"kustomize\"");
                    return None;
                }
                let values_file = raw.values_file.clone().unwrap_or_else(|| "values-railyard.yaml".into());
                let file_ok =
                    is_safe_name(&values_file) && (values_file.ends_with(".yaml") || values_file.ends_with(".yml"));
                if !file_ok {
                    self.problem(at, "gitops.values_file", "name a .yaml file in the service's directory");
                    return None;
                }
                let defaults = HelmKeys::default();
                let keys = HelmKeys {
                    repository: raw.repository_key.clone().unwrap_or(defaults.repository),
                    tag: raw.tag_key.clone().unwrap_or(defaults.tag),
                    digest: raw.digest_key.clone().unwrap_or(defaults.digest),
                };
                keys.check().map_err(|problem| self.problem(at, "gitops.tag_key", problem)).ok()?;
                Some(Edit::Helm { values_file, keys })
            }
        }
    }

    fn traffic(&mut self, at: &str, raw: RawTraffic, path: Option<&Template>) -> Option<Traffic> {
        let canary_path = self.template(at, "gitops.traffic.canary_path", &raw.canary_path, true);
        let default_route = path.map(|p| format!("{}/httproute.yaml", p.as_str())).unwrap_or_default();
        let route = self.template(at, "gitops.traffic.route", raw.route.as_deref().unwrap_or(&default_route), true);
        let mut name = |field: &str, text: Option<String>, default: &str| {
            self.template(at, field, text.as_deref().unwrap_or(default), false)
        };
        let route_name = name("gitops.traffic.route_name", raw.route_name, "{service}");
        let stable_backend = name("gitops.traffic.stable_backend", raw.stable_backend, "{service}");
        let canary_backend = name("gitops.traffic.canary_backend", raw.canary_backend, "{service}-canary");
        let gateway_ok = is_safe_name(&raw.gateway);
        if !gateway_ok {
            self.problem(at, "gitops.traffic.gateway", "name the Gateway the route attaches to, e.g. \"public\"");
        }
        if raw.port == 0 {
            self.problem(at, "gitops.traffic.port", "is the backends' service port, 1-65535");
        }
        let namespace_ok = raw.namespace.as_deref().is_none_or(is_safe_name);
        if !namespace_ok {
            self.problem(at, "gitops.traffic.namespace", "is a Kubernetes namespace name");
        }
        if let (Some(stable), Some(canary)) = (&stable_backend, &canary_backend) {
            if stable == canary {
                self.problem(at, "gitops.traffic.canary_backend", "must differ from `stable_backend`");
                return None;
            }
        }
        if canary_path.as_ref().zip(path).is_some_and(|(canary, stable)| canary == stable) {
            self.problem(
                at,
                "gitops.traffic.canary_path",
                "must differ from `path`: the canary runs beside the stable",
            );
            return None;
        }
        let ok = gateway_ok && raw.port != 0 && namespace_ok;
        Some(Traffic {
            canary_path: canary_path?,
            route: route?,
            route_name: route_name?,
            namespace: raw.namespace,
            gateway: raw.gateway,
            stable_backend: stable_backend?,
            canary_backend: canary_backend?,
            port: raw.port,
        })
        .filter(|_| ok)
    }
}
