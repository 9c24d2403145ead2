//! Two-person overrides of a failed gate over the API: a release manager
//! asks with a reason, a different approver grants; nobody alone, never the
//! author, never on a definition that forbids it; audited, on the train page
//! and in the postmortem.

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

/// Ledger and checkout on a daily 14:00 train whose compliance gate keeps it
/// in pre-flight until approvers decide.
fn fleet(train_extra: &str) -> String {
    format!(
        r#"
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
gates = ["tests", "security_scan", "compliance"]
{train_extra}
"#
    )
}

/// Opens the 14:00 train and works it to 13:40: ledger's scan failed, both wait for approvers.
async fn failed_scan(app: &TestApp, train_extra: &str) -> (FleetIntegrations, String, String, String, Instant) {
    fleet::apply(&app.db, &parse("fleet.toml", &fleet(train_extra)).expect("valid"), test_now()).await.expect("apply");
    let ledger = register_build(app, "ledger", "3.0.0", 'c', "9.8").await;
    let checkout = register_build(app, "checkout", "3.0.0", 'd', "1.0").await;
    let opened_at = test_now() + Duration::hours(1);
    tick(&app.db, crate::helpers::lead(&app.db).await, opened_at, &SchedulerConfig::default()).await.expect("tick");
    let integrations = FleetIntegrations::new(app.db.clone(), Arc::new(app.clock.clone()), SimulatedMetrics::default())
        .expect("integrations");
    let train_id = train_in_state(&app.db, "planning").await;
    let mut now = Instant::from_utc(opened_at);
    for _ in 0..40 {
        while runtime::work(&app.db, crate::helpers::lead(&app.db).await, &integrations, now, 100).await.expect("work")
            > 0
        {}
        now += 60_000;
    }
    let run = runtime::load(&app.db, &train_id).await.expect("state");
    assert_eq!(run.phase, TrainState::Preflight);
    let ledger_on_train = run.candidates.iter().find(|c| c.artifact_id == ledger).expect("ledger");
    assert!(!ledger_on_train.boarded(), "the failed scan took ledger off the train");
    (integrations, train_id, ledger, checkout, now)
}

fn action(name: &str, artifact: &str, reason: &str) -> serde_json::Value {
    json!({ "action": name, "artifact_id": artifact, "gate": "security_scan", "reason": reason })
}

