//! GitOps delivery, without the Git: where a definition's manifests live in
//! its repository (`[train.gitops]`), which files a rollout step changes and
//! how (a kustomize overlay's `images:`, a Helm values file, an HTTPRoute's
//! weights). The deployer in the core clones, applies these edits, commits
//! and pushes.

pub mod controller;
pub mod helm;
pub mod kustomize;
pub mod route;
pub mod template;

use serde::{Deserialize, Serialize};

use crate::engine::Environment;
pub use crate::yaml::EditError;
pub use controller::{Controller, FluxKind, Report};
pub use helm::HelmKeys;
pub use template::{Place, Template};

/// A definition's GitOps repository and its layout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitopsSettings {
    /// A path or a `file://`, `ssh://` or `https://` URL.
    pub repository: String,
    /// The branch Argo CD or Flux syncs.
    pub branch: String,
    /// The directory of a service's manifests, e.g. `clusters/{region}/{environment}/{service}`.
    pub path: Template,
    /// The image repository, e.g. `ghcr.io/acme/{service}`.
    pub image: Template,
    pub edit: Edit,
    /// Canary traffic through an HTTPRoute; without it every step updates the service in place.
    pub traffic: Option<Traffic>,
    /// The controller that applies the repository and reports back.
    #[serde(default)]
    pub controller: Controller,
    /// How long a step waits for the controller before the train is held.
    #[serde(default = "default_sync_timeout_ms")]
    pub sync_timeout_ms: i64,
}

fn default_sync_timeout_ms() -> i64 {
    10 * 60_000
}

/// How a service's image is set in its directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Edit {
    /// `kustomization.yaml`'s `images:`; `image_name` is the image as the base manifests name it (default: `image`).
    Kustomize { image_name: Option<Template> },
    /// A values file Railyard owns, with the image under `keys`.
    Helm { values_file: String, keys: HelmKeys },
}

/// Canary traffic: the canary runs beside the stable deployment and an HTTPRoute splits traffic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Traffic {
    /// The directory of the canary deployment's manifests.
    pub canary_path: Template,
    /// The HTTPRoute file.
    pub route: Template,
    pub route_name: Template,
    pub namespace: Option<String>,
    /// The Gateway the route attaches to (when Railyard writes the route).
    pub gateway: String,
    pub stable_backend: Template,
    pub canary_backend: Template,
    pub port: u16,
}

/// One build as shipped: the service, its version and its image digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Build<'a> {
    pub service: &'a str,
    pub version: &'a str,
    pub digest: &'a str,
}

/// An image reference to set: as the manifests name it, where it comes from, and which build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub name: String,
    pub repository: String,
    pub version: String,
    pub digest: String,
}

/// A rollout step (or its rollback) to write into the repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release<'a> {
    pub rollback: bool,
    pub environment: Environment,
    pub region: Option<&'a str>,
    /// The step's share of traffic, in percent.
    pub weight: u8,
    /// What the step deploys (for a rollback: what it removes).
    pub builds: &'a [Build<'a>],
    /// For a rollback: the builds to return to, where known.
    pub restore: &'a [Build<'a>],
}

/// One file to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Relative to the repository's root.
    pub path: String,
    pub edit: FileEdit,
}

/// What to change in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileEdit {
    Image(Image),
    Weights { route: route::Route, canary_weight: u8 },
}

impl GitopsSettings {
    /// The files a release changes, in order; an error says why it cannot be written.
    pub fn plan(&self, release: &Release<'_>) -> Result<Vec<Change>, String> {
        let canary_step = release.weight < 100;
        let mut changes = Vec::new();
        // With canary traffic, a rollback of a canary step only takes the traffic back.
        let (builds, to) = match (release.rollback, &self.traffic) {
            (true, Some(_)) if canary_step => (&[][..], None),
            (true, _) => {
                if release.restore.is_empty() {
                    return Err(
                        "no earlier version of these services was shipped by Railyard, so there is nothing to roll back to"
                            .into(),
                    );
                }
                (release.restore, Some(&self.path))
            }
            (false, Some(traffic)) if canary_step => (release.builds, Some(&traffic.canary_path)),
            (false, _) => (release.builds, Some(&self.path)),
        };
        for build in builds {
            let place = Place { service: build.service, environment: release.environment, region: release.region };
            let directory = to.unwrap_or(&self.path).render(place)?;
            let image = self.image_of(build, place)?;
            let file = match &self.edit {
                Edit::Kustomize { .. } => "kustomization.yaml",
                Edit::Helm { values_file, .. } => values_file,
            };
            changes.push(Change { path: format!("{directory}/{file}"), edit: FileEdit::Image(image) });
        }
        if let Some(traffic) = &self.traffic {
            let canary_weight = if release.rollback || !canary_step { 0 } else { release.weight };
            for build in release.builds {
                let place = Place { service: build.service, environment: release.environment, region: release.region };
                let route = route::Route {
                    name: traffic.route_name.render(place)?,
                    namespace: traffic.namespace.clone(),
                    gateway: traffic.gateway.clone(),
                    stable: traffic.stable_backend.render(place)?,
                    canary: traffic.canary_backend.render(place)?,
                    port: traffic.port,
                };
                changes.push(Change {
                    path: traffic.route.render(place)?,
                    edit: FileEdit::Weights { route, canary_weight },
                });
            }
        }
        Ok(changes)
    }

    fn image_of(&self, build: &Build<'_>, place: Place<'_>) -> Result<Image, String> {
        let repository = self.image.render(place)?;
        let name = match &self.edit {
            Edit::Kustomize { image_name: Some(name) } => name.render(place)?,
            _ => repository.clone(),
        };
        Ok(Image { name, repository, version: build.version.to_owned(), digest: build.digest.to_owned() })
    }

    /// The file at `change.path` after the change (`existing`: its content now, if any).
    pub fn apply(&self, change: &Change, existing: Option<&str>) -> Result<String, EditError> {
        match (&change.edit, &self.edit) {
            (FileEdit::Image(image), Edit::Kustomize { .. }) => kustomize::set_image(&change.path, existing, image),
            (FileEdit::Image(image), Edit::Helm { keys, .. }) => helm::set_values(&change.path, existing, keys, image),
            (FileEdit::Weights { route, canary_weight }, _) => {
                route::set_weights(&change.path, existing, route, *canary_weight)
            }
        }
    }

    /// The controller objects (Argo CD Applications, Flux Kustomizations or HelmReleases) that apply
    /// `services` in the release's environment and region; none without a controller.
    pub fn objects(
        &self,
        services: &[&str],
        environment: Environment,
        region: Option<&str>,
    ) -> Result<Vec<String>, String> {
        let template = match &self.controller {
            Controller::None => return Ok(Vec::new()),
            Controller::ArgoCd { application, .. } => application,
            Controller::Flux { name, .. } => name,
        };
        let mut names = Vec::new();
        for service in services {
            let name = template.render(Place { service, environment, region })?;
            if !names.contains(&name) {
                names.push(name);
            }
        }
        Ok(names)
    }

    /// Whether any path or name needs the step's region.
    pub fn uses_region(&self) -> bool {
        let mut templates = vec![&self.path, &self.image];
        match &self.controller {
            Controller::ArgoCd { application, .. } => templates.push(application),
            Controller::Flux { name, .. } => templates.push(name),
            Controller::None => {}
        }
        if let Some(traffic) = &self.traffic {
            templates.extend([&traffic.canary_path, &traffic.route, &traffic.route_name]);
        }
        templates.iter().any(|t| t.uses_region())
    }
}

#[cfg(test)]
mod tests;
