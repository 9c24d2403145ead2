//! Contract tests of the GitOps controllers' feedback. Argo CD and Flux
//! cannot run here, so each speaks through a double of its documented HTTP
//! shape: Argo CD's `GET /api/v1/applications/{name}` Application JSON
//! (sync status and revision, health, operation state, images), and Flux's
//! notification-controller events as a `generic-hmac` Provider signs them.
//! The deployer pushes to a real bare repository; the Argo CD double reads
//! that repository to play a cluster that syncs it.

use std::collections::HashMap;
use std::path::{Path as FsPath, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::Router;
use chrono::Duration;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use server::engine::{HoldReason, StepStatus, TrainRun};
use server::fleet::{self, parse};
use server::gitops_sync::watch::Watcher;
use server::integrations::{FleetIntegrations, SimulatedMetrics};
use server::scheduler::{tick, SchedulerConfig};
use server::time::Instant;
use sha2::Sha256;

use crate::gitops::{deploy_repository, fleet_file, git, gitops_table};
use crate::helpers::{lead, register_build, spawn_app, test_now, train_in_state, Backend, TestApp};
use crate::on_both_backends;

/// What the Argo CD double's cluster does with what is pushed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cluster {
    /// Syncs each new head after a few polls and runs what the overlays say.
    Follows,
    /// Never syncs: keeps reporting the revision it started at, Synced to it and Healthy.
    Stuck,
    /// Follows, but a revision whose commit subject contains the text is Degraded.
    DegradedOn(&'static str),
    /// Follows, but the sync of a head whose subject contains the text fails.
    SyncFailsOn(&'static str),
    /// Follows, but runs another build than the overlays name.
    Drifted,
}

/// The Argo CD double: one Application per region (`ledger-<region>`) over `clusters/<region>/production`.
struct ArgoCd {
    repo: PathBuf,
    token: String,
    cluster: Cluster,
    /// Polls a new head is reported OutOfSync (at the old revision, Healthy) before it syncs.
    lag: usize,
    /// Per application: the synced revision, and the head being synced with the polls it has waited.
    apps: HashMap<String, (String, Option<(String, usize)>)>,
    /// The revision every application starts at.
    start: String,
    /// (application, revision reported) per answered poll.
    polls: Vec<(String, String)>,
    refused: usize,
}

fn bare(repo: &FsPath, args: &[&str]) -> String {
    git(repo, args).trim().to_owned()
}

impl ArgoCd {
    fn answer(&mut self, name: &str) -> (StatusCode, Value) {
        let Some(region) = name.strip_prefix("ledger-") else {
            let error = format!("applications.argoproj.io \"{name}\" not found");
            return (StatusCode::NOT_FOUND, json!({ "error": error, "code": 5, "message": error }));
        };
        let head = bare(&self.repo, &["rev-parse", "main"]);
        let subject = |revision: &str| bare(&self.repo, &["log", "-1", "--format=%s", revision]);
        let entry = self.apps.entry(name.to_owned()).or_insert_with(|| (self.start.clone(), None));
        let mut operation =
            json!({ "phase": "Succeeded", "message": "successfully synced", "syncResult": { "revision": entry.0 } });
        if entry.0 != head && self.cluster != Cluster::Stuck {
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
            let fails = matches!(self.cluster, Cluster::SyncFailsOn(text) if subject(&head).contains(text));
            if fails && waited > self.lag {
                operation = json!({
                    "phase": "Failed",
                    "message": "one or more objects failed to apply: admission webhook denied the request",
                    "syncResult": { "revision": head }
                });
            } else if waited > self.lag {
                *entry = (head.clone(), None);
                operation["syncResult"]["revision"] = json!(head);
            }
        }
        let synced = entry.0.clone();
        let degraded = matches!(self.cluster, Cluster::DegradedOn(text) if subject(&synced).contains(text));
        let health = if degraded {
            json!({ "status": "Degraded", "message": "Deployment ledger-canary exceeded its progress deadline" })
        } else {
            json!({ "status": "Healthy" })
        };
        let images: Vec<String> = ["ledger", "ledger-canary"]
            .iter()
            .map(|overlay| {
                let file = format!("{synced}:clusters/{region}/production/{overlay}/kustomization.yaml");
                let text = git(&self.repo, &["show", &file]);
                let digest = text
                    .lines()
                    .find_map(|l| l.trim().strip_prefix("digest: ").map(|d| d.trim_matches('"').to_owned()));
                match (self.cluster, digest) {
                    (Cluster::Drifted, _) => format!("ghcr.io/acme/ledger@sha256:{}", "d".repeat(64)),
                    (_, Some(digest)) => format!("ghcr.io/acme/ledger@{digest}"),
                    (_, None) => "ghcr.io/acme/ledger:latest".to_owned(),
                }
            })
            .collect();
        self.polls.push((name.to_owned(), synced.clone()));
        // A stuck Argo CD has not noticed the new commit: it still thinks it is synced.
        let status = if synced == head || self.cluster == Cluster::Stuck { "Synced" } else { "OutOfSync" };
        let application = json!({
            "metadata": { "name": name, "namespace": "argocd" },
            "spec": { "project": "payments", "source": { "repoURL": self.repo, "path": format!("clusters/{region}/production"), "targetRevision": "main" } },
            "status": {
                "sync": { "status": status, "revision": synced },
                "health": health,
                "operationState": operation,
                "summary": { "images": images }
            }
        });
        (StatusCode::OK, application)
    }
}

async fn application(
    State(double): State<Arc<Mutex<ArgoCd>>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> (StatusCode, String) {
    let mut double = double.lock().unwrap_or_else(PoisonError::into_inner);
    let authorised =
        headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {}", double.token));
    if !authorised {
        double.refused += 1;
        return (
            StatusCode::UNAUTHORIZED,
            json!({ "error": "invalid session: token is invalid", "code": 16 }).to_string(),
        );
    }
    let (status, body) = double.answer(&name);
    (status, body.to_string())
}

/// Starts the double on loopback; answers its base URL.
async fn argo_cd(double: Arc<Mutex<ArgoCd>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let router = Router::new().route("/api/v1/applications/{name}", get(application)).with_state(double);
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{address}")
}

struct Setup {
    app: TestApp,
    repo: String,
    _root: tempfile::TempDir,
}

const STEPS: [(&str, u8, &str); 3] =
    [("eu-west canary", 10, "eu-west"), ("eu-west", 100, "eu-west"), ("us-east", 100, "us-east")];

/// An app with a bare deploy repository and the ledger fleet applied with `controller` (see `gitops_table`).
async fn setup(backend: Backend, controller: impl FnOnce(&str) -> String) -> Setup {
    setup_with(backend, controller, &STEPS).await
}

async fn setup_with(backend: Backend, controller: impl FnOnce(&str) -> String, steps: &[(&str, u8, &str)]) -> Setup {
    let root = tempfile::tempdir().expect("temp dir");
    let repo = deploy_repository(root.path());
    let file = fleet_file(&gitops_table(&repo, true, &controller(&repo)), steps);
    let app = spawn_app(backend, false).await;
    fleet::apply(&app.db, &parse("fleet.toml", &file).expect("valid"), test_now()).await.expect("apply");
    Setup { app, repo, _root: root }
}

fn argo_table(url: &str, token_env: &str) -> String {
    format!("[train.gitops.argocd]\nurl = \"{url}\"\ntoken_env = \"{token_env}\"\napplication = \"{{service}}-{{region}}\"\n")
}

/// Works the runtime and the watcher minute by minute from `from` until the train ends or
/// `stop` says so (or a day passes); returns the run and the instant it stopped at.
async fn drive(
    setup: &Setup,
    watcher: &Watcher,
    train: &str,
    from: Instant,
    stop: impl Fn(&TrainRun) -> bool,
) -> (TrainRun, Instant) {
    let db = &setup.app.db;
    let integrations =
        FleetIntegrations::new(db.clone(), Arc::new(setup.app.clock.clone()), SimulatedMetrics::default())
            .expect("integrations");
    let fence = lead(db).await;
    let mut now = from;
    for _ in 0..24 * 60 {
        // The app's clock follows, so what reaches it over HTTP (Flux's events) happens now too.
        setup.app.clock.set(now.to_utc());
        server::runtime::sync_freezes(db, fence, now).await.expect("freezes");
        while server::runtime::work(db, fence, &integrations, now, 100).await.expect("work") > 0 {}
        watcher.pass(now).await.expect("watcher pass");
        let run = server::runtime::load(db, train).await.expect("state");
        if run.phase.is_final() || stop(&run) {
            return (run, now);
        }
        now += 60_000;
    }
    (server::runtime::load(db, train).await.expect("state"), now)
}

/// Registers 1.0.0 and opens the day's train; answers its id and the instant it opened.
async fn open_train(app: &TestApp) -> (String, Instant) {
    register_build(app, "ledger", "1.0.0", '1', "1.0").await;
    let opened = test_now() + Duration::hours(1);
    tick(&app.db, lead(&app.db).await, opened, &SchedulerConfig::default()).await.expect("tick");
    (train_in_state(&app.db, "planning").await, Instant::from_utc(opened))
}

fn timeline(run: &TrainRun) -> String {
    format!("{run:?}")
}

async fn contract_argo_cd_a_step_completes_only_when_synced_and_healthy_at_the_pushed_revision(backend: Backend) {
    let (setup, double, watcher) = argo_setup(backend, Cluster::Follows, "SYNCED", 2).await;
    let (train, opened) = open_train(&setup.app).await;

    // The canary commit is pushed; Argo CD still reports the old revision (Healthy) for two polls.
    let (run, now) = drive(&setup, &watcher, &train, opened, |run| run.step_status == StepStatus::Deploying).await;
    let pushed = bare(FsPath::new(&setup.repo), &["rev-parse", "main"]);
    assert_eq!(run.current_step, 0);
    let (run, now) = drive(&setup, &watcher, &train, now, |run| {
        !matches!(run.step_status, StepStatus::Deploying | StepStatus::NotStarted)
    })
    .await;
    assert!(matches!(run.step_status, StepStatus::Soaking { .. }), "{:?}", run.step_status);
    {
        let double = double.lock().unwrap_or_else(PoisonError::into_inner);
        let reported: Vec<&str> =
            double.polls.iter().filter(|(app, _)| app == "ledger-eu-west").map(|(_, r)| r.as_str()).collect();
        assert_eq!(reported.len(), 3, "two polls at the old revision, the third at the pushed one: {reported:?}");
        assert!(reported[..2].iter().all(|r| *r != pushed) && reported[2] == pushed, "{reported:?}");
        assert_eq!(double.refused, 0, "every poll carried the token");
    }
    let record = &run.steps[0];
    let deployed = record.deployed_at.expect("deployed");
    assert!(deployed - record.started_at >= 60_000, "deployed when Argo CD said so, a poll after the push");

    let (run, _) = drive(&setup, &watcher, &train, now, |_| false).await;
    assert_eq!(run.phase.to_string(), "completed", "{}", timeline(&run));
    let (_, text) = setup.app.get(&format!("/api/v1/trains/{train}")).await;
    let detail: Value = serde_json::from_str(&text).expect("json");
    let reasons = detail["timeline"].to_string();
    assert!(reasons.contains(&format!("Argo CD applied {}", &pushed[..7])), "{reasons}");
    let matches: Vec<bool> =
        detail["digests"].as_array().expect("digests").iter().map(|d| d["matches"] == true).collect();
    assert_eq!(matches, [true, true, true], "each step's images, as Argo CD reports them, are what shipped: {detail}");
}
on_both_backends!(contract_argo_cd_a_step_completes_only_when_synced_and_healthy_at_the_pushed_revision);

/// A double over `setup`'s repository with `cluster` (new heads sync after `lag` polls), and the
/// watcher; `setup` is built with its URL.
async fn argo_setup(
    backend: Backend,
    cluster: Cluster,
    name: &str,
    lag: usize,
) -> (Setup, Arc<Mutex<ArgoCd>>, Watcher) {
    let token_env = format!("RAILYARD_TEST_ARGOCD_TOKEN_{name}_{backend:?}").to_uppercase();
    std::env::set_var(&token_env, "argocd-token");
    let double = Arc::new(Mutex::new(ArgoCd {
        repo: PathBuf::new(),
        token: "argocd-token".into(),
        cluster,
        lag,
        apps: HashMap::new(),
        start: String::new(),
        polls: Vec::new(),
        refused: 0,
    }));
    let url = argo_cd(double.clone()).await;
    let setup = setup(backend, |_| argo_table(&url, &token_env)).await;
    {
        let mut double = double.lock().unwrap_or_else(PoisonError::into_inner);
        double.repo = PathBuf::from(&setup.repo);
        double.start = bare(&double.repo, &["rev-parse", "main"]);
    }
    let watcher = Watcher::new(setup.app.db.clone(), std::time::Duration::from_secs(5)).expect("watcher");
    (setup, double, watcher)
}

async fn reasons(app: &TestApp, train: &str) -> String {
    let (_, text) = app.get(&format!("/api/v1/trains/{train}")).await;
    let detail: Value = serde_json::from_str(&text).expect("json");
    detail["timeline"].to_string()
}

async fn contract_argo_cd_an_old_revision_healthy_never_completes_and_the_deadline_holds_the_train(backend: Backend) {
    let (setup, _double, watcher) = argo_setup(backend, Cluster::Stuck, "STUCK", 0).await;
    let (train, opened) = open_train(&setup.app).await;
    let (run, _) = drive(&setup, &watcher, &train, opened, |run| run.phase.to_string() == "held").await;
    assert_eq!(
        (run.phase.to_string(), run.hold.clone()),
        ("held".to_owned(), Some(HoldReason::Deploy)),
        "{}",
        timeline(&run)
    );
    assert_eq!(run.step_status, StepStatus::Deploying, "nothing was taken for deployed");
    let record = &run.steps[0];
    assert!(record.deployed_at.is_none());
    let pushed = bare(FsPath::new(&setup.repo), &["rev-parse", "main"]);
    let start = bare(FsPath::new(&setup.repo), &["rev-parse", "main~1"]);
    let said = reasons(&setup.app, &train).await;
    let expected = format!(
        "eu-west canary: Argo CD has not applied revision {} after 5 min (ledger-eu-west: Argo CD reports {} applied, not yet {})",
        &pushed[..7],
        &start[..7],
        &pushed[..7]
    );
    assert!(said.contains(&expected), "expected {expected:?} in {said}");
    // The train page says what the step still waits for.
    let cookie =
        crate::helpers::sign_in(&setup.app.anonymous, &setup.app.address, "admin", crate::helpers::ADMIN_PASSWORD)
            .await;
    let (status, html) =
        setup.app.send_as(Some(&cookie), reqwest::Method::GET, &format!("/trains/{train}"), None).await;
    assert_eq!(status, 200);
    assert!(html.contains("Waiting for the GitOps controller"), "{html}");
    let line = format!(
        "ledger-eu-west: Argo CD reports {} applied, not yet {} (commit {}",
        &start[..7],
        &pushed[..7],
        &pushed[..7]
    );
    assert!(html.contains(&line), "{line} on the page");
}
on_both_backends!(contract_argo_cd_an_old_revision_healthy_never_completes_and_the_deadline_holds_the_train);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contract_argo_cd_a_degraded_application_fails_the_step_and_the_rollback_is_waited_for_too() {
    let (setup, _double, watcher) = argo_setup(
        Backend::Sqlite,
        Cluster::DegradedOn("deploy ledger 1.0.0 to production eu-west at 10%"),
        "DEGRADED",
        0,
    )
    .await;
    let (train, opened) = open_train(&setup.app).await;
    let (run, _) = drive(&setup, &watcher, &train, opened, |_| false).await;
    assert_eq!(run.phase.to_string(), "rolled_back", "{}", timeline(&run));
    let said = reasons(&setup.app, &train).await;
    assert!(
        said.contains("deploying eu-west canary failed: ledger-eu-west: the application is Degraded (Deployment ledger-canary exceeded its progress deadline)"),
        "{said}"
    );
    let subjects = git(FsPath::new(&setup.repo), &["log", "-2", "--format=%s", "main"]);
    assert!(
        subjects.starts_with("railyard: roll back ledger 1.0.0 in production eu-west (all traffic to stable)"),
        "{subjects}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contract_argo_cd_a_failed_sync_fails_the_step() {
    let (setup, _double, watcher) = argo_setup(Backend::Sqlite, Cluster::SyncFailsOn("at 10%"), "SYNCFAIL", 0).await;
    let (train, opened) = open_train(&setup.app).await;
    let (run, _) = drive(&setup, &watcher, &train, opened, |_| false).await;
    assert_eq!(run.phase.to_string(), "rolled_back", "{}", timeline(&run));
    let said = reasons(&setup.app, &train).await;
    assert!(
        said.contains("ledger-eu-west: the sync failed (one or more objects failed to apply: admission webhook denied the request)"),
        "{said}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contract_argo_cd_images_other_than_what_shipped_are_recorded_as_drift() {
    let (setup, _double, watcher) = argo_setup(Backend::Sqlite, Cluster::Drifted, "DRIFT", 0).await;
    let (train, opened) = open_train(&setup.app).await;
    let (run, _) = drive(&setup, &watcher, &train, opened, |_| false).await;
    assert_eq!(run.phase.to_string(), "completed", "{}", timeline(&run));
    let (_, text) = setup.app.get(&format!("/api/v1/trains/{train}")).await;
    let detail: Value = serde_json::from_str(&text).expect("json");
    let running: Vec<&str> =
        detail["digests"].as_array().expect("digests").iter().map(|d| d["running"].as_str().unwrap_or("?")).collect();
    assert_eq!(running.len(), 3, "{detail}");
    assert!(running.iter().all(|d| *d == format!("sha256:{}", "d".repeat(64))), "{running:?}");
    let (_, metrics) = setup.app.get("/metrics").await;
    assert!(metrics.contains("railyard_artifact_reproducibility_ratio 0"), "M12 counts the drift: {metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contract_argo_cd_a_refused_token_is_reported_and_never_taken_for_deployed() {
    let (setup, double, watcher) = argo_setup(Backend::Sqlite, Cluster::Follows, "REFUSED", 0).await;
    double.lock().unwrap_or_else(PoisonError::into_inner).token = "another-token".into();
    let (train, opened) = open_train(&setup.app).await;
    let (run, _) = drive(&setup, &watcher, &train, opened, |run| run.phase.to_string() == "held").await;
    assert_eq!(run.hold, Some(HoldReason::Deploy), "{}", timeline(&run));
    let said = reasons(&setup.app, &train).await;
    assert!(
        said.contains("Argo CD refused the token in RAILYARD_TEST_ARGOCD_TOKEN_REFUSED_SQLITE (401 Unauthorized)"),
        "{said}"
    );
    assert!(!said.contains("argocd-token") && !said.contains("another-token"), "no token on the timeline: {said}");
}

/// A Flux event for `ledger-<region>` with `reason` at `revision`, signed with `token` as a generic-hmac Provider does.
fn flux_event(region: &str, reason: &str, revision: &str, token: &str) -> (String, String) {
    let body = json!({
        "involvedObject": { "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization", "name": format!("ledger-{region}"), "namespace": "flux-system", "uid": "7d0cdc51-ddcf-4743-b223-83ca5c699632" },
        "severity": if reason.ends_with("Failed") { "error" } else { "info" },
        "timestamp": "2026-12-07T10:00:00Z",
        "message": if reason.ends_with("Failed") { "health check failed after 2m: Deployment/payments/ledger-canary not ready" } else { "Reconciliation finished" },
        "reason": reason,
        "metadata": { "kustomize.toolkit.fluxcd.io/revision": format!("main@sha1:{revision}") },
        "reportingController": "kustomize-controller",
        "reportingInstance": "kustomize-controller-7c7b47f5f-8bhrp"
    })
    .to_string();
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(token.as_bytes()).expect("key");
    mac.update(body.as_bytes());
    (body, format!("sha256={}", hex::encode(mac.finalize().into_bytes())))
}

async fn post_flux(app: &TestApp, (body, signature): (String, String)) -> (u16, Value) {
    let response = app
        .anonymous
        .post(format!("{}/api/v1/gitops/flux/payments-daily", app.address))
        .header("content-type", "application/json")
        .header("gotk-component", "kustomize-controller")
        .header("x-signature", signature)
        .body(body)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn contract_flux_events_complete_or_fail_steps_and_bad_signatures_are_refused(backend: Backend) {
    let secret_env = format!("RAILYARD_TEST_FLUX_TOKEN_{backend:?}").to_uppercase();
    std::env::set_var(&secret_env, "flux-token");
    let flux = format!("[train.gitops.flux]\nsecret_env = \"{secret_env}\"\nname = \"{{service}}-{{region}}\"\nnamespace = \"flux-system\"\n");
    let steps = [("eu-west canary", 10, "eu-west"), ("eu-west half", 50, "eu-west"), ("eu-west", 100, "eu-west")];
    let setup = setup_with(backend, |_| flux, &steps).await;
    let watcher = Watcher::new(setup.app.db.clone(), std::time::Duration::from_secs(5)).expect("watcher");
    let (train, opened) = open_train(&setup.app).await;
    let repo = FsPath::new(&setup.repo);
    let start = bare(repo, &["rev-parse", "main"]);
    let deploying = |run: &TrainRun| run.step_status == StepStatus::Deploying;
    let (_, now) = drive(&setup, &watcher, &train, opened, deploying).await;
    let pushed = bare(repo, &["rev-parse", "main"]);
    assert_ne!(pushed, start);

    // An old revision reconciled, and an unrelated object, decide nothing.
    let (status, heard) =
        post_flux(&setup.app, flux_event("eu-west", "ReconciliationSucceeded", &start, "flux-token")).await;
    assert_eq!((status, heard["settled"].as_u64()), (200, Some(0)), "{heard}");
    let (status, heard) =
        post_flux(&setup.app, flux_event("ap-south", "ReconciliationSucceeded", &pushed, "flux-token")).await;
    assert_eq!((status, heard["matched"].as_u64()), (200, Some(0)), "{heard}");
    // A forged event is refused and audited.
    let (status, refusal) =
        post_flux(&setup.app, flux_event("eu-west", "ReconciliationSucceeded", &pushed, "guessed")).await;
    assert_eq!(status, 401, "{refusal}");
    assert!(refusal.to_string().contains("X-Signature does not match"), "{refusal}");
    let mut conn = setup.app.db.acquire().await.expect("connection");
    let refused: Vec<(String, String)> =
        sqlx::query_as("SELECT actor, object FROM audit_log WHERE action = 'gitops.flux_event_refused'")
            .fetch_all(&mut *conn)
            .await
            .expect("audit");
    assert_eq!(
        refused,
        [("flux".to_owned(), "definition:payments-daily".to_owned())],
        "the refusal is on the audit log"
    );
    drop(conn);
    let run = server::runtime::load(&setup.app.db, &train).await.expect("state");
    assert_eq!(run.step_status, StepStatus::Deploying, "nothing above completed the step");

    // The pushed revision reconciled: the canary soaks.
    let (status, heard) =
        post_flux(&setup.app, flux_event("eu-west", "ReconciliationSucceeded", &pushed, "flux-token")).await;
    assert_eq!((status, heard["settled"].as_u64()), (200, Some(1)), "{heard}");
    let run = server::runtime::load(&setup.app.db, &train).await.expect("state");
    assert!(matches!(run.step_status, StepStatus::Soaking { .. }), "{:?}", run.step_status);
    assert!(reasons(&setup.app, &train).await.contains(&format!("eu-west canary: Flux applied {}", &pushed[..7])));

    // Half of eu-west: its health check fails, the step fails and the rollback waits for Flux as well.
    let (_, now) = drive(&setup, &watcher, &train, now, |run| run.current_step == 1 && deploying(run)).await;
    let second = bare(repo, &["rev-parse", "main"]);
    let (status, _) = post_flux(&setup.app, flux_event("eu-west", "HealthCheckFailed", &second, "flux-token")).await;
    assert_eq!(status, 200);
    let (run, now) = drive(&setup, &watcher, &train, now, |run| run.step_status == StepStatus::RollingBack).await;
    assert_eq!(run.step_status, StepStatus::RollingBack, "{}", timeline(&run));
    let rollback = bare(repo, &["rev-parse", "main"]);
    assert_ne!(rollback, second, "the rollback is a commit of its own");
    let (_, heard) =
        post_flux(&setup.app, flux_event("eu-west", "ReconciliationSucceeded", &rollback, "flux-token")).await;
    assert_eq!(heard["settled"].as_u64(), Some(1), "{heard}");
    let (run, _) = drive(&setup, &watcher, &train, now, |_| false).await;
    assert_eq!(run.phase.to_string(), "rolled_back", "{}", timeline(&run));
    let said = reasons(&setup.app, &train).await;
    assert!(said.contains("deploying eu-west half failed: ledger-eu-west: HealthCheckFailed: health check failed after 2m: Deployment/payments/ledger-canary not ready"), "{said}");
}
on_both_backends!(contract_flux_events_complete_or_fail_steps_and_bad_signatures_are_refused);

async fn contract_argo_cd_drift_while_monitoring_is_on_the_timeline_the_metric_and_the_dashboard_until_resolved(
    backend: Backend,
) {
    let (setup, double, watcher) = argo_setup(backend, Cluster::Follows, "MONITORED", 0).await;
    let (train, opened) = open_train(&setup.app).await;
    let monitoring = |run: &TrainRun| run.phase.to_string() == "monitoring";
    let (_, now) = drive(&setup, &watcher, &train, opened, monitoring).await;
    let drifted = |app: &str| app.contains("railyard_drift{service=\"ledger\",environment=\"production\"} 1");
    let (_, metrics) = setup.app.get("/metrics").await;
    assert!(metrics.contains("railyard_drift{service=\"ledger\",environment=\"production\"} 0"), "{metrics}");

    // Someone changes the image by hand: the next look at what runs says so.
    double.lock().unwrap_or_else(PoisonError::into_inner).cluster = Cluster::Drifted;
    watcher.pass(now + 60_000).await.expect("pass");
    let said = reasons(&setup.app, &train).await;
    for region in ["eu-west", "us-east"] {
        let expected = format!(
            "drift: ledger in production {region} runs sha256:{}, not sha256:{} as shipped",
            "d".repeat(12),
            "1".repeat(12)
        );
        assert!(said.contains(&expected), "expected {expected:?} in {said}");
    }
    let (_, metrics) = setup.app.get("/metrics").await;
    assert!(drifted(&metrics), "{metrics}");
    let dashboard = server::service::views::dashboard::build(&setup.app.db, now, None).await.expect("dashboard");
    let marked: Vec<(&str, &str, &str)> =
        dashboard.drift.iter().map(|d| (d.service.as_str(), d.region.as_str(), d.train_id.as_str())).collect();
    assert_eq!(marked, [("ledger", "eu-west", train.as_str()), ("ledger", "us-east", train.as_str())]);
    watcher.pass(now + 120_000).await.expect("pass");
    let again = reasons(&setup.app, &train).await;
    assert_eq!(
        again.matches("drift: ledger").count(),
        2,
        "a drift is told once per region, not at every look: {again}"
    );

    // Put back: resolved on the timeline, the metric and the dashboard.
    double.lock().unwrap_or_else(PoisonError::into_inner).cluster = Cluster::Follows;
    watcher.pass(now + 180_000).await.expect("pass");
    let said = reasons(&setup.app, &train).await;
    for region in ["eu-west", "us-east"] {
        let resolved =
            format!("drift resolved: ledger in production {region} runs sha256:{} as shipped", "1".repeat(12));
        assert!(said.contains(&resolved), "{said}");
    }
    let (_, metrics) = setup.app.get("/metrics").await;
    assert!(!drifted(&metrics), "{metrics}");
    let dashboard = server::service::views::dashboard::build(&setup.app.db, now, None).await.expect("dashboard");
    assert!(dashboard.drift.is_empty());
    let (run, _) = drive(&setup, &watcher, &train, now + 240_000, |_| false).await;
    assert_eq!(run.phase.to_string(), "completed");
}
on_both_backends!(
    contract_argo_cd_drift_while_monitoring_is_on_the_timeline_the_metric_and_the_dashboard_until_resolved
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contract_flux_applying_a_revision_without_the_trains_commit_while_monitoring_is_drift() {
    let secret_env = "RAILYARD_TEST_FLUX_TOKEN_DRIFT";
    std::env::set_var(secret_env, "flux-token");
    let flux = format!("[train.gitops.flux]\nsecret_env = \"{secret_env}\"\nname = \"{{service}}-{{region}}\"\n");
    let setup = setup_with(Backend::Sqlite, |_| flux, &[("eu-west", 100, "eu-west")]).await;
    let watcher = Watcher::new(setup.app.db.clone(), std::time::Duration::from_secs(5)).expect("watcher");
    let (train, opened) = open_train(&setup.app).await;
    let repo = FsPath::new(&setup.repo);
    let start = bare(repo, &["rev-parse", "main"]);
    let (_, now) = drive(&setup, &watcher, &train, opened, |run| run.step_status == StepStatus::Deploying).await;
    let pushed = bare(repo, &["rev-parse", "main"]);
    post_flux(&setup.app, flux_event("eu-west", "ReconciliationSucceeded", &pushed, "flux-token")).await;
    let (run, _) = drive(&setup, &watcher, &train, now, |run| run.phase.to_string() == "monitoring").await;
    assert_eq!(run.phase.to_string(), "monitoring", "{}", timeline(&run));

    // Someone points the cluster back at the commit before the train's.
    let (status, _) =
        post_flux(&setup.app, flux_event("eu-west", "ReconciliationSucceeded", &start, "flux-token")).await;
    assert_eq!(status, 200);
    let said = reasons(&setup.app, &train).await;
    let expected = format!(
        "drift: ledger in production eu-west runs git:{}, not sha256:{} as shipped",
        &start[..7],
        "1".repeat(12)
    );
    assert!(said.contains(&expected), "expected {expected:?} in {said}");
    let (_, metrics) = setup.app.get("/metrics").await;
    assert!(metrics.contains("railyard_drift{service=\"ledger\",environment=\"production\"} 1"), "{metrics}");

    // Flux applies the branch again: resolved.
    post_flux(&setup.app, flux_event("eu-west", "ReconciliationSucceeded", &pushed, "flux-token")).await;
    let said = reasons(&setup.app, &train).await;
    assert!(said.contains("drift resolved: ledger in production eu-west"), "{said}");
    let (_, metrics) = setup.app.get("/metrics").await;
    assert!(metrics.contains("railyard_drift{service=\"ledger\",environment=\"production\"} 0"), "{metrics}");
}
