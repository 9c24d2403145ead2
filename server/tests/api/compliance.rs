//! The compliance gate end to end: a train waits in pre-flight for the
//! domain's approvers; their decisions, made over the API, finish the gate
//! on the train in the same transaction.

use std::sync::Arc;

use chrono::Duration;
use reqwest::Method;
use serde_json::json;
use server::fleet::{self, parse};
use server::integrations::{FleetIntegrations, SimulatedMetrics};
use server::runtime;
use server::scheduler::{tick, SchedulerConfig};
use server::store;
use server::time::Instant;
use server::train_state::TrainState;

use crate::helpers::{drive_train, register_build, spawn_app, test_now, train_in_state, Backend, TestApp};
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
gates = ["tests", "compliance"]
"#;

/// Opens the 14:00 train at 13:00 and works its runtime minute by minute for
/// `minutes`; returns the integrations, the train and the simulated instant reached.
async fn open_and_work(app: &TestApp, minutes: usize) -> (FleetIntegrations, String, Instant) {
    let opened_at = test_now() + Duration::hours(1);
    tick(&app.db, crate::helpers::lead(&app.db).await, opened_at, &SchedulerConfig::default()).await.expect("tick");
    let integrations = FleetIntegrations::new(app.db.clone(), Arc::new(app.clock.clone()), SimulatedMetrics::default())
        .expect("integrations");
    let train_id = train_in_state(&app.db, "planning").await;
    let mut now = Instant::from_utc(opened_at);
    for _ in 0..minutes {
        while runtime::work(&app.db, crate::helpers::lead(&app.db).await, &integrations, now, 100).await.expect("work")
            > 0
        {}
        now += 60_000;
    }
    (integrations, train_id, now)
}

async fn a_train_waits_for_approvers_and_a_rejected_candidate_misses_it(backend: Backend) {
    let app = spawn_app(backend, false).await;
    fleet::apply(&app.db, &parse("fleet.toml", FLEET).expect("valid"), test_now()).await.expect("apply");
    let rule = json!({ "required_approvals": 2 });
    let (status, _) =
        app.send_as(Some(&app.admin_cookie), Method::PUT, "/api/v1/approval-rules/payments", Some(&rule)).await;
    assert_eq!(status, 200);
    // register_build names "bob" as the author.
    let ledger = register_build(&app, "ledger", "3.0.0", 'c', "1.0").await;
    let checkout = register_build(&app, "checkout", "3.0.0", 'd', "1.0").await;
    let carol = app.user_with_roles("carol", &[("approver", Some("payments"))]).await;
    let erin = app.user_with_roles("erin", &[("approver", None)]).await;

    // Work an hour: past pre-flight and past the cutover instant.
    let (integrations, train_id, now) = open_and_work(&app, 60).await;
    let run = runtime::load(&app.db, &train_id).await.expect("state");
    assert_eq!(run.phase, TrainState::Preflight, "waiting for approvers, not held and not gone");
    let (_, detail) = app.get(&format!("/api/v1/trains/{train_id}")).await;
    assert!(detail.contains("ledger waits for compliance: 0 of 2 approvals"), "{detail}");

    // A release manager alone cannot wave the candidate through: approvers decide the gate.
    let rita = app.user_with_roles("rita", &[("release_manager", Some("payments"))]).await;
    let waiver = json!({ "action": "waive_gate", "artifact_id": ledger, "gate": "compliance", "reason": "urgent" });
    let actions = format!("/api/v1/trains/{train_id}/actions");
    let (status, body) = app.send_as(Some(&rita), Method::POST, &actions, Some(&waiver)).await;
    assert_eq!(status, 409, "{body}");
    assert!(body.to_string().contains("decided by approvers only"), "{body}");
    let run = runtime::load(&app.db, &train_id).await.expect("state");
    let gate = run
        .candidates
        .iter()
        .find(|c| c.artifact_id == ledger)
        .and_then(|c| c.gates.iter().find(|g| g.name == "compliance"));
    assert_eq!(gate.map(|g| g.state.name()), Some("awaiting"), "the refused waiver changed nothing");

    let app = &app;
    let approve = |cookie: String, artifact: String, body: serde_json::Value| {
        let path = format!("/api/v1/artifacts/{artifact}/approvals");
        async move { app.send_as(Some(&cookie), Method::POST, &path, Some(&body)).await }
    };
    let (status, _) = approve(carol.clone(), ledger.clone(), json!({ "decision": "approve" })).await;
    assert_eq!(status, 201);
    assert_eq!(runtime::load(&app.db, &train_id).await.expect("state").phase, TrainState::Preflight, "1 of 2");
    let (status, _) = approve(erin.clone(), ledger.clone(), json!({ "decision": "approve" })).await;
    assert_eq!(status, 201);
    let (status, body) =
        approve(carol, checkout.clone(), json!({ "decision": "reject", "comment": "no change ticket" })).await;
    assert_eq!(status, 201, "{body}");

    let run = runtime::load(&app.db, &train_id).await.expect("state");
    assert_ne!(run.phase, TrainState::Preflight, "both decided: the train goes on");
    drive_train(&app.db, &integrations, &train_id, now).await;
    let mut conn = app.db.acquire().await.expect("connection");
    let cargo = store::artifacts::train_candidates(&mut conn, &train_id).await.expect("cargo");
    let status_of = |id: &str| cargo.iter().find(|(a, _, _)| a == id).map(|(_, s, r)| (s.clone(), r.clone()));
    assert_eq!(status_of(&ledger).map(|s| s.0), Some("shipped".to_owned()));
    let (state, reason) = status_of(&checkout).expect("checkout");
    assert_eq!(state, "missed");
    assert!(reason.contains("rejected by carol: no change ticket"), "{reason}");
    let (phase,): (String,) = sqlx::query_as("SELECT state FROM trains WHERE id = $1")
        .bind(&train_id)
        .fetch_one(&mut *conn)
        .await
        .expect("train");
    assert_eq!(phase, "completed");
    let events = store::trains::events(&mut conn, &train_id).await.expect("timeline");
    let rejection = events.iter().find(|e| e.reason.contains("checkout missed the train")).expect("the rejection");
    assert_eq!(rejection.actor, "user:carol", "the timeline names the approver whose decision moved the train");
}
on_both_backends!(a_train_waits_for_approvers_and_a_rejected_candidate_misses_it);

