//! The API-contract gate (seed F3): a train is blocked, with both sides
//! named, when a consumer requires a contract version nobody provides.

use serde_json::{json, Value};
use server::fleet::{self, parse};
use server::integrations::SimulatedMetrics;
use server::runtime;

use crate::helpers::{run_day, spawn_app, test_now, Backend, TestApp};
use crate::on_both_backends;

const FLEET: &str = r#"
[[domain]]
name = "payments"

[[service]]
name = "ledger"
domain = "payments"

[[service]]
name = "checkout"
domain = "payments"
calls = ["ledger"]

[[train]]
name = "payments-daily"
domain = "payments"
services = ["checkout", "ledger"]
cadence = "FREQ=DAILY;BYHOUR=14"
time_zone = "UTC"
starts = "2026-01-01"
planning_window = "1h"
cutover_window = "2h"
preflight = "30m"
monitoring = "5m"
gates = ["tests", "contract", "api_contract"]
"#;

/// Registers a build declaring `contracts`, with passing unit and consumer-driven contract tests.
async fn build(app: &TestApp, service: &str, version: &str, digit: char, contracts: Value) -> String {
    let body = json!({
        "service": service, "version": version, "digest": format!("sha256:{}", digit.to_string().repeat(64)),
        "commit": "abc1234", "author": "bob", "contracts": contracts,
    });
    let (status, created) = app.post_json("/api/v1/artifacts", &body).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["contracts"], contracts, "the declaration is kept");
    let id = created["id"].as_str().expect("id").to_owned();
    for (kind, name) in [("tests", "unit"), ("contract", "pact: checkout ↔ ledger")] {
        let check = json!({ "kind": kind, "name": name, "status": "passed" });
        assert_eq!(app.post_json(&format!("/api/v1/artifacts/{id}/checks"), &check).await.0, 201);
    }
    id
}

async fn a_contract_nobody_provides_blocks_the_train_naming_both_sides(backend: Backend) {
    let app = spawn_app(backend, false).await;
    fleet::apply(&app.db, &parse("fleet.toml", FLEET).expect("valid"), test_now()).await.expect("apply");
    let bad = json!({ "service": "ledger", "version": "9.9.9", "digest": format!("sha256:{}", "e".repeat(64)),
                      "commit": "abc1234", "author": "bob", "contracts": { "provides": ["ledger-api"] } });
    let (status, body) = app.post_json("/api/v1/artifacts", &bad).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap_or_default().contains("name@version"), "{body}");

    // Day one: ledger serves v1 and v2, checkout needs v2; both ship.
    build(&app, "ledger", "1.0.0", 'a', json!({ "provides": ["ledger-api@1", "ledger-api@2"], "requires": [] })).await;
    build(&app, "checkout", "1.0.0", 'b', json!({ "provides": [], "requires": ["ledger-api@2"] })).await;
    let first = run_day(&app, 0, SimulatedMetrics::default()).await;
    assert_eq!(runtime::load(&app.db, &first).await.expect("state").phase.to_string(), "completed");

    // Day two: checkout needs v3, which the new ledger does not serve.
    build(&app, "ledger", "2.0.0", 'c', json!({ "provides": ["ledger-api@2"], "requires": [] })).await;
    let checkout = build(&app, "checkout", "2.0.0", 'd', json!({ "provides": [], "requires": ["ledger-api@3"] })).await;
    let second = run_day(&app, 1, SimulatedMetrics::default()).await;
    let run = runtime::load(&app.db, &second).await.expect("state");
    assert_eq!(run.phase.to_string(), "held", "the train is blocked, not shipped");
    assert!(run.steps.is_empty(), "nothing was deployed");
    let candidate = run.candidates.iter().find(|c| c.artifact_id == checkout).expect("checkout on the train");
    let gate = candidate.gates.iter().find(|g| g.name == "api_contract").expect("the gate");
    assert_eq!(gate.state.name(), "blocked");
    assert_eq!(
        gate.state.detail(),
        "checkout 2.0.0 (in this train) requires ledger-api@3, but ledger 2.0.0 (in this train) provides ledger-api@2"
    );
    let (_, detail) = app.get(&format!("/api/v1/trains/{second}")).await;
    assert!(detail.contains("the train is blocked by gate api_contract of checkout"), "{detail}");
}
on_both_backends!(a_contract_nobody_provides_blocks_the_train_naming_both_sides);

