//! The service dependency graph orders a train's rollout: providers deploy
//! before their consumers, and a rollback undoes consumers first.

use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use chrono::Duration;
use serde_json::{json, Value};
use server::fleet::{self, parse};
use server::integrations::{FleetIntegrations, SimulatedMetrics};
use server::scheduler::{tick, SchedulerConfig};
use server::time::Instant;

use crate::helpers::{drive_train, lead, register_build, spawn_app, test_now, train_in_state, Backend};
use crate::on_both_backends;

/// What each release asked for: (action, step, services in payload order).
type Releases = Arc<Mutex<Vec<(String, u64, Vec<String>)>>>;

async fn receive(State(seen): State<Releases>, Json(payload): Json<Value>) -> Json<Value> {
    let services: Vec<String> = payload["artifacts"]
        .as_array()
        .map(|all| all.iter().filter_map(|a| a["service"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    let action = payload["action"].as_str().unwrap_or_default().to_owned();
    let step = payload["step"]["index"].as_u64().unwrap_or(99);
    seen.lock().unwrap_or_else(PoisonError::into_inner).push((action, step, services));
    Json(json!({ "running": [] }))
}

/// Alphabetically checkout < ledger < wallet; by dependency ledger, then wallet, then checkout.
fn fleet_file(deployer: &str, secret_env: &str) -> String {
    let mut file = String::from("[[domain]]\nname = \"payments\"\n");
    for (service, calls) in [("checkout", "[\"wallet\"]"), ("wallet", "[\"ledger\"]"), ("ledger", "[]")] {
        file.push_str(&format!(
            "\n[[service]]\nname = \"{service}\"\ndomain = \"payments\"\ncalls = {calls}\nslo = {{ target = 0.999, window = \"28d\" }}\n"
        ));
    }
    file.push_str(&format!(
        "\n[[train]]\nname = \"payments-daily\"\ndomain = \"payments\"\nservices = [\"checkout\", \"ledger\", \"wallet\"]\n\
         cadence = \"FREQ=DAILY;BYHOUR=14\"\ntime_zone = \"UTC\"\nstarts = \"2026-01-01\"\nplanning_window = \"1h\"\n\
         cutover_window = \"2h\"\npreflight = \"30m\"\nmonitoring = \"10m\"\ndeployer = \"webhook\"\n\
         webhook_url = \"{deployer}/deploy\"\nwebhook_secret_env = \"{secret_env}\"\n\
         \n[[train.step]]\nname = \"canary 10%\"\nenvironment = \"production\"\nweight = 10\nsoak = \"10m\"\n\
         \n[[train.step]]\nname = \"100%\"\nenvironment = \"production\"\nweight = 100\nsoak = \"0s\"\n"
    ));
    file
}

async fn providers_deploy_first_and_a_rollback_undoes_consumers_first(backend: Backend) {
    let seen = Releases::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let routes = Router::new().route("/deploy", post(receive)).with_state(seen.clone());
    tokio::spawn(async move { axum::serve(listener, routes).await });
    let secret_env = format!("RAILYARD_TEST_DEPENDENCY_SECRET_{backend:?}").to_uppercase();
    std::env::set_var(&secret_env, "dependency-secret");

    let app = spawn_app(backend, false).await;
    let file = fleet_file(&format!("http://{address}"), &secret_env);
    fleet::apply(&app.db, &parse("fleet.toml", &file).expect("valid"), test_now()).await.expect("apply");
    let mut artifacts = Vec::new();
    for (service, digit) in [("checkout", 'a'), ("ledger", 'b'), ("wallet", 'c')] {
        artifacts.push(register_build(&app, service, "2.0.0", digit, "3.1").await);
    }
    let (_, ledger) = app.get(&format!("/api/v1/artifacts/{}", artifacts[1])).await;
    let ledger: Value = serde_json::from_str(&ledger).expect("json");
    assert_eq!(
        ledger["reaches"],
        json!(["checkout", "wallet"]),
        "a ledger change reaches its callers, directly or not"
    );
    let opened_at = test_now() + Duration::hours(1);
    tick(&app.db, lead(&app.db).await, opened_at, &SchedulerConfig::default()).await.expect("tick");
    // Wallet burns its error budget at the canary: the train rolls back.
    let metrics = SimulatedMetrics { burning: Some(("wallet".into(), 1, 1)), ..SimulatedMetrics::default() };
    let integrations =
        FleetIntegrations::new(app.db.clone(), Arc::new(app.clock.clone()), metrics).expect("integrations");
    let train_id = train_in_state(&app.db, "planning").await;
    drive_train(&app.db, &integrations, &train_id, Instant::from_utc(opened_at)).await;

    let seen = seen.lock().unwrap_or_else(PoisonError::into_inner).clone();
    let deploy = seen.iter().find(|(action, _, _)| action == "deploy").expect("a deployment");
    assert_eq!(deploy.2, ["ledger", "wallet", "checkout"], "providers before consumers: {seen:?}");
    let rollback = seen.iter().find(|(action, _, _)| action == "rollback").expect("a rollback");
    assert_eq!(rollback.2, ["checkout", "wallet", "ledger"], "consumers undone first: {seen:?}");

    let (_, detail) = app.get(&format!("/api/v1/trains/{train_id}")).await;
    let detail: Value = serde_json::from_str(&detail).expect("json");
    let wallet = detail["cargo"].as_array().and_then(|c| c.iter().find(|c| c["service"] == "wallet")).expect("wallet");
    assert_eq!((&wallet["calls"], &wallet["reaches"]), (&json!(["ledger"]), &json!(["checkout"])));
    let (_, html) = app.get(&format!("/trains/{train_id}")).await;
    assert!(html.contains("id=\"deps-title\""), "the train page draws the dependencies");
    assert!(html.contains("<strong>wallet</strong>: calls ledger; a change reaches checkout"), "and lists them");
}
on_both_backends!(providers_deploy_first_and_a_rollback_undoes_consumers_first);
