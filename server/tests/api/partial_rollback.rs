//! Rolling back some services of a train while the rest stays deployed
//! (seed: "trigger rollback for affected services").

use std::sync::{Arc, Mutex, PoisonError};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::routing::post;
use axum::Router;
use chrono::Duration;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use server::fleet::{self, parse};
use server::integrations::{FleetIntegrations, SimulatedMetrics};
use server::runtime;
use server::scheduler::{tick, SchedulerConfig};
use server::store;
use server::time::Instant;
use sha2::Sha256;

use crate::groups::fleet_file;
use crate::helpers::{lead, register_build, run_day, sign_in, spawn_app, test_now, train_in_state, Backend, TestApp};
use crate::on_both_backends;

const SECRET: &str = "partial-rollback-secret";

/// What the deployer received, and whether it answers later (202 pending).
#[derive(Default)]
pub(crate) struct Deployer {
    /// (idempotency key, payload).
    pub(crate) releases: Vec<(String, Value)>,
    pending: bool,
}

pub(crate) type Shared = Arc<Mutex<Deployer>>;

async fn release(State(deployer): State<Shared>, headers: HeaderMap, body: Bytes) -> (StatusCode, String) {
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let mut deployer = deployer.lock().unwrap_or_else(PoisonError::into_inner);
    deployer.releases.push((key, serde_json::from_slice(&body).unwrap_or_default()));
    let answer = if deployer.pending { json!({ "status": "pending" }) } else { json!({ "running": [] }) };
    (StatusCode::ACCEPTED, answer.to_string())
}

