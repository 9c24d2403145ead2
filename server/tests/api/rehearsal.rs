//! Rehearsal trains: a definition's candidates through its gates, staging
//! and the canary judge, never production; marked as rehearsals everywhere
//! and kept out of what shipped.

use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use chrono::Duration;
use reqwest::Method;
use serde_json::{json, Value};
use server::fleet::{self, parse};
use server::integrations::{FleetIntegrations, SimulatedMetrics};
use server::runtime;
use server::scheduler::{tick, SchedulerConfig};
use server::store;
use server::time::Instant;

use crate::helpers::{drive_train, ledger_fleet, register_build, spawn_app, test_now, Backend};
use crate::on_both_backends;

/// What each receiver was sent: (receiver, action, environment of the step).
type Seen = Arc<Mutex<Vec<(String, String, String)>>>;

/// Deploys whatever it is sent and reports it running.
async fn deploy(
    State(seen): State<Seen>,
    Path(target): Path<String>,
    Json(payload): Json<Value>,
) -> (StatusCode, String) {
    let environment = payload["step"]["environment"].as_str().unwrap_or_default().to_owned();
    let action = payload["action"].as_str().unwrap_or_default().to_owned();
    seen.lock().unwrap_or_else(PoisonError::into_inner).push((target, action, environment));
    let running: Vec<Value> = payload["artifacts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| json!({ "service": a["service"], "digest": a["digest"] }))
        .collect();
    (StatusCode::ACCEPTED, json!({ "running": running }).to_string())
}

async fn a_rehearsal_runs_staging_and_never_calls_production(backend: Backend) {
    let seen: Seen = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let receiver = Router::new().route("/{target}", post(deploy)).with_state(seen.clone());
    tokio::spawn(async move { axum::serve(listener, receiver).await });
    let variable =
        format!("RAILYARD_TEST_REHEARSAL_SECRET_{}", if backend == Backend::Sqlite { "SQLITE" } else { "PG" });
    std::env::set_var(&variable, "rehearsal-secret");
    let fleet_file = ledger_fleet(
        "",
        &format!(
            "monitoring = \"5m\"\ndeployer = \"webhook\"\nwebhook_url = \"http://{address}/production\"\n\
             staging_webhook_url = \"http://{address}/staging\"\nwebhook_secret_env = \"{variable}\""
        ),
        &[("staging", "staging", 100, "5m"), ("canary 10%", "production", 10, "5m"), ("100%", "production", 100, "0s")],
    );
    let app = spawn_app(backend, false).await;
    fleet::apply(&app.db, &parse("fleet.toml", &fleet_file).expect("valid"), test_now()).await.expect("apply");
    let artifact = register_build(&app, "ledger", "3.1.0", 'd', "1.0").await;
    let pat = app.user_with_roles("pat", &[("release_manager", Some("payments"))]).await;
    let viewer = app.user_with_roles("vic", &[("viewer", None)]).await;
    let body = json!({ "definition": "payments-daily", "reason": "game day before the ledger migration" });
    let path = "/api/v1/trains/rehearsal";
    assert_eq!(app.send_as(Some(&viewer), Method::POST, path, Some(&body)).await.0, 403, "viewers cannot start one");
    let (status, text) = app
        .send_as(Some(&pat), Method::POST, path, Some(&json!({ "definition": "payments-daily", "reason": "x" })))
        .await;
    assert_eq!(status, 400, "a reason is needed: {text}");
    let (status, text) = app.send_as(Some(&pat), Method::POST, path, Some(&body)).await;
    assert_eq!(status, 201, "{text}");
    let train: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(train["kind"], "rehearsal");
    let train_id = train["id"].as_str().expect("id").to_owned();

    let integrations = FleetIntegrations::new(app.db.clone(), Arc::new(app.clock.clone()), SimulatedMetrics::default())
        .expect("integrations");
    drive_train(&app.db, &integrations, &train_id, Instant::from_utc(test_now())).await;
    let run = runtime::load(&app.db, &train_id).await.expect("state");
    assert_eq!(run.phase.to_string(), "completed", "the rehearsal ran its whole (staging) rollout");
    assert_eq!(run.steps.len(), 1, "one step: staging");
    assert!(run.steps[0].verdict.is_some(), "the canary judge analysed staging");
    assert!(run.candidates.iter().all(|c| c.gates.iter().all(|g| g.state.clears())), "the same gates ran and cleared");
    {
        let seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
        assert_eq!(
            *seen,
            vec![("staging".to_owned(), "deploy".to_owned(), "staging".to_owned())],
            "the staging receiver deployed once and the production receiver saw nothing"
        );
    }
    let mut conn = app.db.acquire().await.expect("connection");
    let cargo = store::artifacts::train_candidates(&mut conn, &train_id).await.expect("cargo");
    assert_eq!(
        cargo.iter().map(|(a, s, _)| (a.as_str(), s.as_str())).collect::<Vec<_>>(),
        vec![(artifact.as_str(), "rehearsed")],
        "rehearsed, not shipped"
    );
    assert!(store::artifacts::last_shipped(&mut conn, "ledger").await.expect("query").is_none(), "nothing shipped");
    drop(conn);
    let (_, page) = app.get("/").await;
    assert!(page.contains("REHEARSAL"), "the calendar marks it");
    assert!(page.contains("data-kind=\"rehearsal\""), "the dashboard counts it apart (M1 and M3 by kind)");
    let (_, page) = app.get(&format!("/trains/{train_id}")).await;
    assert!(page.contains("REHEARSAL"), "the train page marks it");
    let (_, feed) = app.get("/calendar.ics").await;
    assert!(feed.contains("REHEARSAL payments-daily cutover"), "the calendar feed marks it");

    // The same candidate then boards the regular train, which does reach production.
    let opened = test_now() + Duration::hours(1);
    tick(&app.db, crate::helpers::lead(&app.db).await, opened, &SchedulerConfig::default()).await.expect("tick");
    let regular = crate::helpers::train_in_state(&app.db, "planning").await;
    drive_train(&app.db, &integrations, &regular, Instant::from_utc(opened)).await;
    assert_eq!(runtime::load(&app.db, &regular).await.expect("state").phase.to_string(), "completed");
    let seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
    let production: Vec<&(String, String, String)> =
        seen.iter().filter(|(target, ..)| target == "production").collect();
    assert_eq!(production.len(), 2, "the regular train's two production steps: {seen:?}");
    assert!(production.iter().all(|(_, _, environment)| environment == "production"));
}
on_both_backends!(a_rehearsal_runs_staging_and_never_calls_production);
