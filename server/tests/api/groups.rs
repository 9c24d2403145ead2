//! Atomic groups: services that board, miss the train and roll back together.

use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use server::fleet::{self, parse};
use server::integrations::SimulatedMetrics;
use server::runtime;
use server::store;

use crate::helpers::{register_build, run_day, spawn_app, test_now, Backend};
use crate::on_both_backends;

/// What the deployer was sent: (action, services in payload order).
type Seen = Arc<Mutex<Vec<(String, Vec<String>)>>>;

async fn deploy(State(seen): State<Seen>, Json(payload): Json<Value>) -> (StatusCode, String) {
    let services: Vec<String> = payload["artifacts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["service"].as_str().map(str::to_owned))
        .collect();
    let action = payload["action"].as_str().unwrap_or_default().to_owned();
    seen.lock().unwrap_or_else(PoisonError::into_inner).push((action, services));
    (StatusCode::ACCEPTED, json!({ "running": [] }).to_string())
}

/// Checkout calls wallet, wallet calls ledger; ledger and wallet form the group "ledger-core".
pub(crate) fn fleet_file(deployer: &str) -> String {
    format!(
        r#"
[[domain]]
name = "payments"

[[service]]
name = "ledger"
domain = "payments"

[[service]]
name = "wallet"
domain = "payments"
calls = ["ledger"]

[[service]]
name = "checkout"
domain = "payments"
calls = ["wallet"]

[[train]]
name = "payments-daily"
domain = "payments"
services = ["checkout", "wallet", "ledger"]
cadence = "FREQ=DAILY;BYHOUR=14"
time_zone = "UTC"
starts = "2026-01-01"
planning_window = "1h"
cutover_window = "2h"
preflight = "30m"
monitoring = "5m"
{deployer}

[[train.group]]
name = "ledger-core"
services = ["ledger", "wallet"]

[[train.step]]
name = "canary 10%"
environment = "production"
weight = 10
soak = "5m"

[[train.step]]
name = "100%"
environment = "production"
weight = 100
soak = "0s"
"#
    )
}

/// Starts the deploy receiver; returns its URL and what it saw.
async fn receiver() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let router = Router::new().route("/deploy", post(deploy)).with_state(seen.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (format!("http://{address}/deploy"), seen)
}

async fn a_members_canary_regression_rolls_the_group_back_consumers_first(backend: Backend) {
    let (url, seen) = receiver().await;
    let variable = format!("RAILYARD_TEST_GROUP_SECRET_{}", if backend == Backend::Sqlite { "SQLITE" } else { "PG" });
    std::env::set_var(&variable, "group-secret");
    let app = spawn_app(backend, false).await;
    let deployer = format!("deployer = \"webhook\"\nwebhook_url = \"{url}\"\nwebhook_secret_env = \"{variable}\"");
    fleet::apply(&app.db, &parse("fleet.toml", &fleet_file(&deployer)).expect("valid"), test_now())
        .await
        .expect("apply");
    for (service, digit) in [("ledger", 'a'), ("wallet", 'b'), ("checkout", 'c')] {
        register_build(&app, service, "2.0.0", digit, "1.0").await;
    }
    let regressing = SimulatedMetrics { regression: Some(("wallet".into(), 1, 1)), ..Default::default() };
    let train_id = run_day(&app, 0, regressing).await;
    let run = runtime::load(&app.db, &train_id).await.expect("state");
    assert_eq!(run.phase.to_string(), "rolled_back", "wallet's canary regressed");
    assert!(run.candidates.iter().all(|c| c.boarded()), "every member was on the train when it rolled back");
    let seen = seen.lock().unwrap_or_else(PoisonError::into_inner).clone();
    let order = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        seen,
        vec![
            ("deploy".to_owned(), order(&["ledger", "wallet", "checkout"])),
            ("rollback".to_owned(), order(&["checkout", "wallet", "ledger"])),
        ],
        "providers deploy first; the rollback takes back every member of the group, consumers first"
    );
}
on_both_backends!(a_members_canary_regression_rolls_the_group_back_consumers_first);

#[tokio::test]
async fn a_member_failing_a_gate_carries_the_whole_group_and_the_rest_ships() {
    let app = spawn_app(Backend::Sqlite, false).await;
    fleet::apply(&app.db, &parse("fleet.toml", &fleet_file("")).expect("valid"), test_now()).await.expect("apply");
    let ledger = register_build(&app, "ledger", "2.0.0", 'a', "1.0").await;
    // wallet's security scan finds a CVSS 9.8: its gate fails.
    let wallet = register_build(&app, "wallet", "2.0.0", 'b', "9.8").await;
    let checkout = register_build(&app, "checkout", "2.0.0", 'c', "1.0").await;
    let train_id = run_day(&app, 0, SimulatedMetrics::default()).await;
    assert_eq!(runtime::load(&app.db, &train_id).await.expect("state").phase.to_string(), "completed");
    let mut conn = app.db.acquire().await.expect("connection");
    let cargo = store::artifacts::train_candidates(&mut conn, &train_id).await.expect("cargo");
    let status =
        |id: &str| cargo.iter().find(|(a, _, _)| a == id).map(|(_, s, r)| (s.clone(), r.clone())).expect("row");
    let (ledger_status, ledger_reason) = status(&ledger);
    let (wallet_status, wallet_reason) = status(&wallet);
    assert_eq!((ledger_status.as_str(), wallet_status.as_str()), ("missed", "missed"));
    assert_eq!(ledger_reason, wallet_reason, "one reason for the group");
    assert!(
        wallet_reason.starts_with("missed the train with group ledger-core: wallet gate security_scan failed"),
        "{wallet_reason}"
    );
    assert_eq!(status(&checkout).0, "shipped", "the service outside the group ships");
    let ledger_row = store::artifacts::by_id(&mut conn, &ledger).await.expect("query").expect("ledger");
    let wallet_row = store::artifacts::by_id(&mut conn, &wallet).await.expect("query").expect("wallet");
    assert!(ledger_row.rejected_at.is_none(), "ledger did nothing wrong: carried to the next train");
    assert!(wallet_row.rejected_at.is_some(), "wallet's failed scan rejects it for good");
    let events = store::trains::events(&mut conn, &train_id).await.expect("timeline");
    let notes: Vec<&str> =
        events.iter().map(|e| e.reason.as_str()).filter(|r| r.contains("group ledger-core")).collect();
    assert_eq!(notes.len(), 1, "one timeline entry for the group: {notes:?}");
    drop(conn);
    let (_, page) = app.get(&format!("/trains/{train_id}")).await;
    assert!(page.contains("group ledger-core"), "the train page tags the group's members");
    assert!(notes[0].starts_with("ledger, wallet missed the train with group ledger-core"), "{}", notes[0]);
}

#[tokio::test]
async fn groups_must_be_made_of_the_trains_own_services() {
    for (group, expected) in [
        (
            "[\"ledger\", \"search\"]",
            "group \"ledger-core\" names \"search\", which is not one of the train's services",
        ),
        ("[\"ledger\"]", "group \"ledger-core\" needs at least two services"),
    ] {
        let text = fleet_file("").replace("services = [\"ledger\", \"wallet\"]", &format!("services = {group}"));
        let problems = parse("fleet.toml", &text).expect_err("refused");
        let messages: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert!(messages.iter().any(|m| m.contains(expected)), "{messages:?}");
    }
}
