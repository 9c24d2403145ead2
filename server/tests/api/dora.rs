//! The leadership panels from a scripted history: two trains of payments
//! (one shipped, one rolled back by a fast burn), commit times sent by CI,
//! an incident resolved after an hour, and the dashboard's DORA keys,
//! compliance pass rate and region map as a hand computation says.

use chrono::Duration;
use serde_json::{json, Value};
use server::fleet::{self, parse};
use server::integrations::SimulatedMetrics;

use crate::helpers::{run_day, sign_in, spawn_app, test_now, Backend, ADMIN_PASSWORD};
use crate::on_both_backends;

const FLEET: &str = r#"
[[domain]]
name = "payments"

[[service]]
name = "ledger"
domain = "payments"
slo = { target = 0.999, window = "28d" }

[[region]]
name = "eu-west"
critical = true
description = "Dublin"

[[region]]
name = "us-east"

[[train]]
name = "payments-daily"
domain = "payments"
services = ["ledger"]
cadence = "FREQ=DAILY;BYHOUR=14"
time_zone = "UTC"
starts = "2026-01-01"
planning_window = "1h"
cutover_window = "2h"
preflight = "30m"
monitoring = "10m"
gates = ["tests"]

[[train.step]]
name = "canary 10% eu-west"
environment = "production"
weight = 10
soak = "10m"
region = "eu-west"

[[train.step]]
name = "100% eu-west"
environment = "production"
weight = 100
soak = "0s"
region = "eu-west"
"#;

/// Registers a tested ledger build whose commit was made `hours_before` the day's cutover (14:00).
async fn build(app: &crate::helpers::TestApp, day: i64, digit: char, hours_before: i64) {
    let cutover = test_now() + Duration::days(day) + Duration::hours(2);
    app.clock.set(cutover - Duration::hours(2));
    let body = json!({ "service": "ledger", "version": format!("1.{day}.0"), "digest": format!("sha256:{}", digit.to_string().repeat(64)),
                       "commit": "abcdef1", "author": "bob",
                       "committed_at": (cutover - Duration::hours(hours_before)).to_rfc3339() });
    let (status, artifact) = app.post_json("/api/v1/artifacts", &body).await;
    assert_eq!(status, 201, "{artifact}");
    let id = artifact["id"].as_str().expect("id");
    let tests = json!({ "kind": "tests", "name": "unit", "status": "passed" });
    assert_eq!(app.post_json(&format!("/api/v1/artifacts/{id}/checks"), &tests).await.0, 201);
}

async fn the_dashboard_shows_dora_keys_compliance_and_the_region_map_as_computed_by_hand(backend: Backend) {
    let mut app = spawn_app(backend, false).await;
    fleet::apply(&app.db, &parse("fleet.toml", FLEET).expect("valid"), test_now()).await.expect("apply");
    // A commit time from the future is refused.
    let future = json!({ "service": "ledger", "version": "9.0.0", "digest": format!("sha256:{}", "9".repeat(64)),
                         "commit": "abcdef1", "author": "bob", "committed_at": (test_now() + Duration::hours(1)).to_rfc3339() });
    let (status, body) = app.post_json("/api/v1/artifacts", &future).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().expect("message").contains("`committed_at` is in the future"), "{body}");

    build(&app, 0, 'a', 20).await;
    let shipped = run_day(&app, 0, SimulatedMetrics::default()).await;
    build(&app, 1, 'b', 6).await;
    let burning = SimulatedMetrics { burning: Some(("ledger".into(), 1, 1)), ..SimulatedMetrics::default() };
    run_day(&app, 1, burning).await;
    // An incident after the first train, resolved an hour later.
    app.clock.set(test_now() + Duration::days(1));
    let incident = json!({ "service": "ledger", "severity": "high", "started_at": (test_now() + Duration::hours(4)).to_rfc3339() });
    let (status, created) = app.post_json("/api/v1/incidents", &incident).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["train_id"], shipped.as_str());
    let resolve = json!({ "resolved_at": (test_now() + Duration::hours(5)).to_rfc3339() });
    let path = format!("/api/v1/incidents/{}/resolve", created["id"].as_str().expect("id"));
    assert_eq!(app.post_json(&path, &resolve).await.0, 200);

    app.clock.set(test_now() + Duration::days(3));
    app.admin_cookie = sign_in(&app.anonymous, &app.address, "admin", ADMIN_PASSWORD).await;
    let (status, body) = app.call_rpc(&app.admin_cookie, "dashboard", "").await;
    assert_eq!(status, 200, "{body}");
    let dashboard: Value = serde_json::from_str(&body).expect("JSON");
    let payments =
        dashboard["dora"].as_array().expect("dora").iter().find(|d| d["domain"] == "payments").expect("payments");
    let key = |code: &str| {
        payments["keys"].as_array().expect("keys").iter().find(|k| k["code"] == code).cloned().expect(code)
    };
    // One train rolled out in 28 days: 0.25 a week.
    assert_eq!(key("DF")["value"], json!(0.25));
    // Its one change was committed 20 h before cutover and rolled out at the end of its 10-minute canary.
    let lead = key("LT")["value"].as_f64().expect("lead time");
    assert!((lead - (20.0 * 3600.0 + 600.0)).abs() < 120.0, "lead time {lead}");
    // Both trains reached production; one was rolled back and the other caused an incident.
    assert_eq!((key("CFR")["value"].as_f64(), key("CFR")["observations"].as_u64()), (Some(1.0), Some(2)));
    assert_eq!(key("TTR")["value"], json!(3600.0), "an hour to restore");
    assert_eq!(dashboard["compliance"]["observations"], 0, "no compliance gate ran: {}", dashboard["compliance"]);

    let tiles = dashboard["region_map"].as_array().expect("tiles");
    assert_eq!(tiles[0]["name"], "eu-west", "critical first");
    assert_eq!(tiles[0]["critical"], true);
    assert_eq!(tiles[0]["last"]["outcome"], "failed", "the newest step there was the burning canary: {}", tiles[0]);
    assert_eq!(tiles[1]["name"], "us-east");
    assert_eq!(tiles[1]["last"], Value::Null, "nothing ever ran in us-east");
}
on_both_backends!(the_dashboard_shows_dora_keys_compliance_and_the_region_map_as_computed_by_hand);