/// Starts the deployer and an app with the payments fleet (ledger and wallet
/// in the group ledger-core, checkout alone) deploying through it, with
/// `extra` lines in the train definition.
pub(crate) async fn payments(backend: Backend, pending: bool, extra: &str) -> (TestApp, Shared) {
    let deployer: Shared = Arc::new(Mutex::new(Deployer { pending, ..Deployer::default() }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let router = Router::new().route("/deploy", post(release)).with_state(deployer.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    let variable = format!("RAILYARD_TEST_PARTIAL_{backend:?}_{pending}_{}", extra.len()).to_uppercase();
    std::env::set_var(&variable, SECRET);
    let app = spawn_app(backend, false).await;
    let webhook = format!(
        "deployer = \"webhook\"\nwebhook_url = \"http://{address}/deploy\"\nwebhook_secret_env = \"{variable}\"\n{extra}"
    );
    let fleet = parse("fleet.toml", &fleet_file(&webhook)).expect("valid");
    fleet::apply(&app.db, &fleet, test_now()).await.expect("apply");
    (app, deployer)
}

/// Ships 1.0.0 of every service on day 0, registers 2.0.0 and opens day 1's
/// train; returns it with the integrations driving it and the instant it opened.
pub(crate) async fn second_train(app: &TestApp) -> (String, FleetIntegrations, Instant) {
    for (service, digit) in [("ledger", 'a'), ("wallet", 'b'), ("checkout", 'c')] {
        register_build(app, service, "1.0.0", digit, "1.0").await;
    }
    let first = run_day(app, 0, SimulatedMetrics::default()).await;
    assert_eq!(runtime::load(&app.db, &first).await.expect("state").phase.to_string(), "completed");
    for (service, digit) in [("ledger", 'd'), ("wallet", 'e'), ("checkout", 'f')] {
        register_build(app, service, "2.0.0", digit, "1.0").await;
    }
    let opened = test_now() + Duration::days(1) + Duration::hours(1);
    tick(&app.db, lead(&app.db).await, opened, &SchedulerConfig::default()).await.expect("tick");
    let integrations = FleetIntegrations::new(app.db.clone(), Arc::new(app.clock.clone()), SimulatedMetrics::default())
        .expect("integrations");
    (train_in_state(&app.db, "planning").await, integrations, Instant::from_utc(opened))
}

/// Works the runtime minute by minute from `now` until `done` says so; returns the instant.
pub(crate) async fn work_until(
    app: &TestApp,
    integrations: &FleetIntegrations,
    train: &str,
    mut now: Instant,
    done: &str,
) -> i64 {
    let fence = lead(&app.db).await;
    for _ in 0..24 * 60 {
        app.clock.set(now.to_utc());
        runtime::sync_freezes(&app.db, fence, now).await.expect("freezes");
        while runtime::work(&app.db, fence, integrations, now, 100).await.expect("work") > 0 {}
        let phase = runtime::load(&app.db, train).await.expect("state").phase;
        if phase.to_string() == done || phase.is_final() {
            return now.ms();
        }
        now += 60_000;
    }
    panic!("train {train} never got to {done}")
}

pub(crate) async fn act(app: &TestApp, cookie: &str, train: &str, body: Value) -> (u16, Value) {
    let path = format!("/api/v1/trains/{train}/actions");
    let (status, text) = app.send_as(Some(cookie), Method::POST, &path, Some(&body)).await;
    (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON from {path}: {text}")))
}

/// The services of a release payload's `field` (`artifacts` or `restore`), as "name version".
fn listed(payload: &Value, field: &str) -> Vec<String> {
    payload[field]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| format!("{} {}", a["service"].as_str().unwrap_or_default(), a["version"].as_str().unwrap_or_default()))
        .collect()
}

async fn one_service_rolls_back_alone_and_the_rest_of_the_train_completes(backend: Backend) {
    let (app, deployer) = payments(backend, false, "").await;
    app.user_with_roles("rita", &[("release_manager", Some("payments"))]).await;
    let (train, integrations, opened) = second_train(&app).await;
    let now = work_until(&app, &integrations, &train, opened, "monitoring").await;
    let rita = sign_in(&app.anonymous, &app.address, "rita", "their own password").await;

    let (status, body) = act(&app, &rita, &train, json!({ "action": "roll_back_services", "services": [] })).await;
    assert_eq!(status, 400, "a reason is needed: {body}");
    let empty = json!({ "action": "roll_back_services", "services": [" "], "reason": "r" });
    let (status, body) = act(&app, &rita, &train, empty).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("`services` names no service; name at least one to roll back"))
    );
    let unknown = json!({ "action": "roll_back_services", "services": ["search"], "reason": "r" });
    let (status, body) = act(&app, &rita, &train, unknown).await;
    assert_eq!((status, body["error"].as_str()), (409, Some("search is not on this train")), "{body}");

    let checkout =
        json!({ "action": "roll_back_services", "services": ["checkout"], "reason": "checkout 500s on /pay" });
    let (status, body) = act(&app, &rita, &train, checkout.clone()).await;
    assert_eq!((status, body["phase"].as_str()), (200, Some("monitoring")), "{body}");
    let (status, body) = act(&app, &rita, &train, checkout).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("the rollback of checkout is still running: wait for it to finish")),
        "{body}"
    );
    work_until(&app, &integrations, &train, Instant::from_ms(now), "completed").await;

    let releases = deployer.lock().unwrap_or_else(PoisonError::into_inner).releases.clone();
    let rollbacks: Vec<&(String, Value)> = releases.iter().filter(|(_, p)| p["action"] == "rollback").collect();
    assert_eq!(rollbacks.len(), 1, "one rollback, of checkout alone: {rollbacks:?}");
    let (key, payload) = rollbacks[0];
    assert_eq!(key, &format!("{train}:rollback-services:0"));
    assert_eq!(listed(payload, "artifacts"), vec!["checkout 2.0.0"]);
    assert_eq!(listed(payload, "restore"), vec!["checkout 1.0.0"], "the deployer is told what to restore");

    let mut conn = app.db.acquire().await.expect("connection");
    let cargo = store::artifacts::cargo(&mut conn, &train).await.expect("cargo");
    let statuses: Vec<(&str, &str)> = cargo.iter().map(|c| (c.service.as_str(), c.status.as_str())).collect();
    for expected in [("ledger", "shipped"), ("wallet", "shipped"), ("checkout", "rolled_back")] {
        assert!(statuses.contains(&expected), "{statuses:?}");
    }
    let checkout_build = cargo.iter().find(|c| c.service == "checkout").expect("checkout");
    let row = store::artifacts::by_id(&mut conn, &checkout_build.artifact_id).await.expect("query").expect("row");
    assert!(row.rejected_at.is_some(), "the rolled-back build does not board again");
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'train.operator_action' AND actor = 'user:rita' \
         AND after_state LIKE '%roll_back_services%'",
    )
    .fetch_one(&mut *conn)
    .await
    .expect("count");
    assert_eq!(audited, 1, "the rollback is in the audit log (refusals are not)");
    drop(conn);

    let (_, detail) = app.get(&format!("/api/v1/trains/{train}")).await;
    for said in [
        "rolling back checkout alone, by user:rita: checkout 500s on /pay",
        "checkout rolled back in ",
        "the services rolled back alone stay on their previous version",
    ] {
        assert!(detail.contains(said), "the timeline says {said:?}: {detail}");
    }
    let (_, page) = app.send_as(Some(&rita), Method::GET, &format!("/trains/{train}"), None).await;
    assert!(page.contains("rolled back by user:rita: checkout 500s on /pay"), "the train page shows why");
}
on_both_backends!(one_service_rolls_back_alone_and_the_rest_of_the_train_completes);