async fn a_failed_scan_is_overridden_by_a_release_manager_and_a_different_approver(backend: Backend) {
    let app = spawn_app(backend, false).await;
    let (integrations, train_id, ledger, checkout, now) = failed_scan(&app, "").await;
    let rita = app.user_with_roles("rita", &[("release_manager", Some("payments"))]).await;
    let ann = app.user_with_roles("ann", &[("approver", Some("payments"))]).await;
    let both = app.user_with_roles("max", &[("release_manager", None), ("approver", None)]).await;
    let bob = app.user_with_roles("bob", &[("approver", None)]).await;
    let viewer = app.user_with_roles("vic", &[("viewer", None)]).await;
    let path = format!("/api/v1/trains/{train_id}/actions");
    let send = |cookie: &str, body: serde_json::Value| {
        let (app, path, cookie) = (&app, path.clone(), cookie.to_owned());
        async move { app.send_as(Some(&cookie), Method::POST, &path, Some(&body)).await }
    };

    // A waiver does not cover a failed gate, and nobody grants what nobody asked for.
    let (status, body) = send(&rita, action("waive_gate", &ledger, "urgent")).await;
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("ask an approver for an override"), "{body}");
    let (status, body) = send(&ann, action("grant_override", &ledger, "fine")).await;
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("a release manager asks first"), "{body}");
    // Asking needs a release manager and a reason; granting needs an approver.
    assert_eq!(send(&viewer, action("request_override", &ledger, "please")).await.0, 403);
    assert_eq!(send(&ann, action("request_override", &ledger, "please")).await.0, 403);
    assert_eq!(send(&rita, action("request_override", &ledger, " ")).await.0, 400);

    let (status, body) = send(&both, action("request_override", &ledger, "not reachable from our code")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(send(&rita, action("grant_override", &ledger, "mine")).await.0, 403, "release managers do not grant");
    let (status, body) = send(&both, action("grant_override", &ledger, "looks fine")).await;
    assert_eq!(status, 409, "the one who asked cannot grant: {body}");
    assert!(body.contains("a different person must grant it"), "{body}");
    let (status, body) = send(&bob, action("grant_override", &ledger, "looks fine")).await;
    assert_eq!(status, 403, "bob wrote ledger 3.0.0: {body}");
    let run = runtime::load(&app.db, &train_id).await.expect("state");
    assert!(!run.candidates.iter().find(|c| c.artifact_id == ledger).expect("ledger").boarded(), "still off");

    let (status, body) = send(&ann, action("grant_override", &ledger, "checked the call graph")).await;
    assert_eq!(status, 200, "{body}");
    let run = runtime::load(&app.db, &train_id).await.expect("state");
    let on_train = run.candidates.iter().find(|c| c.artifact_id == ledger).expect("ledger");
    assert!(on_train.boarded(), "back on the train");
    let gate = on_train.gates.iter().find(|g| g.name == "security_scan").expect("gate");
    assert_eq!(gate.state.name(), "overridden");

    let mut conn = app.db.acquire().await.expect("connection");
    let audited: Vec<(String, String)> =
        sqlx::query_as("SELECT action, actor FROM audit_log WHERE action LIKE 'gate.override%' ORDER BY seq")
            .fetch_all(&mut *conn)
            .await
            .expect("audit");
    assert_eq!(
        audited,
        vec![
            ("gate.override_requested".to_owned(), "user:max".to_owned()),
            ("gate.override_granted".to_owned(), "user:ann".to_owned())
        ]
    );
    drop(conn);
    let (_, page) = app.get(&format!("/trains/{train_id}")).await;
    assert!(page.contains("overridden"), "the train page shows the override");
    assert!(page.contains("asked by user:max") && page.contains("granted by user:ann"), "and who let it through");

    // Approvers decide both candidates; ledger ships with its override on record.
    let carol = app.user_with_roles("carol", &[("approver", None)]).await;
    for artifact in [&ledger, &checkout] {
        let approvals = format!("/api/v1/artifacts/{artifact}/approvals");
        let (status, body) =
            app.send_as(Some(&carol), Method::POST, &approvals, Some(&json!({ "decision": "approve" }))).await;
        assert_eq!(status, 201, "{body}");
    }
    drive_train(&app.db, &integrations, &train_id, now).await;
    let mut conn = app.db.acquire().await.expect("connection");
    let cargo = store::artifacts::train_candidates(&mut conn, &train_id).await.expect("cargo");
    let status = cargo.iter().find(|(a, _, _)| a == &ledger).map(|(_, s, _)| s.clone());
    assert_eq!(status.as_deref(), Some("shipped"));
    let artifact = store::artifacts::by_id(&mut conn, &ledger).await.expect("query").expect("artifact");
    assert_eq!(artifact.rejected_at, None, "the override lifted the scan's rejection");
    drop(conn);
    let (status, postmortem) = app.get(&format!("/api/v1/trains/{train_id}/postmortem")).await;
    assert_eq!(status, 200, "{postmortem}");
    assert!(postmortem.contains("Let through by people rather than by the gate"), "{postmortem}");
    assert!(postmortem.contains("overridden: asked by user:max"), "{postmortem}");

    // The gate's recorded answers name the CI token that reported the scan (the board shows
    // trains that have opened by the app's clock, so it moves on to the runtime's instant).
    app.clock.advance(Duration::milliseconds(now - Instant::from_utc(test_now())));
    let (status, board) = app.get(&format!("/gates?train={train_id}&gate=security_scan")).await;
    assert_eq!(status, 200);
    assert!(board.contains(r#"<td class="reported-by">token:test-read-artifacts:write"#), "{board}");
}
on_both_backends!(a_failed_scan_is_overridden_by_a_release_manager_and_a_different_approver);

async fn a_definition_can_forbid_overrides_and_the_console_offers_them_otherwise(backend: Backend) {
    let app = spawn_app(backend, false).await;
    let (_, train_id, ledger, _, _) = failed_scan(&app, "overrides = false").await;
    let rita = app.user_with_roles("rita", &[("release_manager", Some("payments"))]).await;
    let path = format!("/api/v1/trains/{train_id}/actions");
    let (status, body) =
        app.send_as(Some(&rita), Method::POST, &path, Some(&action("request_override", &ledger, "please"))).await;
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("forbids overrides"), "{body}");
    let (_, console) = app.send_as(Some(&rita), Method::GET, "/console", None).await;
    assert!(!console.contains("Ask for an override"), "nothing to offer when the definition forbids it");
}
on_both_backends!(a_definition_can_forbid_overrides_and_the_console_offers_them_otherwise);

async fn the_console_offers_asking_to_release_managers_and_granting_to_other_approvers(backend: Backend) {
    let app = spawn_app(backend, false).await;
    let (_, train_id, ledger, _, _) = failed_scan(&app, "").await;
    let rita = app.user_with_roles("rita", &[("release_manager", Some("payments"))]).await;
    let ann = app.user_with_roles("ann", &[("approver", Some("payments"))]).await;
    let (_, console) = app.send_as(Some(&rita), Method::GET, "/console", None).await;
    assert!(console.contains("Ask for an override"), "rita may ask");
    let form =
        format!("train_id={train_id}&artifact_id={ledger}&gate=security_scan&step=ask&reason=vendor+patch+next+week");
    let (status, text) = app.call_rpc(&rita, "override_gate", &form).await;
    assert_eq!(status, 200, "{text}");
    let (_, console) = app.send_as(Some(&ann), Method::GET, "/console", None).await;
    assert!(console.contains("Grant the override"), "ann may grant");
    assert!(console.contains("user:rita asked for an override: vendor patch next week"), "with who asked and why");
    let form = form.replace("step=ask", "step=grant").replace("vendor+patch+next+week", "checked");
    let (status, text) = app.call_rpc(&ann, "override_gate", &form).await;
    assert_eq!(status, 200, "{text}");
    let run = runtime::load(&app.db, &train_id).await.expect("state");
    assert!(run.candidates.iter().find(|c| c.artifact_id == ledger).expect("ledger").boarded());
}
on_both_backends!(the_console_offers_asking_to_release_managers_and_granting_to_other_approvers);
