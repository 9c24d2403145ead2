//! A GitOps train for the kill loop: a bare repository on disk, a second
//! definition (`vault-daily`) whose gitops deployer commits to it, and a
//! double of Argo CD's Application API that syncs each new head a few polls
//! after it lands (a contract double: Argo CD cannot run here).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path as FsPath, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Router;
use serde_json::json;

pub const SERVICE: &str = "vault";
pub const TOKEN_ENV: &str = "RAILYARD_CHAOS_ARGOCD_TOKEN";
pub const TOKEN: &str = "chaos-argocd-token";
/// Polls a new head stays unsynced, so that kills land while steps wait for Argo CD.
const LAG: usize = 3;

pub fn git(dir: &FsPath, args: &[&str]) -> String {
    let output = Command::new("git").args(args).current_dir(dir).output().expect("git runs");
    assert!(output.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// A bare repository with the vault's base and its staging and production overlays.
pub fn repository(root: &FsPath) -> PathBuf {
    let bare = root.join("deploy.git");
    let seed = root.join("seed");
    std::fs::create_dir_all(&bare).expect("dir");
    git(&bare, &["init", "--quiet", "--bare", "--initial-branch=main"]);
    let deployment =
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: vault\nspec:\n  template:\n    spec:\n      \
                      containers:\n      - name: vault\n        image: registry.example/vault:latest\n";
    let mut files = vec![
        ("base/vault/kustomization.yaml".to_owned(), "resources:\n- deployment.yaml\n".to_owned()),
        ("base/vault/deployment.yaml".to_owned(), deployment.to_owned()),
    ];
    for environment in ["staging", "production"] {
        files.push((
            format!("clusters/{environment}/vault/kustomization.yaml"),
            "resources:\n- ../../../base/vault\n".into(),
        ));
    }
    for (path, text) in files {
        let path = seed.join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("dir");
        std::fs::write(path, text).expect("write");
    }
    git(&seed, &["init", "--quiet", "--initial-branch=main"]);
    git(&seed, &["add", "."]);
    git(&seed, &["-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "-m", "start"]);
    git(&seed, &["push", "--quiet", bare.to_str().expect("utf-8"), "main"]);
    bare
}

/// The `vault-daily` definition: staging, a 10% canary and 100%, each committed to `repo` and awaited in Argo CD at `argo`.
pub fn definition(repo: &FsPath, argo: &str) -> String {
    let mut text = format!(
        "\n[[service]]\nname = \"{SERVICE}\"\ndomain = \"payments\"\n\n\
         [[train]]\nname = \"vault-daily\"\ndomain = \"payments\"\nservices = [\"{SERVICE}\"]\n\
         cadence = \"FREQ=DAILY;BYHOUR={hour}\"\ntime_zone = \"UTC\"\nstarts = \"2026-01-01\"\n\
         planning_window = \"1h\"\ncutover_window = \"2h\"\npreflight = \"30m\"\nmonitoring = \"1s\"\n\
         emergency_gates = [\"tests\"]\n",
        hour = crate::support::quiet_hour()
    );
    for (name, environment, weight) in
        [("staging", "staging", 100), ("canary 10%", "production", 10), ("100%", "production", 100)]
    {
        text.push_str(&format!(
            "\n[[train.step]]\nname = \"{name}\"\nenvironment = \"{environment}\"\nweight = {weight}\nsoak = \"1s\"\n"
        ));
    }
    text.push_str(&format!(
        "\n[train.gitops]\nrepository = \"{}\"\nbranch = \"main\"\npath = \"clusters/{{environment}}/{{service}}\"\n\
         image = \"registry.example/{{service}}\"\nsync_timeout = \"3m\"\n\n\
         [train.gitops.argocd]\nurl = \"{argo}\"\ntoken_env = \"{TOKEN_ENV}\"\napplication = \"{{service}}-{{environment}}\"\n",
        repo.display()
    ));
    text
}

/// What the double has seen.
#[derive(Default)]
pub struct ArgoCd {
    repo: PathBuf,
    /// Per application: the synced revision and the head it is syncing with the polls waited.
    apps: HashMap<String, (String, Option<(String, usize)>)>,
    pub polls: usize,
}

pub type SharedArgoCd = Arc<Mutex<ArgoCd>>;

async fn application(
    State(double): State<SharedArgoCd>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> (StatusCode, String) {
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(&format!("Bearer {TOKEN}")) {
        return (StatusCode::UNAUTHORIZED, json!({ "error": "invalid session", "code": 16 }).to_string());
    }
    let mut double = double.lock().unwrap_or_else(PoisonError::into_inner);
    double.polls += 1;
    let head = git(&double.repo, &["rev-parse", "main"]);
    let start = git(&double.repo, &["rev-list", "--max-parents=0", "main"]);
    let entry = double.apps.entry(name.clone()).or_insert_with(|| (start, None));
    if entry.0 != head {
        let waited = match &mut entry.1 {
            Some((pending, polls)) if *pending == head => {
                *polls += 1;
                *polls
            }
            pending => {
                *pending = Some((head.clone(), 1));
                1
            }
        };
        if waited > LAG {
            *entry = (head.clone(), None);
        }
    }
    let synced = entry.0.clone();
    let status = if synced == head { "Synced" } else { "OutOfSync" };
    let body = json!({
        "metadata": { "name": name, "namespace": "argocd" },
        "status": {
            "sync": { "status": status, "revision": synced },
            "health": { "status": "Healthy" },
            "operationState": { "phase": "Succeeded", "syncResult": { "revision": synced } },
            "summary": { "images": [] }
        }
    });
    (StatusCode::OK, body.to_string())
}

/// Starts the double over `repo`; answers its base URL.
pub async fn start_argo_cd(repo: &FsPath, double: SharedArgoCd) -> String {
    double.lock().unwrap_or_else(PoisonError::into_inner).repo = repo.to_owned();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let router = Router::new().route("/api/v1/applications/{name}", axum::routing::get(application)).with_state(double);
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{address}")
}

/// Every `Railyard-Key:` trailer on the branch, with the commit carrying it.
pub fn committed_keys(repo: &FsPath) -> Vec<(String, String)> {
    let log = git(repo, &["log", "--format=%H%n%B%n--end--", "main"]);
    let mut keys = Vec::new();
    let mut commit = String::new();
    for line in log.lines() {
        if commit.is_empty() {
            commit = line.to_owned();
        } else if line == "--end--" {
            commit.clear();
        } else if let Some(key) = line.strip_prefix("Railyard-Key: ") {
            keys.push((key.to_owned(), commit.clone()));
        }
    }
    keys
}

/// No effect key was committed twice, and every wait for a key waited for the commit carrying it.
pub async fn assert_committed_once_and_awaited(repo: &FsPath, db: &server::store::Db) {
    let keys = committed_keys(repo);
    let mut by_key: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (key, commit) in &keys {
        by_key.entry(key).or_default().push(commit);
    }
    for (key, commits) in &by_key {
        assert_eq!(commits.len(), 1, "{key} was committed {} times: {commits:?}", commits.len());
    }
    let mut conn = db.acquire().await.expect("connection");
    let waits: Vec<(String, String)> = sqlx::query_as("SELECT DISTINCT effect_key, revision FROM gitops_waits")
        .fetch_all(&mut *conn)
        .await
        .expect("waits");
    let mut waited: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (key, revision) in &waits {
        waited.entry(key).or_default().push(revision);
    }
    for (key, revisions) in &waited {
        assert_eq!(revisions.len(), 1, "{key} waited for several revisions: {revisions:?}");
        if let Some(commits) = by_key.get(key) {
            assert_eq!(revisions[0], commits[0], "{key} waited for another revision than its commit");
        }
    }
    assert!(!waits.is_empty(), "the gitops trains waited for Argo CD");
}