/// Signs and sends the deployer's status callback for `key`.
async fn callback(app: &TestApp, key: &str, status: &str, now: Instant) -> u16 {
    let body = json!({ "status": status, "detail": if status == "failed" { "the old image is gone" } else { "" } })
        .to_string();
    let timestamp = now.ms() / 1000;
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(SECRET.as_bytes()).expect("key");
    mac.update(format!("{timestamp}.POST /api/v1/deployments/{key}/status.{body}").as_bytes());
    let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    let response = app
        .anonymous
        .post(format!("{}/api/v1/deployments/{key}/status", app.address))
        .header("x-railyard-timestamp", timestamp.to_string())
        .header("x-railyard-signature", signature)
        .body(body)
        .send()
        .await
        .expect("request");
    response.status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_member_rolls_back_with_its_group_and_a_failed_callback_holds_until_retried() {
    let (app, deployer) = payments(Backend::Sqlite, false, "").await;
    app.user_with_roles("rita", &[("release_manager", Some("payments"))]).await;
    let (train, integrations, opened) = second_train(&app).await;
    let mut now = work_until(&app, &integrations, &train, opened, "monitoring").await;
    deployer.lock().unwrap_or_else(PoisonError::into_inner).pending = true;
    let rita = sign_in(&app.anonymous, &app.address, "rita", "their own password").await;

    let wallet = json!({ "action": "roll_back_services", "services": ["wallet"], "reason": "wallet drops payments" });
    let (status, body) = act(&app, &rita, &train, wallet.clone()).await;
    assert_eq!(status, 200, "{body}");
    while runtime::work(&app.db, lead(&app.db).await, &integrations, Instant::from_ms(now), 100).await.expect("work")
        > 0
    {}
    let key = format!("{train}:rollback-services:0");
    let payload = {
        let deployer = deployer.lock().unwrap_or_else(PoisonError::into_inner);
        deployer.releases.iter().find(|(k, _)| k == &key).map(|(_, p)| p.clone()).expect("sent")
    };
    assert_eq!(listed(&payload, "artifacts"), vec!["wallet 2.0.0", "ledger 2.0.0"], "its group, consumers first");
    assert_eq!(callback(&app, &key, "failed", Instant::from_ms(now)).await, 200);
    let run = runtime::load(&app.db, &train).await.expect("state");
    assert_eq!(run.phase.to_string(), "held", "a failed rollback holds the train");

    // The console offers the failed rollback again (and resuming, for a restore by hand).
    let (_, console) = app.send_as(Some(&rita), Method::GET, "/console", None).await;
    // The trains' part of the page (the incident desk below lists every service to report on).
    let console = console.split("class=\"incident-desk").next().unwrap_or_default();
    assert!(console.contains("Roll back one service…"), "offered in the console");
    assert!(console.contains("<option value=\"wallet\">"), "the failed services are offered");
    assert!(!console.contains("<option value=\"checkout\">"), "not the others while it is held");

    now += 60_000;
    app.clock.set(server::time::from_ms(now));
    let (status, body) = act(&app, &rita, &train, wallet).await;
    assert_eq!((status, body["phase"].as_str()), (200, Some("monitoring")), "{body}");
    while runtime::work(&app.db, lead(&app.db).await, &integrations, Instant::from_ms(now), 100).await.expect("work")
        > 0
    {}
    let retry = format!("{key}:2");
    assert!(deployer.lock().unwrap_or_else(PoisonError::into_inner).releases.iter().any(|(k, _)| k == &retry));
    assert_eq!(callback(&app, &retry, "succeeded", Instant::from_ms(now)).await, 200);
    assert_eq!(
        callback(&app, &retry, "succeeded", Instant::from_ms(now)).await,
        200,
        "a repeated callback is harmless"
    );
    deployer.lock().unwrap_or_else(PoisonError::into_inner).pending = false;
    work_until(&app, &integrations, &train, Instant::from_ms(now), "completed").await;
    let run = runtime::load(&app.db, &train).await.expect("state");
    assert_eq!(run.phase.to_string(), "completed");
    let boarded: Vec<&str> = run.candidates.iter().filter(|c| c.boarded()).map(|c| c.service.as_str()).collect();
    assert_eq!(boarded, vec!["checkout"], "checkout stays deployed");
    assert_eq!(run.service_rollbacks[0].attempts, 2);
    let (_, metrics) = app.get("/metrics").await;
    assert!(
        metrics.contains("railyard_rollback_seconds_mean 60.0\n"),
        "M3 counts from the first trigger to the baseline restored, through the retry: {metrics}"
    );
}
