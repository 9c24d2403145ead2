use std::sync::{Arc, Mutex, PoisonError};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use chrono::Duration;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use server::engine::{Action, Event};
use server::fleet::{self, parse};
use server::integrations::{FleetIntegrations, SimulatedMetrics};
use server::runtime;
use server::scheduler::{tick, SchedulerConfig};
use server::time::Instant;
use sha2::Sha256;

use crate::helpers::{drive_train, ledger_fleet, register_build, spawn_app, test_now, train_in_state, Backend};
use crate::on_both_backends;

const SECRET: &str = "s3cret-shared-with-the-receiver";

/// What the receiver saw: (idempotency key, payload action, step, signature valid).
#[derive(Default)]
struct Seen {
    requests: Vec<(String, String, u64, bool)>,
    applied: Vec<String>,
    failures_left: usize,
    notifications: Vec<String>,
    notification_failures_left: usize,
}

/// A Slack-compatible incoming webhook that fails its first post.
async fn slack(State(seen): State<Arc<Mutex<Seen>>>, Json(message): Json<Value>) -> StatusCode {
    let mut seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
    if seen.notification_failures_left > 0 {
        seen.notification_failures_left -= 1;
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    seen.notifications.push(message["text"].as_str().unwrap_or_default().to_owned());
    StatusCode::OK
}

/// Deploys, and reports what runs: the shipped digest, except after the last step, where the image drifted.
async fn receive(State(seen): State<Arc<Mutex<Seen>>>, headers: HeaderMap, body: Bytes) -> (StatusCode, String) {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let key = header("idempotency-key");
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(SECRET.as_bytes()).expect("key");
    mac.update(format!("{}.", header("x-railyard-timestamp")).as_bytes());
    mac.update(&body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    let valid = header("x-railyard-signature") == expected;
    let payload: Value = serde_json::from_slice(&body).unwrap_or_default();
    let mut seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
    let action = payload["action"].as_str().unwrap_or_default().to_owned();
    seen.requests.push((key.clone(), action, payload["step"]["index"].as_u64().unwrap_or(99), valid));
    if !valid {
        return (StatusCode::UNAUTHORIZED, String::new());
    }
    if seen.failures_left > 0 {
        seen.failures_left -= 1;
        return (StatusCode::INTERNAL_SERVER_ERROR, String::new());
    }
    if !seen.applied.contains(&key) {
        seen.applied.push(key);
    }
    let digest = if payload["step"]["index"] == 1 {
        format!("sha256:{}", "f".repeat(64))
    } else {
        payload["artifacts"][0]["digest"].as_str().unwrap_or_default().to_owned()
    };
    (StatusCode::ACCEPTED, json!({ "running": [{ "service": "ledger", "digest": digest }] }).to_string())
}

async fn webhook_releases_are_signed_retried_and_keyed(backend: Backend) {
    let seen = Arc::new(Mutex::new(Seen { failures_left: 2, notification_failures_left: 1, ..Seen::default() }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let receiver = Router::new().route("/deploy", post(receive)).route("/slack", post(slack)).with_state(seen.clone());
    tokio::spawn(async move { axum::serve(listener, receiver).await });

    let variable = format!("RAILYARD_TEST_WEBHOOK_SECRET_{}", if backend == Backend::Sqlite { "SQLITE" } else { "PG" });
    std::env::set_var(&variable, SECRET);
    let slack_variable = format!("{variable}_SLACK");
    std::env::set_var(&slack_variable, format!("http://{address}/slack"));
    let fleet_file = ledger_fleet(
        &format!("notify_webhook_env = \"{slack_variable}\"\nnotify_on = [\"opened\", \"completed\"]"),
        &format!(
            "monitoring = \"5m\"\ndeployer = \"webhook\"\nwebhook_url = \"http://{address}/deploy\"\nwebhook_secret_env = \"{variable}\""
        ),
        &[("canary 10%", "production", 10, "5m"), ("100%", "production", 100, "0s")],
    );
    let app = spawn_app(backend, false).await;
    fleet::apply(&app.db, &parse("fleet.toml", &fleet_file).expect("valid"), test_now()).await.expect("apply");
    register_build(&app, "ledger", "3.0.0", 'c', "1.0").await;
    let opened = test_now() + Duration::hours(1);
    tick(&app.db, crate::helpers::lead(&app.db).await, opened, &SchedulerConfig::default()).await.expect("tick");
    let integrations = FleetIntegrations::new(app.db.clone(), Arc::new(app.clock.clone()), SimulatedMetrics::default())
        .expect("integrations");
    let train_id = train_in_state(&app.db, "planning").await;
    drive_train(&app.db, &integrations, &train_id, Instant::from_utc(opened)).await;
    assert_eq!(runtime::load(&app.db, &train_id).await.expect("state").phase.to_string(), "completed");

    let (_, text) = app.get(&format!("/api/v1/trains/{train_id}")).await;
    let detail: Value = serde_json::from_str(&text).expect("json");
    let matches: Vec<bool> =
        detail["digests"].as_array().expect("digests").iter().map(|d| d["matches"].as_bool().expect("bool")).collect();
    assert_eq!(matches, vec![true, false], "the 100% step reported a drifted image");
    let (_, metrics) = app.get("/metrics").await;
    assert!(metrics.contains("railyard_artifact_reproducibility_ratio 0.5"), "M12: {metrics}");
    let seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
    assert!(seen.requests.iter().all(|(_, _, _, valid)| *valid), "every request is signed with the shared secret");
    let first_key = format!("{train_id}:deploy:0");
    let attempts: Vec<&(String, String, u64, bool)> =
        seen.requests.iter().filter(|(k, _, _, _)| k == &first_key).collect();
    assert_eq!(attempts.len(), 3, "two 500s, then accepted; every attempt carries the same key");
    assert!(attempts.iter().all(|(_, action, step, _)| action == "deploy" && *step == 0));
    assert_eq!(seen.applied, vec![first_key, format!("{train_id}:deploy:1")], "each release applied once, in order");
    assert_eq!(seen.notifications.len(), 2, "opened (after one retry) and completed only: {:?}", seen.notifications);
    assert!(seen.notifications[0].starts_with("[payments] payments-daily: train opened for planning"));
    assert_eq!(seen.notifications[1], "[payments] payments-daily: train completed");
}
on_both_backends!(webhook_releases_are_signed_retried_and_keyed);

/// A receiver that deploys in the background: it answers 202 pending and remembers the key.
async fn accept_later(State(keys): State<Arc<Mutex<Vec<String>>>>, headers: HeaderMap) -> (StatusCode, String) {
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    keys.lock().unwrap_or_else(PoisonError::into_inner).push(key);
    (StatusCode::ACCEPTED, json!({ "status": "pending" }).to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_deployment_completes_when_the_signed_status_callback_arrives() {
    let keys = Arc::new(Mutex::new(Vec::<String>::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let receiver = Router::new().route("/deploy", post(accept_later)).with_state(keys.clone());
    tokio::spawn(async move { axum::serve(listener, receiver).await });
    let variable = "RAILYARD_TEST_WEBHOOK_SECRET_ASYNC";
    std::env::set_var(variable, SECRET);
    let fleet_file = ledger_fleet(
        "",
        &format!(
            "monitoring = \"5m\"\ndeployer = \"webhook\"\nwebhook_url = \"http://{address}/deploy\"\nwebhook_secret_env = \"{variable}\""
        ),
        &[("everyone", "production", 100, "0s")],
    );
    let app = spawn_app(Backend::Sqlite, false).await;
    fleet::apply(&app.db, &parse("fleet.toml", &fleet_file).expect("valid"), test_now()).await.expect("apply");
    register_build(&app, "ledger", "4.0.0", '4', "1.0").await;
    let opened = test_now() + Duration::hours(1);
    tick(&app.db, crate::helpers::lead(&app.db).await, opened, &SchedulerConfig::default()).await.expect("tick");
    let train_id = train_in_state(&app.db, "planning").await;
    let integrations = FleetIntegrations::new(app.db.clone(), Arc::new(app.clock.clone()), SimulatedMetrics::default())
        .expect("integrations");

    let callback = |key: &str, body: &str, signature: Option<String>, at: i64| {
        let timestamp = at / 1000;
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(SECRET.as_bytes()).expect("key");
        mac.update(format!("{timestamp}.POST /api/v1/deployments/{key}/status.{body}").as_bytes());
        let signature = signature.unwrap_or_else(|| format!("sha256={}", hex::encode(mac.finalize().into_bytes())));
        app.client
            .post(format!("{}/api/v1/deployments/{key}/status", app.address))
            .header("x-railyard-timestamp", timestamp.to_string())
            .header("x-railyard-signature", signature)
            .body(body.to_owned())
            .send()
    };
    let succeeded = json!({ "status": "succeeded", "running": [{ "service": "ledger", "digest": format!("sha256:{}", "4".repeat(64)) }] })
        .to_string();

    let mut now = Instant::from_utc(opened);
    let mut answered = 0;
    for _ in 0..24 * 60 {
        app.clock.set(now.to_utc());
        while runtime::work(&app.db, crate::helpers::lead(&app.db).await, &integrations, now, 100).await.expect("work")
            > 0
        {}
        let pending: Vec<String> = keys.lock().unwrap_or_else(PoisonError::into_inner).clone();
        for key in pending.iter().skip(answered) {
            let forged = callback(key, &succeeded, Some("sha256=00".into()), now.ms()).await.expect("request");
            assert_eq!(forged.status().as_u16(), 401, "a forged callback is refused");
            // A genuine report for this deployment, replayed against another one of the same train.
            let other = format!("{train_id}:deploy:1");
            let timestamp = now.ms() / 1000;
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(SECRET.as_bytes()).expect("key");
            mac.update(format!("{timestamp}.POST /api/v1/deployments/{key}/status.{succeeded}").as_bytes());
            let replayed = app
                .client
                .post(format!("{}/api/v1/deployments/{other}/status", app.address))
                .header("x-railyard-timestamp", timestamp.to_string())
                .header("x-railyard-signature", format!("sha256={}", hex::encode(mac.finalize().into_bytes())))
                .body(succeeded.clone())
                .send()
                .await
                .expect("request");
            assert_eq!(replayed.status().as_u16(), 401, "a report signed for {key} does not fit {other}");
            let (refusals,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM audit_log WHERE action = 'deployment.report_refused' AND object = $1",
            )
            .bind(format!("deployment:{other}"))
            .fetch_one(&mut *app.db.acquire().await.expect("connection"))
            .await
            .expect("audit");
            assert_eq!(refusals, 1, "the replay is on record");
            assert_eq!(runtime::load(&app.db, &train_id).await.expect("state").phase.to_string(), "cutover");
            let response = callback(key, &succeeded, None, now.ms()).await.expect("request");
            assert_eq!(response.status().as_u16(), 200, "{}", response.text().await.unwrap_or_default());
            let again = callback(key, &succeeded, None, now.ms()).await.expect("request");
            assert_eq!(again.status().as_u16(), 200, "repeating a callback is harmless");
            answered += 1;
        }
        if runtime::load(&app.db, &train_id).await.expect("state").phase.is_final() {
            break;
        }
        now += 60_000;
    }
    assert_eq!(answered, 1);
    assert_eq!(runtime::load(&app.db, &train_id).await.expect("state").phase.to_string(), "completed");
    let (_, text) = app.get(&format!("/api/v1/trains/{train_id}")).await;
    let detail: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(detail["digests"][0]["matches"], true, "the callback's running digest is recorded");
    let unknown = callback("nope:deploy:0", &succeeded, None, now.ms()).await.expect("request");
    assert_eq!(unknown.status().as_u16(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_rollback_finishes_by_callback_and_a_failed_one_holds_until_rolled_back_again() {
    let keys = Arc::new(Mutex::new(Vec::<String>::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let receiver = Router::new().route("/deploy", post(accept_later)).with_state(keys.clone());
    tokio::spawn(async move { axum::serve(listener, receiver).await });
    let variable = "RAILYARD_TEST_WEBHOOK_SECRET_ASYNC_ROLLBACK";
    std::env::set_var(variable, SECRET);
    let fleet_file = ledger_fleet(
        "",
        &format!(
            "monitoring = \"5m\"\ndeployer = \"webhook\"\nwebhook_url = \"http://{address}/deploy\"\nwebhook_secret_env = \"{variable}\""
        ),
        &[("canary 10%", "production", 10, "5m"), ("100%", "production", 100, "0s")],
    );
    let app = spawn_app(Backend::Sqlite, false).await;
    fleet::apply(&app.db, &parse("fleet.toml", &fleet_file).expect("valid"), test_now()).await.expect("apply");
    register_build(&app, "ledger", "4.1.0", '5', "1.0").await;
    let opened = test_now() + Duration::hours(1);
    tick(&app.db, crate::helpers::lead(&app.db).await, opened, &SchedulerConfig::default()).await.expect("tick");
    let train_id = train_in_state(&app.db, "planning").await;
    // The canary regresses, so the judge rolls it back.
    let regressing = SimulatedMetrics { regression: Some(("ledger".into(), 1, 1)), ..SimulatedMetrics::default() };
    let integrations =
        FleetIntegrations::new(app.db.clone(), Arc::new(app.clock.clone()), regressing).expect("integrations");
    let callback = |key: String, status: &str, at: i64| {
        let body = json!({ "status": status, "detail": if status == "failed" { "the old image is gone" } else { "" } })
            .to_string();
        let timestamp = at / 1000;
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(SECRET.as_bytes()).expect("key");
        mac.update(format!("{timestamp}.POST /api/v1/deployments/{key}/status.{body}").as_bytes());
        let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        app.client
            .post(format!("{}/api/v1/deployments/{key}/status", app.address))
            .header("x-railyard-timestamp", timestamp.to_string())
            .header("x-railyard-signature", signature)
            .body(body)
            .send()
    };
    let mut now = Instant::from_utc(opened);
    let mut answered = 0;
    let mut rolled_back_again = false;
    for _ in 0..24 * 60 {
        app.clock.set(now.to_utc());
        while runtime::work(&app.db, crate::helpers::lead(&app.db).await, &integrations, now, 100).await.expect("work")
            > 0
        {}
        let pending: Vec<String> = keys.lock().unwrap_or_else(PoisonError::into_inner).clone();
        for key in pending.iter().skip(answered) {
            let outcome = if key == &format!("{train_id}:rollback:0") { "failed" } else { "succeeded" };
            let response = callback(key.clone(), outcome, now.ms()).await.expect("request");
            assert_eq!(response.status().as_u16(), 200, "{key}: {}", response.text().await.unwrap_or_default());
            answered += 1;
        }
        let run = runtime::load(&app.db, &train_id).await.expect("state");
        if run.phase.is_final() {
            break;
        }
        if run.phase.to_string() == "held" && !rolled_back_again {
            let operator =
                |action: Action, reason: &str| Event::Operator { actor: "rita".into(), action, reason: reason.into() };
            let refused = runtime::apply(&app.db, &train_id, &operator(Action::Resume, ""), "rita", now).await;
            let refusal = refused.expect_err("resuming a train whose rollback failed makes no sense").to_string();
            assert!(refusal.contains("roll back again, or restore by hand and abort"), "{refusal}");
            let again = operator(Action::RollBack, "restored the old image to the registry");
            runtime::apply(&app.db, &train_id, &again, "rita", now).await.expect("rolled back again");
            rolled_back_again = true;
        }
        now += 60_000;
    }
    let seen: Vec<String> = keys.lock().unwrap_or_else(PoisonError::into_inner).clone();
    assert_eq!(
        seen,
        vec![format!("{train_id}:deploy:0"), format!("{train_id}:rollback:0"), format!("{train_id}:rollback:0:2")],
        "the second rollback carries a new key"
    );
    assert_eq!(runtime::load(&app.db, &train_id).await.expect("state").phase.to_string(), "rolled_back");
    let (_, text) = app.get(&format!("/api/v1/trains/{train_id}")).await;
    let detail: Value = serde_json::from_str(&text).expect("json");
    let reasons: Vec<&str> =
        detail["timeline"].as_array().expect("timeline").iter().filter_map(|e| e["reason"].as_str()).collect();
    assert!(
        reasons.iter().any(|r| r.starts_with("rolling back canary 10% failed (the old image is gone)")),
        "{reasons:?}"
    );
    assert!(reasons.iter().any(|r| r.starts_with("rollback by rita: restored the old image")), "{reasons:?}");
}

async fn webhook_urls_with_tokens_never_reach_the_outbox_or_the_timeline(backend: Backend) {
    // Nothing listens on this port: every call fails with a connection error, which quotes its URL.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("address").port();
    let variable = format!("RAILYARD_TEST_REDACT_{}", if backend == Backend::Sqlite { "SQLITE" } else { "PG" });
    std::env::set_var(&variable, SECRET);
    let slack_variable = format!("{variable}_SLACK");
    std::env::set_var(&slack_variable, format!("http://127.0.0.1:{closed}/services/T0/B0/SLACKTOKEN123"));
    let fleet_file = ledger_fleet(
        &format!("notify_webhook_env = \"{slack_variable}\"\nnotify_on = [\"opened\"]"),
        &format!(
            "deployer = \"webhook\"\nwebhook_url = \"http://127.0.0.1:{closed}/hooks/PATHTOKEN456?token=QUERYTOKEN789\"\nwebhook_secret_env = \"{variable}\""
        ),
        &[("100%", "production", 100, "0s")],
    );
    let app = spawn_app(backend, false).await;
    fleet::apply(&app.db, &parse("fleet.toml", &fleet_file).expect("valid"), test_now()).await.expect("apply");
    register_build(&app, "ledger", "3.0.0", 'c', "1.0").await;
    let opened = test_now() + Duration::hours(1);
    tick(&app.db, crate::helpers::lead(&app.db).await, opened, &SchedulerConfig::default()).await.expect("tick");
    let integrations = FleetIntegrations::new(app.db.clone(), Arc::new(app.clock.clone()), SimulatedMetrics::default())
        .expect("integrations");
    let train_id = train_in_state(&app.db, "planning").await;
    let fence = crate::helpers::lead(&app.db).await;
    let mut now = Instant::from_utc(opened);
    for _ in 0..180 {
        while runtime::work(&app.db, fence, &integrations, now, 100).await.expect("work") > 0 {}
        now += 60_000;
    }
    let mut conn = app.db.acquire().await.expect("connection");
    let errors: Vec<String> = sqlx::query_scalar("SELECT last_error FROM outbox WHERE last_error <> ''")
        .fetch_all(&mut *conn)
        .await
        .expect("outbox");
    assert!(errors.iter().any(|e| e.contains("the deploy webhook at http://127.0.0.1")), "{errors:?}");
    assert!(errors.iter().any(|e| e.contains("the notification webhook at http://127.0.0.1")), "{errors:?}");
    let timeline = server::store::trains::events(&mut conn, &train_id).await.expect("timeline");
    let reasons: Vec<&str> = timeline.iter().map(|e| e.reason.as_str()).collect();
    assert!(reasons.iter().any(|r| r.contains("deploy webhook")), "the failure is on the timeline: {reasons:?}");
    for text in errors.iter().map(String::as_str).chain(reasons.iter().copied()) {
        for token in ["SLACKTOKEN123", "PATHTOKEN456", "QUERYTOKEN789"] {
            assert!(!text.contains(token), "{token} leaked into: {text}");
        }
    }
}
on_both_backends!(webhook_urls_with_tokens_never_reach_the_outbox_or_the_timeline);
