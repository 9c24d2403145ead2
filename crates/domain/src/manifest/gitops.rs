//! Checking `[train.gitops]`: the repository, the layout templates, the
//! edit and canary traffic, each problem reported with its field.

use super::check::Checker;
use super::raw::{RawEdit, RawGitops, RawTraffic};
use crate::engine::RolloutStep;
use crate::gitops::template::is_safe_name;
use crate::gitops::{Edit, GitopsSettings, HelmKeys, Template, Traffic};

impl Checker<'_> {
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
        let traffic = match raw.traffic {
            Some(traffic) => self.traffic(at, traffic, path.as_ref()).map(Some),
            None => Some(None),
        };
        let (Some(path), Some(image), Some(edit), Some(traffic)) = (path, image, edit, traffic) else { return None };
        let settings = GitopsSettings { repository, branch, path, image, edit, traffic };
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
