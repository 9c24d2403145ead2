//! Rejecting a bad build for good: it leaves every train in flight that has
//! not deployed it (its group with it), the trains that did are named, and
//! it is refused twice.

use std::sync::Arc;

use axum::http::Method;
use chrono::Duration;
use serde_json::{json, Value};
use server::integrations::{FleetIntegrations, SimulatedMetrics};
use server::runtime;
use server::scheduler::{tick, SchedulerConfig};
use server::store;
use server::time::Instant;

use crate::helpers::{lead, register_build, sign_in, test_now, train_in_state, Backend, TestApp};
use crate::on_both_backends;
use crate::partial_rollback::{payments, work_until};

async fn post_as(app: &TestApp, cookie: Option<&str>, path: &str, body: Value) -> (u16, Value) {
    let (status, text) = app.send_as(cookie, Method::POST, path, Some(&body)).await;
    (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON from {path}: {text}")))
}

async fn a_rejected_build_leaves_the_trains_that_have_not_deployed_it(backend: Backend) {
    let (app, _) = payments(backend, false, "gates = [\"tests\", \"compliance\"]").await;
    app.user_with_roles("rita", &[("release_manager", Some("payments"))]).await;
    app.user_with_roles("carol", &[("approver", Some("payments"))]).await;
    let ledger = register_build(&app, "ledger", "1.0.0", 'a', "1.0").await;
    let wallet = register_build(&app, "wallet", "1.0.0", 'b', "1.0").await;
    let checkout = register_build(&app, "checkout", "1.0.0", 'c', "1.0").await;
    let opened = test_now() + Duration::hours(1);
    tick(&app.db, lead(&app.db).await, opened, &SchedulerConfig::default()).await.expect("tick");
    let train = train_in_state(&app.db, "planning").await;
    let integrations = FleetIntegrations::new(app.db.clone(), Arc::new(app.clock.clone()), SimulatedMetrics::default())
        .expect("integrations");
    // Every candidate waits for an approver in pre-flight.
    let now = work_until(&app, &integrations, &train, Instant::from_utc(opened), "preflight").await;
    let rita = sign_in(&app.anonymous, &app.address, "rita", "their own password").await;
    let carol = sign_in(&app.anonymous, &app.address, "carol", "their own password").await;

    let reject = |id: &str| format!("/api/v1/artifacts/{id}/reject");
    let why = json!({ "reason": "wallet corrupts balances" });
    let (status, _) = post_as(&app, None, &reject(&wallet), why.clone()).await;
    assert_eq!(status, 401);
    let (status, body) = post_as(&app, Some(&carol), &reject(&wallet), why.clone()).await;
    assert_eq!(status, 403, "an approver does not operate trains: {body}");
    let (status, body) = post_as(&app, Some(&rita), &reject(&wallet), json!({ "reason": " x " })).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = post_as(&app, Some(&rita), &reject("nope"), why.clone()).await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = post_as(&app, Some(&rita), &reject(&wallet), json!({ "reason": "r", "force": true })).await;
    assert!(status == 400 || status == 422, "unknown fields are refused: {status} {body}");
    assert!(store_untouched(&app, &wallet).await, "nothing was stored by the refused requests");

    let (status, body) = post_as(&app, Some(&rita), &reject(&wallet), why.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["removed_from"], json!([train]));
    assert_eq!(body["deployed_on"], json!([]));
    let (status, body) = post_as(&app, Some(&rita), &reject(&wallet), why).await;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"].as_str().is_some_and(|e| e.starts_with("wallet 1.0.0 was already rejected at")), "{body}");

    let run = runtime::load(&app.db, &train).await.expect("state");
    let reason = "taken off the train by user:rita: build rejected: wallet corrupts balances";
    let off: Vec<(&str, Option<&str>)> =
        run.candidates.iter().map(|c| (c.service.as_str(), c.missed.as_deref())).collect();
    for expected in [("ledger", Some(reason)), ("wallet", Some(reason)), ("checkout", None)] {
        assert!(off.contains(&expected), "its group leaves with it, checkout stays: {off:?}");
    }
    let mut conn = app.db.acquire().await.expect("connection");
    let wallet_row = store::artifacts::by_id(&mut conn, &wallet).await.expect("query").expect("row");
    let ledger_row = store::artifacts::by_id(&mut conn, &ledger).await.expect("query").expect("row");
    assert_eq!(wallet_row.rejected_reason.as_deref(), Some("rejected by user:rita: wallet corrupts balances"));
    assert!(ledger_row.rejected_at.is_none(), "its group partner may board the next train");
    drop(conn);

    // Checkout is approved and ships alone; once deployed, a rejection names the train instead.
    let (status, body) = post_as(
        &app,
        Some(&carol),
        &format!("/api/v1/artifacts/{checkout}/approvals"),
        json!({ "decision": "approve" }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    work_until(&app, &integrations, &train, Instant::from_ms(now), "monitoring").await;
    let rita = sign_in(&app.anonymous, &app.address, "rita", "their own password").await;
    let (status, body) = post_as(&app, Some(&rita), &reject(&checkout), json!({ "reason": "leaks memory" })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["removed_from"], json!([]));
    assert_eq!(
        body["deployed_on"],
        json!([{ "train_id": train, "detail": "checkout is deployed on it: roll it back there (roll_back_services)" }])
    );
    let mut conn = app.db.acquire().await.expect("connection");
    let audited: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'artifact.reject' AND actor = 'user:rita'")
            .fetch_one(&mut *conn)
            .await
            .expect("count");
    assert_eq!(audited, 2, "each rejection is audited once; refusals are not");
}
on_both_backends!(a_rejected_build_leaves_the_trains_that_have_not_deployed_it);

/// Whether `artifact` is still unrejected and no rejection was audited.
async fn store_untouched(app: &TestApp, artifact: &str) -> bool {
    let mut conn = app.db.acquire().await.expect("connection");
    let row = store::artifacts::by_id(&mut conn, artifact).await.expect("query").expect("row");
    let audited: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'artifact.reject'")
        .fetch_one(&mut *conn)
        .await
        .expect("count");
    row.rejected_at.is_none() && audited == 0
}
