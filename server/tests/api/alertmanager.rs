//! Alerts out, silences and alerts back in, against a real Alertmanager
//! (Debian's `prometheus-alertmanager`, started on loopback per test). The
//! trains here are emergency trains opened a couple of hours before the wall
//! clock, so the times Railyard sends are ones Alertmanager (which reads its
//! own clock) takes as recent.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use server::alerter::{Alerter, AlerterSettings};
use server::engine::TrainRun;
use server::fleet::{self, parse};
use server::integrations::{FleetIntegrations, SimulatedMetrics};
use server::time::Instant;

use crate::helpers::{create_token, lead, sign_in, spawn_app, Backend, TestApp, ADMIN_PASSWORD};

/// An Alertmanager on a free loopback port, clustering off, killed on drop.
pub struct Alertmanager {
    child: Child,
    pub url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts Alertmanager; with `webhook` (a URL and a bearer token) every alert is posted there
/// at once and again when resolved.
pub async fn start_alertmanager(webhook: Option<(&str, &str)>) -> Alertmanager {
    let dir = tempfile::tempdir().expect("temp dir");
    let receiver = match webhook {
        Some((url, token)) => format!(
            "  - name: railyard\n    webhook_configs:\n      - url: '{url}'\n        send_resolved: true\n        \
             http_config:\n          authorization:\n            credentials: '{token}'\n"
        ),
        None => "  - name: railyard\n".to_owned(),
    };
    let config = format!(
        "route:\n  receiver: railyard\n  group_by: ['alertname', 'train']\n  group_wait: 0s\n  group_interval: 1s\n  \
         repeat_interval: 1h\nreceivers:\n{receiver}"
    );
    std::fs::write(dir.path().join("alertmanager.yml"), config).expect("config");
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("address").port();
    let child = Command::new("prometheus-alertmanager")
        .arg(format!("--config.file={}", dir.path().join("alertmanager.yml").display()))
        .arg(format!("--storage.path={}", dir.path().join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .arg("--log.level=warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("Debian's prometheus-alertmanager is installed (scripts/setup installs it)");
    let manager = Alertmanager { child, url: format!("http://127.0.0.1:{port}"), _dir: dir };
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client.get(format!("{}/-/ready", manager.url)).send().await.is_ok_and(|r| r.status().is_success()) {
            return manager;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("Alertmanager did not become ready");
}

impl Alertmanager {
    async fn get(&self, path: &str) -> Vec<Value> {
        let response = reqwest::get(format!("{}{path}", self.url)).await.expect("Alertmanager answers");
        assert!(response.status().is_success(), "{path}: {}", response.status());
        response.json().await.expect("JSON")
    }

    /// The alerts Alertmanager holds as active now, as (alertname, labels, annotations).
    pub async fn alerts(&self) -> Vec<Value> {
        self.get("/api/v2/alerts").await
    }

    pub async fn silences(&self) -> Vec<Value> {
        self.get("/api/v2/silences").await
    }
}

const FLEET: &str = r#"
[[domain]]
name = "payments"

[[service]]
name = "ledger"
domain = "payments"
runbook = "https://wiki.example.com/ledger/runbook"
slo = { target = 0.999, window = "28d" }

[[train]]
name = "payments-daily"
domain = "payments"
services = ["ledger"]
cadence = "FREQ=DAILY;BYHOUR=14"
time_zone = "UTC"
starts = "2026-01-01"
planning_window = "1h"
cutover_window = "4h"
preflight = "30m"
monitoring = "10m"
gates = ["tests"]
emergency_gates = ["tests"]
alert_when_held = "20m"

[[train.expected_alerts]]
matchers = ['alertname="KubeDeploymentReplicasMismatch"', 'namespace="payments"']
comment = "pods restart while ledger rolls out"

[[train.step]]
name = "canary 10% eu-west"
environment = "production"
weight = 10
soak = "10m"
region = "eu-west"

[[train.step]]
name = "100%"
environment = "production"
weight = 100
soak = "0s"
"#;

/// Applies `fleet` (e.g. [`FLEET`]), registers a tested ledger build, and starts an emergency train whose
/// cutover is `ago` before the wall clock; answers its id, its cutover and a release manager's cookie.
pub async fn emergency_train(app: &mut TestApp, ago: chrono::Duration, fleet: &str) -> (String, Instant, String) {
    let cutover = chrono::Utc::now() - ago;
    app.clock.set(cutover);
    // The first admin's session would have lapsed over the jump in time.
    app.admin_cookie = sign_in(&app.anonymous, &app.address, "admin", ADMIN_PASSWORD).await;
    fleet::apply(&app.db, &parse("fleet.toml", fleet).expect("valid"), cutover).await.expect("apply");
    let build = json!({ "service": "ledger", "version": "7.0.0", "digest": format!("sha256:{}", "7".repeat(64)),
                        "commit": "abc1234", "author": "bob" });
    let (status, artifact) = app.post_json("/api/v1/artifacts", &build).await;
    assert_eq!(status, 201, "{artifact}");
    let artifact = artifact["id"].as_str().expect("id").to_owned();
    let tests = json!({ "kind": "tests", "name": "unit", "status": "passed" });
    assert_eq!(app.post_json(&format!("/api/v1/artifacts/{artifact}/checks"), &tests).await.0, 201);
    let start = json!({ "definition": "payments-daily", "artifacts": [artifact], "reason": "card outage: hotfix" });
    let manager = app.user_with_roles("rita", &[("release_manager", Some("payments"))]).await;
    let (status, body) = app.send_as(Some(&manager), Method::POST, "/api/v1/trains/emergency", Some(&start)).await;
    assert_eq!(status, 201, "{body}");
    let train: Value = serde_json::from_str(&body).expect("JSON");
    (train["id"].as_str().expect("id").to_owned(), Instant::from_utc(cutover), manager)
}

/// An alerter sending to `manager`, every second.
pub fn alerter(app: &TestApp, manager: &Alertmanager) -> Alerter {
    let settings = AlerterSettings {
        alertmanagers: vec![manager.url.clone()],
        public_url: "https://railyard.example.com".into(),
        interval: Duration::from_secs(1),
        ..AlerterSettings::default()
    };
    Alerter::new(app.db.clone(), settings).expect("alerter")
}

/// Works the runtime minute by minute from `from`, running an alerting pass each minute, until
/// `done` holds for the train (or three hours pass); answers the simulated instant it stopped at.
pub async fn drive_until(
    app: &TestApp,
    integrations: &FleetIntegrations,
    alerter: &Alerter,
    train_id: &str,
    from: Instant,
    done: impl Fn(&TrainRun) -> bool,
) -> Instant {
    let fence = lead(&app.db).await;
    let mut now = from;
    for _ in 0..180 {
        while server::runtime::work(&app.db, fence, integrations, now, 100).await.expect("work") > 0 {}
        alerter.pass(now).await.expect("alerting pass");
        if done(&server::runtime::load(&app.db, train_id).await.expect("state")) {
            return now;
        }
        now += 60_000;
    }
    panic!("train {train_id} did not get there in three hours");
}

fn named<'a>(alerts: &'a [Value], name: &str) -> Vec<&'a Value> {
    alerts.iter().filter(|a| a["labels"]["alertname"] == name).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fast_burn_rollback_pages_through_alertmanager_and_resolves_once_the_train_is_over() {
    let manager = start_alertmanager(None).await;
    let mut app = spawn_app(Backend::Sqlite, false).await;
    let (train_id, cutover, _) = emergency_train(&mut app, chrono::Duration::hours(2), FLEET).await;
    let burning = SimulatedMetrics { burning: Some(("ledger".into(), 1, 1)), ..SimulatedMetrics::default() };
    let integrations =
        FleetIntegrations::new(app.db.clone(), Arc::new(app.clock.clone()), burning).expect("integrations");
    let alerter = alerter(&app, &manager);
    let ended = drive_until(&app, &integrations, &alerter, &train_id, cutover, |run| run.phase.is_final()).await;
    assert_eq!(server::runtime::load(&app.db, &train_id).await.expect("state").phase.as_str(), "rolled_back");

    let alerts = manager.alerts().await;
    let pages = named(&alerts, "RailyardErrorBudgetBurn");
    assert_eq!(pages.len(), 1, "one page for the burn: {alerts:#?}");
    let page = pages[0];
    for (label, value) in [
        ("severity", "page"),
        ("train", train_id.as_str()),
        ("definition", "payments-daily"),
        ("domain", "payments"),
        ("service", "ledger"),
        ("environment", "production"),
        ("region", "eu-west"),
        ("burn", "fast"),
    ] {
        assert_eq!(page["labels"][label], value, "{label} of {page:#}");
    }
    assert_eq!(page["annotations"]["runbook_url"], "https://wiki.example.com/ledger/runbook");
    assert_eq!(page["annotations"]["train_url"], format!("https://railyard.example.com/trains/{train_id}"));
    assert!(page["annotations"]["description"].as_str().expect("text").contains("ledger burns"), "{page:#}");
    assert_eq!(page["status"]["state"], "active");

    // Re-sent each pass, it stays one alert; once the rule's 5-minute window has passed since the
    // ended train burned, it resolves in Alertmanager too.
    alerter.pass(ended + 60_000).await.expect("pass");
    assert_eq!(named(&manager.alerts().await, "RailyardErrorBudgetBurn").len(), 1);
    let report = alerter.pass(ended + 6 * 60_000).await.expect("pass");
    assert_eq!(report.resolved, 1, "{report:?}");
    assert!(named(&manager.alerts().await, "RailyardErrorBudgetBurn").is_empty(), "resolved");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_train_held_past_its_threshold_tickets_and_the_ticket_resolves_on_resume() {
    let manager = start_alertmanager(None).await;
    let mut app = spawn_app(Backend::Sqlite, false).await;
    let (train_id, cutover, rita) = emergency_train(&mut app, chrono::Duration::hours(2), FLEET).await;
    let integrations = FleetIntegrations::new(app.db.clone(), Arc::new(app.clock.clone()), SimulatedMetrics::default())
        .expect("integrations");
    let alerter = alerter(&app, &manager);
    let canary =
        drive_until(&app, &integrations, &alerter, &train_id, cutover, |run| run.phase.as_str() == "canary").await;
    app.clock.set((canary).to_utc());
    let hold = json!({ "action": "hold", "reason": "checking a dashboard" });
    let path = format!("/api/v1/trains/{train_id}/actions");
    let (status, body) = app.send_as(Some(&rita), Method::POST, &path, Some(&hold)).await;
    assert_eq!(status, 200, "{body}");
    alerter.pass(canary + 19 * 60_000).await.expect("pass");
    assert!(named(&manager.alerts().await, "RailyardTrainHeld").is_empty(), "not before alert_when_held (20m)");
    alerter.pass(canary + 21 * 60_000).await.expect("pass");
    let alerts = manager.alerts().await;
    let tickets = named(&alerts, "RailyardTrainHeld");
    assert_eq!(tickets.len(), 1, "{alerts:#?}");
    assert_eq!(tickets[0]["labels"]["severity"], "ticket");
    assert_eq!(tickets[0]["labels"]["train"], train_id.as_str());
    assert!(tickets[0]["annotations"]["description"].as_str().expect("text").contains("an operator held it"));

    app.clock.set((canary + 22 * 60_000).to_utc());
    let resume = json!({ "action": "resume", "reason": "" });
    let (status, body) = app.send_as(Some(&rita), Method::POST, &path, Some(&resume)).await;
    assert_eq!(status, 200, "{body}");
    alerter.pass(canary + 23 * 60_000).await.expect("pass");
    assert!(named(&manager.alerts().await, "RailyardTrainHeld").is_empty(), "resolved on resume");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expected_alerts_are_silenced_for_the_cutover_and_the_silence_expires_when_the_train_ends() {
    let manager = start_alertmanager(None).await;
    let mut app = spawn_app(Backend::Sqlite, false).await;
    let (train_id, cutover, _) = emergency_train(&mut app, chrono::Duration::hours(1), FLEET).await;
    let integrations = FleetIntegrations::new(app.db.clone(), Arc::new(app.clock.clone()), SimulatedMetrics::default())
        .expect("integrations");
    let alerter = alerter(&app, &manager);
    let canary =
        drive_until(&app, &integrations, &alerter, &train_id, cutover, |run| run.phase.as_str() == "canary").await;
    let silences = manager.silences().await;
    let ours: Vec<&Value> = silences
        .iter()
        .filter(|s| s["comment"].as_str().is_some_and(|c| c.contains(&train_id)) && s["status"]["state"] == "active")
        .collect();
    assert_eq!(ours.len(), 1, "one active silence naming the train: {silences:#?}");
    let silence = ours[0];
    assert_eq!(silence["createdBy"], "railyard");
    assert!(silence["comment"].as_str().expect("text").contains("pods restart while ledger rolls out"));
    let matchers: Vec<(String, String, bool, bool)> = silence["matchers"]
        .as_array()
        .expect("matchers")
        .iter()
        .map(|m| {
            (
                m["name"].as_str().expect("name").to_owned(),
                m["value"].as_str().expect("value").to_owned(),
                m["isRegex"].as_bool().expect("isRegex"),
                m["isEqual"].as_bool().unwrap_or(true),
            )
        })
        .collect();
    assert_eq!(
        matchers,
        [
            ("alertname".to_owned(), "KubeDeploymentReplicasMismatch".to_owned(), false, true),
            ("namespace".to_owned(), "payments".to_owned(), false, true)
        ]
    );
    let ends = chrono::DateTime::parse_from_rfc3339(silence["endsAt"].as_str().expect("endsAt")).expect("time");
    let window_end = (cutover + 4 * 3600 * 1000).to_utc();
    assert!(
        (ends.to_utc() - window_end).num_seconds().abs() <= 1,
        "ends with the cutover window: {ends} vs {window_end}"
    );
    let silenced = json!([{ "labels": { "alertname": "KubeDeploymentReplicasMismatch", "namespace": "payments" },
                            "startsAt": chrono::Utc::now().to_rfc3339(),
                            "endsAt": (chrono::Utc::now() + chrono::Duration::minutes(5)).to_rfc3339() }]);
    let posted = reqwest::Client::new()
        .post(format!("{}/api/v2/alerts", manager.url))
        .json(&silenced)
        .send()
        .await
        .expect("post");
    assert!(posted.status().is_success());
    let alerts = manager.get("/api/v2/alerts?active=false&silenced=true").await;
    assert!(
        named(&alerts, "KubeDeploymentReplicasMismatch").iter().all(|a| a["status"]["state"] == "suppressed"),
        "the cluster's expected alert is silenced: {alerts:#?}"
    );
    assert!(!named(&alerts, "KubeDeploymentReplicasMismatch").is_empty());

    drive_until(&app, &integrations, &alerter, &train_id, canary, |run| run.phase.is_final()).await;
    let silences = manager.silences().await;
    let ours: Vec<&Value> =
        silences.iter().filter(|s| s["comment"].as_str().is_some_and(|c| c.contains(&train_id))).collect();
    assert!(!ours.is_empty() && ours.iter().all(|s| s["status"]["state"] == "expired"), "{silences:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alertmanager_s_webhook_opens_an_incident_on_the_train_that_changed_the_service_and_resolves_it() {
    let mut app = spawn_app(Backend::Sqlite, false).await;
    let (train_id, cutover, _) = emergency_train(&mut app, chrono::Duration::hours(2), FLEET).await;
    let integrations = FleetIntegrations::new(app.db.clone(), Arc::new(app.clock.clone()), SimulatedMetrics::default())
        .expect("integrations");
    let fence = lead(&app.db).await;
    let mut now = cutover;
    while !server::runtime::load(&app.db, &train_id).await.expect("state").phase.is_final() {
        while server::runtime::work(&app.db, fence, &integrations, now, 100).await.expect("work") > 0 {}
        now += 60_000;
    }
    app.clock.set(chrono::Utc::now());
    app.admin_cookie = sign_in(&app.anonymous, &app.address, "admin", ADMIN_PASSWORD).await;
    let token = create_token(&app.anonymous, &app.address, &app.admin_cookie, &["incidents:write"]).await;
    let manager = start_alertmanager(Some((&format!("{}/api/v1/alerts/alertmanager", app.address), &token))).await;

    // The cluster's own alert about ledger, as Prometheus would send it.
    let started = chrono::Utc::now() - chrono::Duration::minutes(10);
    let alert = |ends: chrono::DateTime<chrono::Utc>| {
        json!([{ "labels": { "alertname": "LedgerHighErrorRate", "service": "ledger", "severity": "page" },
                 "annotations": { "summary": "ledger returns 5xx to 12% of requests" },
                 "startsAt": started.to_rfc3339(), "endsAt": ends.to_rfc3339(),
                 "generatorURL": "http://prometheus.example.com/graph?g0.expr=errors" }])
    };
    let post = |body: Value| {
        let url = format!("{}/api/v2/alerts", manager.url);
        async move {
            let response = reqwest::Client::new().post(url).json(&body).send().await.expect("post");
            assert!(response.status().is_success(), "{}", response.status());
        }
    };
    post(alert(chrono::Utc::now() + chrono::Duration::minutes(5))).await;
    let incident = wait_for_incident(&app, &train_id, |i| i.is_some()).await.expect("opened");
    assert_eq!(incident.title, "ledger returns 5xx to 12% of requests");
    assert_eq!(incident.severity, "critical", "a page is a critical incident");
    assert_eq!(incident.link, "http://prometheus.example.com/graph?g0.expr=errors");
    assert_eq!(incident.resolved_at, None);
    assert_eq!((incident.started_at.ms() / 1000), started.timestamp(), "it started when the alert did");

    let resolved_at = chrono::Utc::now() - chrono::Duration::seconds(5);
    post(alert(resolved_at)).await;
    let incident =
        wait_for_incident(&app, &train_id, |i| i.is_some_and(|i| i.resolved_at.is_some())).await.expect("resolved");
    assert_eq!(incident.resolved_at.map(|at| at.ms() / 1000), Some(resolved_at.timestamp()));
    let (_, metrics) = app.get("/metrics").await;
    let restore = metrics
        .lines()
        .find(|l| l.starts_with("railyard_time_to_restore_seconds_mean "))
        .unwrap_or_else(|| panic!("time to restore in {metrics}"));
    let seconds: f64 = restore.rsplit(' ').next().and_then(|v| v.parse().ok()).expect("number");
    assert!((seconds - 595.0).abs() <= 2.0, "{restore}");
}

/// Waits (bounded) until the train's one incident satisfies `done`; answers it.
async fn wait_for_incident(
    app: &TestApp,
    train_id: &str,
    done: impl Fn(Option<&server::store::incidents::Incident>) -> bool,
) -> Option<server::store::incidents::Incident> {
    for _ in 0..200 {
        let mut conn = app.db.acquire().await.expect("connection");
        let incidents = server::store::incidents::of_train(&mut conn, train_id).await.expect("incidents");
        assert!(incidents.len() <= 1, "one alert, one incident: {incidents:?}");
        if done(incidents.first()) {
            return incidents.into_iter().next();
        }
        drop(conn);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("Alertmanager's webhook never got there");
}

/// A deployer that deploys, and whose every rollback fails.
async fn deploys_but_never_rolls_back(body: axum::body::Bytes) -> (axum::http::StatusCode, String) {
    let payload: Value = serde_json::from_slice(&body).unwrap_or_default();
    if payload["action"] == "rollback" {
        return (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "registry unreachable".into());
    }
    let running: Vec<Value> = payload["artifacts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| json!({ "service": a["service"], "digest": a["digest"] }))
        .collect();
    (axum::http::StatusCode::ACCEPTED, json!({ "running": running }).to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_rollback_pages_until_people_restore_by_hand_and_abort() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let receiver = axum::Router::new().route("/deploy", axum::routing::post(deploys_but_never_rolls_back));
    tokio::spawn(async move { axum::serve(listener, receiver).await });
    std::env::set_var("RAILYARD_TEST_ALERTS_WEBHOOK_SECRET", "alerts-secret");
    let fleet = FLEET.replace(
        "alert_when_held = \"20m\"",
        &format!(
            "alert_when_held = \"20m\"\ndeployer = \"webhook\"\nwebhook_url = \"http://{address}/deploy\"\n\
             webhook_secret_env = \"RAILYARD_TEST_ALERTS_WEBHOOK_SECRET\""
        ),
    );
    let manager = start_alertmanager(None).await;
    let mut app = spawn_app(Backend::Sqlite, false).await;
    let (train_id, cutover, rita) = emergency_train(&mut app, chrono::Duration::hours(2), &fleet).await;
    let burning = SimulatedMetrics { burning: Some(("ledger".into(), 1, 1)), ..SimulatedMetrics::default() };
    let integrations =
        FleetIntegrations::new(app.db.clone(), Arc::new(app.clock.clone()), burning).expect("integrations");
    let alerter = alerter(&app, &manager);
    let held = drive_until(&app, &integrations, &alerter, &train_id, cutover, |run| {
        run.hold == Some(server::engine::HoldReason::Rollback)
    })
    .await;
    let alerts = manager.alerts().await;
    let pages = named(&alerts, "RailyardRollbackFailed");
    assert_eq!(pages.len(), 1, "{alerts:#?}");
    assert_eq!(pages[0]["labels"]["severity"], "page");
    assert_eq!(pages[0]["labels"]["train"], train_id.as_str());
    assert!(pages[0]["annotations"]["description"].as_str().expect("text").contains("restore by hand and abort"));

    app.clock.set(held.to_utc());
    let abort = json!({ "action": "abort", "reason": "restored ledger by hand" });
    let path = format!("/api/v1/trains/{train_id}/actions");
    let (status, body) = app.send_as(Some(&rita), Method::POST, &path, Some(&abort)).await;
    assert_eq!(status, 200, "{body}");
    alerter.pass(held + 60_000).await.expect("pass");
    assert!(named(&manager.alerts().await, "RailyardRollbackFailed").is_empty(), "resolved once the train ended");
}

/// A deployer that deploys, but reports another image running after the last step.
async fn deploys_then_drifts(body: axum::body::Bytes) -> (axum::http::StatusCode, String) {
    let payload: Value = serde_json::from_slice(&body).unwrap_or_default();
    let last = payload["step"]["index"] == 1;
    let running: Vec<Value> = payload["artifacts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            let digest = if last { json!(format!("sha256:{}", "f".repeat(64))) } else { a["digest"].clone() };
            json!({ "service": a["service"], "digest": digest })
        })
        .collect();
    (axum::http::StatusCode::ACCEPTED, json!({ "running": running }).to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_after_a_train_tickets_with_the_target_that_drifted() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let receiver = axum::Router::new().route("/deploy", axum::routing::post(deploys_then_drifts));
    tokio::spawn(async move { axum::serve(listener, receiver).await });
    std::env::set_var("RAILYARD_TEST_DRIFT_WEBHOOK_SECRET", "drift-secret");
    let fleet = FLEET.replace(
        "alert_when_held = \"20m\"",
        &format!(
            "alert_when_held = \"20m\"\ndeployer = \"webhook\"\nwebhook_url = \"http://{address}/deploy\"\n\
             webhook_secret_env = \"RAILYARD_TEST_DRIFT_WEBHOOK_SECRET\""
        ),
    );
    let manager = start_alertmanager(None).await;
    let mut app = spawn_app(Backend::Sqlite, false).await;
    let (train_id, cutover, _) = emergency_train(&mut app, chrono::Duration::hours(2), &fleet).await;
    let integrations = FleetIntegrations::new(app.db.clone(), Arc::new(app.clock.clone()), SimulatedMetrics::default())
        .expect("integrations");
    let alerter = alerter(&app, &manager);
    drive_until(&app, &integrations, &alerter, &train_id, cutover, |run| run.phase.is_final()).await;
    let alerts = manager.alerts().await;
    let tickets = named(&alerts, "RailyardDrift");
    assert_eq!(tickets.len(), 1, "{alerts:#?}");
    for (label, value) in [
        ("severity", "ticket"),
        ("train", train_id.as_str()),
        ("service", "ledger"),
        ("environment", "production"),
        ("domain", "payments"),
    ] {
        assert_eq!(tickets[0]["labels"][label], value, "{label} of {:#}", tickets[0]);
    }
    assert!(
        tickets[0]["annotations"]["description"].as_str().expect("text").contains("sha256:ffff"),
        "{:#}",
        tickets[0]
    );
}
