//! One rollout per service at a time: a train whose services another train
//! is still deploying waits, says for whom, and goes on by itself once that
//! train is done (seed F4: a long deployment running into the next train).

use std::sync::Arc;

use serde_json::json;
use server::fleet::{self, parse};
use server::integrations::{FleetIntegrations, SimulatedMetrics};
use server::runtime;
use server::store;
use server::time::Instant;

use crate::helpers::{drive_train, lead, ledger_fleet, register_build, spawn_app, test_now, Backend};
use crate::on_both_backends;

async fn a_train_waits_while_another_deploys_its_service_and_then_goes_on(backend: Backend) {
    let app = spawn_app(backend, false).await;
    let steps =
        [("staging", "staging", 100, "10m"), ("canary", "production", 10, "20m"), ("all", "production", 100, "0s")];
    let fleet = ledger_fleet("", "emergency_gates = [\"tests\"]", &steps);
    fleet::apply(&app.db, &parse("fleet.toml", &fleet).expect("valid"), test_now()).await.expect("apply");
    let first = register_build(&app, "ledger", "5.0.1", '1', "2.0").await;
    let second = register_build(&app, "ledger", "5.0.2", '2', "2.0").await;
    let rita = app.user_with_roles("rita", &[("release_manager", Some("payments"))]).await;
    let start = |artifact: &str| {
        let body =
            json!({ "definition": "payments-daily", "artifacts": [artifact], "reason": "card outage: ship the fix" });
        let app = &app;
        let rita = rita.clone();
        async move {
            let (status, body) =
                app.send_as(Some(&rita), reqwest::Method::POST, "/api/v1/trains/emergency", Some(&body)).await;
            assert_eq!(status, 201, "{body}");
            serde_json::from_str::<serde_json::Value>(&body).expect("json")["id"].as_str().expect("id").to_owned()
        }
    };
    let integrations = FleetIntegrations::new(app.db.clone(), Arc::new(app.clock.clone()), SimulatedMetrics::default())
        .expect("integrations");
    let fence = lead(&app.db).await;
    let now = Instant::from_utc(test_now());

    // The first train starts its rollout: staging deployed, soaking.
    let a = start(&first).await;
    while runtime::work(&app.db, fence, &integrations, now, 100).await.expect("work") > 0 {}
    assert_eq!(runtime::load(&app.db, &a).await.expect("run").steps.len(), 1, "the first train deploys staging");
    // The second, for the same service, gets through its gates and then waits.
    let b = start(&second).await;
    while runtime::work(&app.db, fence, &integrations, now, 100).await.expect("work") > 0 {}
    let waiting = runtime::load(&app.db, &b).await.expect("run");
    assert!(waiting.steps.is_empty(), "nothing deployed while the first train rolls ledger out");
    let expected = format!("waiting: payments-daily train {a} is deploying ledger");
    assert_eq!(waiting.waiting_for.as_deref(), Some(&expected["waiting: ".len()..]));
    let (_, page) = app.get(&format!("/trains/{b}")).await;
    assert!(page.contains(&expected), "the train page says what it waits for");

    // The first train finishes; the second goes on by itself and ships after it.
    let finished_at = drive_train(&app.db, &integrations, &a, now).await;
    drive_train(&app.db, &integrations, &b, finished_at).await;
    let (done_a, done_b) = (runtime::load(&app.db, &a).await.expect("a"), runtime::load(&app.db, &b).await.expect("b"));
    assert_eq!((done_a.phase.as_str(), done_b.phase.as_str()), ("completed", "completed"));
    let a_last = done_a.steps.iter().filter_map(|s| s.finished_at).max().expect("a finished its steps");
    assert!(done_b.steps[0].started_at >= a_last, "the second rollout began after the first ended");
    let mut conn = app.db.acquire().await.expect("connection");
    let timeline = store::trains::events(&mut conn, &b).await.expect("timeline");
    assert!(timeline.iter().any(|e| e.reason.contains("going on")), "it says when it goes on");
}
on_both_backends!(a_train_waits_while_another_deploys_its_service_and_then_goes_on);

/// Two replicas deciding at once whether a step over the same service may
/// start take turns: the second waits until the first has committed, then
/// reads what it decided.
async fn deciding_over_the_same_service_takes_turns(backend: Backend) {
    let app = spawn_app(backend, false).await;
    let fleet = ledger_fleet("", "", &[]);
    fleet::apply(&app.db, &parse("fleet.toml", &fleet).expect("valid"), test_now()).await.expect("apply");
    let mut first = app.db.begin().await.expect("begin");
    store::services::lock_for_rollout(&mut first, &["ledger"]).await.expect("lock");
    let db = app.db.clone();
    let second = tokio::spawn(async move {
        let mut second = db.begin().await.expect("begin");
        store::services::lock_for_rollout(&mut second, &["ledger"]).await.expect("lock");
        second.commit().await.expect("commit");
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!second.is_finished(), "the second decision waits while the first is open");
    first.commit().await.expect("commit");
    tokio::time::timeout(std::time::Duration::from_secs(5), second)
        .await
        .expect("the second goes on once the first committed")
        .expect("joined");
}
on_both_backends!(deciding_over_the_same_service_takes_turns);
