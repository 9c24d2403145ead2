use std::sync::Arc;

use chrono::Duration;
use serde_json::{json, Value};
use server::fleet::{self, parse};
use server::integrations::{FleetIntegrations, SimulatedMetrics};
use server::runtime;
use server::scheduler::{tick, SchedulerConfig};
use server::store;
use server::time::Instant;

use crate::helpers::{drive_train, register_build, spawn_app, test_now, train_in_state, Backend};
use crate::on_both_backends;

const FLEET: &str = r#"
[[domain]]
name = "payments"

[[service]]
name = "ledger"
domain = "payments"
slo = { target = 0.999, window = "28d" }

[[service]]
name = "checkout"
domain = "payments"
slo = { target = 0.995, window = "28d" }

[[service]]
name = "billing"
domain = "payments"

[[train]]
name = "payments-daily"
domain = "payments"
services = ["ledger", "checkout"]
cadence = "FREQ=DAILY;BYHOUR=14"
time_zone = "UTC"
starts = "2026-01-01"
planning_window = "1h"
cutover_window = "2h"
preflight = "30m"
monitoring = "10m"
gates = ["tests", "security_scan", "observability"]

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
"#;

async fn ci_artifacts_ride_a_train_and_a_vulnerable_one_misses_it_for_good(backend: Backend) {
    let app = spawn_app(backend, false).await;
    fleet::apply(&app.db, &parse("fleet.toml", FLEET).expect("valid"), test_now()).await.expect("apply");
    let ledger = register_build(&app, "ledger", "2.0.0", 'a', "3.1").await;
    let checkout = register_build(&app, "checkout", "2.0.0", 'b', "9.8").await;

    let opened_at = test_now() + Duration::hours(1);
    tick(&app.db, crate::helpers::lead(&app.db).await, opened_at, &SchedulerConfig::default()).await.expect("tick");
    let integrations = FleetIntegrations::new(app.db.clone(), Arc::new(app.clock.clone()), SimulatedMetrics::default())
        .expect("integrations");
    let train_id = train_in_state(&app.db, "planning").await;
    drive_train(&app.db, &integrations, &train_id, Instant::from_utc(opened_at)).await;

    let mut conn = app.db.acquire().await.expect("connection");
    let (state,): (String,) = sqlx::query_as("SELECT state FROM trains WHERE id = $1")
        .bind(&train_id)
        .fetch_one(&mut *conn)
        .await
        .expect("train");
    assert_eq!(state, "completed");
    let candidates = store::artifacts::train_candidates(&mut conn, &train_id).await.expect("candidates");
    let status_of = |id: &str| candidates.iter().find(|(a, _, _)| a == id).map(|(_, s, r)| (s.clone(), r.clone()));
    assert_eq!(status_of(&ledger), Some(("shipped".into(), String::new())));
    let (status, reason) = status_of(&checkout).expect("checkout boarded first");
    assert_eq!(status, "missed");
    assert!(reason.contains("gate security_scan failed") && reason.contains("1 critical"), "{reason}");
    drop(conn);

    let (status, text) = app.get(&format!("/api/v1/trains/{train_id}")).await;
    assert_eq!(status, 200, "{text}");
    let detail: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(detail["state"], "completed");
    assert_eq!(detail["run"]["rollout"].as_array().expect("rollout").len(), 2);
    let cargo: Vec<(&str, &str)> = detail["cargo"]
        .as_array()
        .expect("cargo")
        .iter()
        .map(|c| (c["service"].as_str().expect("service"), c["status"].as_str().expect("status")))
        .collect();
    assert_eq!(cargo, vec![("checkout", "missed"), ("ledger", "shipped")]);
    let phases: Vec<&str> =
        detail["timeline"].as_array().expect("timeline").iter().filter_map(|e| e["to"].as_str()).collect();
    assert!(phases.contains(&"canary") && phases.ends_with(&["completed"]), "{phases:?}");
    let runs: Vec<(&str, &str)> = detail["gate_runs"]
        .as_array()
        .expect("gate runs")
        .iter()
        .filter(|r| r["artifact_id"] == checkout.as_str())
        .map(|r| (r["gate"].as_str().expect("gate"), r["outcome"].as_str().expect("outcome")))
        .collect();
    assert!(runs.contains(&("security_scan", "failed")), "every gate run is in the train's record: {runs:?}");

    let (status, notes) = app.get(&format!("/api/v1/trains/{train_id}/release-notes")).await;
    assert_eq!(status, 200);
    assert!(notes.contains("## ledger 2.0.0\n\n- Feature: ledger: faster\n"), "{notes}");
    assert!(
        notes.contains("## Missed the train\n\n- checkout 2.0.0: missed the train: gate security_scan failed"),
        "{notes}"
    );
    assert_eq!(app.get("/api/v1/trains/nope").await.0, 404);

    // Two hours after cutover ledger pages; a week later it pages again.
    let cutover = detail["cutover_at"].as_str().expect("cutover").to_owned();
    let after = |hours: i64| {
        (chrono::DateTime::parse_from_rfc3339(&cutover).expect("instant") + Duration::hours(hours)).to_rfc3339()
    };
    let (status, incident) = app
        .post_json(
            "/api/v1/incidents",
            &json!({ "service": "ledger", "severity": "High", "started_at": after(2), "title": "ledger 5xx" }),
        )
        .await;
    assert_eq!(status, 201, "{incident}");
    assert_eq!(incident["train_id"], train_id.as_str(), "attributed to the train that changed ledger");
    let (_, late) = app
        .post_json("/api/v1/incidents", &json!({ "service": "ledger", "severity": "low", "started_at": after(24 * 7) }))
        .await;
    assert_eq!(late["train_id"], Value::Null, "too long after any train");
    let (status, refused) = app
        .post_json("/api/v1/incidents", &json!({ "service": "ledger", "severity": "sev0", "started_at": after(1) }))
        .await;
    assert_eq!(status, 400);
    assert!(refused["error"].as_str().expect("message").contains("`severity` must be one of"));
    let (_, text) = app.get(&format!("/api/v1/trains/{train_id}")).await;
    let detail: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(detail["incidents"][0]["title"], "ledger 5xx");

    let (status, metrics) = app.get("/metrics").await;
    assert_eq!(status, 200);
    assert!(metrics.contains("railyard_trains{state=\"completed\"} 1"), "{metrics}");
    assert!(metrics.contains("railyard_release_success_ratio 1.0"), "M1: {metrics}");
    assert!(metrics.contains("railyard_security_gate_pass_ratio 0.5"), "M10, one clean scan of two: {metrics}");
    assert!(metrics.contains("railyard_release_throughput_services 1.0"), "M11: {metrics}");
    assert!(metrics.contains("railyard_post_deploy_incidents 1"), "M6: {metrics}");

    let (_, text) = app.get(&format!("/api/v1/artifacts/{checkout}")).await;
    let artifact: Value = serde_json::from_str(&text).expect("json");
    assert!(artifact["rejected"].as_str().expect("rejected").contains("missed the train"), "{artifact}");
    let mut conn = app.db.acquire().await.expect("connection");
    let checkout_service = store::services::by_name(&mut conn, "checkout").await.expect("query").expect("service");
    let boardable = store::artifacts::newest_boardable(&mut conn, &[checkout_service.id]).await.expect("query");
    assert!(boardable.is_empty(), "a rejected digest never boards again");
    let ledger_service = store::services::by_name(&mut conn, "ledger").await.expect("query").expect("service");
    let boardable = store::artifacts::newest_boardable(&mut conn, &[ledger_service.id]).await.expect("query");
    assert!(boardable.is_empty(), "a shipped artifact does not ride again");
}
on_both_backends!(ci_artifacts_ride_a_train_and_a_vulnerable_one_misses_it_for_good);

#[tokio::test]
async fn the_observability_gate_fails_a_service_without_an_slo() {
    let app = spawn_app(Backend::Sqlite, false).await;
    fleet::apply(&app.db, &parse("fleet.toml", FLEET).expect("valid"), test_now()).await.expect("apply");
    let billing = register_build(&app, "billing", "2.0.0", 'd', "1.0").await;
    let ledger = register_build(&app, "ledger", "2.0.0", 'e', "1.0").await;
    let integrations = FleetIntegrations::new(app.db.clone(), Arc::new(app.clock.clone()), SimulatedMetrics::default())
        .expect("integrations");
    let context = runtime::EffectContext { train_id: "t".into(), key: "k".into(), now: Instant::from_ms(0) };
    use server::runtime::Integrations;
    let outcome = integrations.run_gate(&context, &billing, "observability").await.expect("gate ran");
    assert_eq!(
        outcome,
        server::engine::GateOutcome::Failed("billing has no SLO; declare one in its trains-as-code entry".into())
    );
    let outcome = integrations.run_gate(&context, &ledger, "observability").await.expect("gate ran");
    assert_eq!(outcome, server::engine::GateOutcome::Passed);
}
