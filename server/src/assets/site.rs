//! Serving the built front end and saying who may cache what: packed files
//! for a year in any cache, the other public files for a day, and every
//! other answer (pages and API, which show signed-in data) in no cache.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use app::assets::AssetNames;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use tower_http::services::ServeDir;

use super::pack::read_manifest;
use super::{MANIFEST, PKG_DIR};

/// A packed file never changes under its name.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Public files with a plain name (the favicon): any cache, briefly.
const PUBLIC_BRIEFLY: &str = "public, max-age=86400";
/// Files with a plain name under `/pkg` (an unpacked build): ask every time.
const REVALIDATE: &str = "no-cache";
/// Everything else shows signed-in data or depends on who asks.
const PRIVATE: &str = "private, no-store";

/// The built front end as the server found it at start-up.
#[derive(Debug, Clone)]
pub struct Site {
    /// The names the pages load.
    pub names: AssetNames,
    pkg_dir: PathBuf,
    inner: Arc<Lists>,
}

#[derive(Debug, Default)]
struct Lists {
    /// Packed names, each served as immutable.
    packed: HashSet<String>,
    /// Files at the site root, served from the fallback (`/favicon.svg`).
    public: HashSet<String>,
}

impl Site {
    /// Reads the manifest under `site_root`. Without one (a build that was not
    /// packed) the plain names are served, revalidated on every use.
    pub fn load(site_root: &Path) -> Self {
        let pkg_dir = site_root.join(PKG_DIR);
        let manifest = read_manifest(site_root);
        let packed = manifest.filter(|names| names.all().iter().all(|name| pkg_dir.join(name).is_file()));
        if packed.is_none() && pkg_dir.is_dir() {
            tracing::warn!(
                site = %site_root.display(),
                "the front end was not packed (scripts/build does it): serving it uncompressed and uncached"
            );
        } else if !pkg_dir.is_dir() {
            tracing::warn!(
                site = %site_root.display(),
                "no front end here (scripts/build makes it): pages are served without their style and script"
            );
        }
        let public = std::fs::read_dir(site_root)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_file()))
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .filter(|name| name != MANIFEST)
            .collect();
        let inner = Lists { packed: packed.iter().flat_map(|names| names.all()).map(str::to_owned).collect(), public };
        Self { names: packed.unwrap_or_default(), pkg_dir, inner: Arc::new(inner) }
    }

    /// `/pkg`: each file as the precompressed copy the client accepts
    /// (brotli, then gzip, else as it is), with its cache policy.
    pub fn pkg_router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        let files = ServeDir::new(&self.pkg_dir).precompressed_br().precompressed_gzip();
        Router::new()
            .fallback_service(files)
            .layer(middleware::from_fn_with_state(self.inner.clone(), pkg_cache_headers))
    }
}

/// Cache headers for a file under `/pkg`; the answer differs by `Accept-Encoding`.
async fn pkg_cache_headers(State(lists): State<Arc<Lists>>, request: Request, next: Next) -> Response {
    let file = request.uri().path().rsplit('/').next().unwrap_or_default().to_owned();
    let mut response = next.run(request).await;
    let found = response.status().is_success() || response.status() == axum::http::StatusCode::NOT_MODIFIED;
    let policy = if found && lists.packed.contains(&file) { IMMUTABLE } else { REVALIDATE };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    response
}

/// Gives every answer without a cache policy of its own one: the site's
/// public files may be cached briefly, anything else in no cache at all.
pub async fn cache_policy(State(site): State<Site>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let public_file = path.strip_prefix('/').is_some_and(|name| site.inner.public.contains(name));
    let mut response = next.run(request).await;
    if !response.headers().contains_key(header::CACHE_CONTROL) {
        let policy = if public_file && response.status().is_success() { PUBLIC_BRIEFLY } else { PRIVATE };
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    response
}