async fn an_irreversible_migration_needs_a_sign_off_and_makes_the_train_roll_forward_only(backend: Backend) {
    let app = spawn_app(backend, false).await;
    let fleet = FLEET.replace(r#"gates = ["tests", "compliance"]"#, r#"gates = ["tests"]"#);
    fleet::apply(&app.db, &parse("fleet.toml", &fleet).expect("valid"), test_now()).await.expect("apply");
    let body = json!({
        "service": "ledger", "version": "4.0.0", "digest": format!("sha256:{}", "f".repeat(64)),
        "commit": "abc1234", "author": "bob",
        "migrations": [{ "name": "drop_legacy_balance", "reversible": false }]
    });
    let (status, created) = app.post_json("/api/v1/artifacts", &body).await;
    assert_eq!(status, 201, "{created}");
    let artifact = created["id"].as_str().expect("id").to_owned();
    let tests = json!({ "kind": "tests", "name": "unit", "status": "passed" });
    assert_eq!(app.post_json(&format!("/api/v1/artifacts/{artifact}/checks"), &tests).await.0, 201);
    let carol = app.user_with_roles("carol", &[("approver", None)]).await;

    let (_, train_id, _) = open_and_work(&app, 45).await;
    let run = runtime::load(&app.db, &train_id).await.expect("state");
    assert_eq!(run.phase, TrainState::Preflight);
    assert!(run.roll_forward_only().is_some_and(|why| why.contains("drop_legacy_balance")));
    let (_, detail) = app.get(&format!("/api/v1/trains/{train_id}")).await;
    assert!(detail.contains("irreversible migration drop_legacy_balance needs an approver's sign-off"), "{detail}");
    assert!(detail.contains("roll-forward-only"), "{detail}");

    let path = format!("/api/v1/artifacts/{artifact}/approvals");
    let (status, _) = app.send_as(Some(&carol), Method::POST, &path, Some(&json!({ "decision": "approve" }))).await;
    assert_eq!(status, 201);
    assert_ne!(runtime::load(&app.db, &train_id).await.expect("state").phase, TrainState::Preflight, "signed off");
}
on_both_backends!(an_irreversible_migration_needs_a_sign_off_and_makes_the_train_roll_forward_only);

async fn approvals_that_never_come_are_reminded_then_expire_at_cutover(backend: Backend) {
    let app = spawn_app(backend, false).await;
    fleet::apply(&app.db, &parse("fleet.toml", FLEET).expect("valid"), test_now()).await.expect("apply");
    let ledger = register_build(&app, "ledger", "3.0.0", 'c', "1.0").await;
    register_build(&app, "checkout", "3.0.0", 'd', "1.0").await;

    // Planning closes at 13:30; cutover is at 14:00. Work until 14:05 without a decision.
    let (_, train_id, _) = open_and_work(&app, 66).await;
    let run = runtime::load(&app.db, &train_id).await.expect("state");
    assert_eq!(run.phase, TrainState::Skipped, "every candidate missed the train");
    let (_, detail) = app.get(&format!("/api/v1/trains/{train_id}")).await;
    let detail: serde_json::Value = serde_json::from_str(&detail).expect("JSON");
    let reasons: Vec<&str> =
        detail["timeline"].as_array().expect("timeline").iter().filter_map(|e| e["reason"].as_str()).collect();
    let reminder = reasons.iter().find(|r| r.starts_with("still waiting: ")).expect("a reminder before cutover");
    assert!(reminder.contains("ledger: compliance (0 of 1 approvals") && reminder.contains("expire at cutover"));
    let expired = "ledger missed the train: approvals did not arrive before cutover (compliance: 0 of 1 approvals";
    assert!(reasons.iter().any(|r| r.starts_with(expired)), "{reasons:?}");

    let mut conn = app.db.acquire().await.expect("connection");
    let notices: Vec<(String,)> = sqlx::query_as("SELECT effect FROM outbox WHERE train_id = $1 AND status = 'done'")
        .bind(&train_id)
        .fetch_all(&mut *conn)
        .await
        .expect("outbox");
    let sent = |notice: &str| notices.iter().filter(|(effect,)| effect.contains(&format!("\"{notice}\""))).count();
    assert_eq!((sent("approval_requested"), sent("approval_expiring")), (2, 1), "asked per candidate, reminded once");
    let artifact = store::artifacts::by_id(&mut conn, &ledger).await.expect("query").expect("artifact");
    assert_eq!(artifact.rejected_at, None, "an unapproved candidate is carried, not rejected");
}
on_both_backends!(approvals_that_never_come_are_reminded_then_expire_at_cutover);