#[tokio::test]
async fn dropping_a_version_production_still_needs_blocks_the_provider_until_it_is_taken_off() {
    let app = spawn_app(Backend::Sqlite, false).await;
    fleet::apply(&app.db, &parse("fleet.toml", FLEET).expect("valid"), test_now()).await.expect("apply");
    let rita = app.user_with_roles("rita", &[("release_manager", Some("payments"))]).await;
    build(&app, "ledger", "1.0.0", 'a', json!({ "provides": ["ledger-api@2"], "requires": [] })).await;
    build(&app, "checkout", "1.0.0", 'b', json!({ "provides": [], "requires": ["ledger-api@2"] })).await;
    run_day(&app, 0, SimulatedMetrics::default()).await;
    // Only ledger changes: v3 replaces v2, while production's checkout still needs v2.
    let ledger = build(&app, "ledger", "3.0.0", 'c', json!({ "provides": ["ledger-api@3"], "requires": [] })).await;
    let second = run_day(&app, 1, SimulatedMetrics::default()).await;
    let run = runtime::load(&app.db, &second).await.expect("state");
    assert_eq!(run.phase.to_string(), "held");
    let gate = run
        .candidates
        .iter()
        .find(|c| c.artifact_id == ledger)
        .expect("ledger")
        .gates
        .iter()
        .find(|g| g.name == "api_contract")
        .expect("gate")
        .clone();
    assert_eq!(
        gate.state.detail(),
        "checkout 1.0.0 (in production) requires ledger-api@2, but ledger 3.0.0 (in this train) provides ledger-api@3"
    );

    // In the console the release manager may waive the gate or take ledger off the train.
    let (_, console) = app.send_as(Some(&rita), reqwest::Method::GET, "/console", None).await;
    assert!(console.contains("Take off the train…") && console.contains("Confirm: take ledger off the train"));
    let response = app
        .anonymous
        .post(format!("{}/rpc/remove_candidate", app.address))
        .header(reqwest::header::COOKIE, &rita)
        .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("train_id={second}&artifact_id={ledger}&reason=ledger+v3+waits+for+checkout"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 200, "{}", response.text().await.unwrap_or_default());
    let run = runtime::load(&app.db, &second).await.expect("state");
    assert_eq!(run.phase.to_string(), "skipped", "ledger was all it carried");
    let missed = run.candidates.iter().find(|c| c.artifact_id == ledger).and_then(|c| c.missed.clone());
    assert_eq!(missed.as_deref(), Some("taken off the train by user:rita: ledger v3 waits for checkout"));
    let mut conn = app.db.acquire().await.expect("connection");
    let row = server::store::artifacts::by_id(&mut conn, &ledger).await.expect("query").expect("row");
    assert!(row.rejected_at.is_none(), "carried to a later train, not rejected");
}

#[tokio::test]
async fn a_range_requirement_accepts_any_version_inside_it_and_blocks_a_provider_leaving_it() {
    let app = spawn_app(Backend::Sqlite, false).await;
    fleet::apply(&app.db, &parse("fleet.toml", FLEET).expect("valid"), test_now()).await.expect("apply");
    let bad = json!({ "service": "checkout", "version": "9.9.9", "digest": format!("sha256:{}", "e".repeat(64)),
                      "commit": "abc1234", "author": "bob", "contracts": { "requires": ["ledger-api@>=two"] } });
    let (status, body) = app.post_json("/api/v1/artifacts", &bad).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap_or_default().contains("name@range"), "{body}");

    // Day one: checkout accepts any 2.x from 2.1 on; ledger serves 2.4.
    build(&app, "ledger", "1.0.0", 'a', json!({ "provides": ["ledger-api@2.4"], "requires": [] })).await;
    build(&app, "checkout", "1.0.0", 'b', json!({ "provides": [], "requires": ["ledger-api@>=2.1, <3"] })).await;
    let first = run_day(&app, 0, SimulatedMetrics::default()).await;
    assert_eq!(runtime::load(&app.db, &first).await.expect("state").phase.to_string(), "completed");

    // Day two: a ledger serving only 3.0 leaves production's checkout without a 2.x.
    let ledger = build(&app, "ledger", "3.0.0", 'c', json!({ "provides": ["ledger-api@3.0"], "requires": [] })).await;
    let second = run_day(&app, 1, SimulatedMetrics::default()).await;
    let run = runtime::load(&app.db, &second).await.expect("state");
    assert_eq!(run.phase.to_string(), "held");
    let candidate = run.candidates.iter().find(|c| c.artifact_id == ledger).expect("ledger");
    let gate = candidate.gates.iter().find(|g| g.name == "api_contract").expect("gate");
    assert_eq!(
        gate.state.detail(),
        "checkout 1.0.0 (in production) requires ledger-api@>=2.1, <3, but ledger 3.0.0 (in this train) provides ledger-api@3.0"
    );
}
