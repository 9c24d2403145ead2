//! The demo's first start: six weeks replayed through the scheduler, the
//! engine and the outbox, so a newcomer's first look has figures everywhere.

use serde_json::Value;

use crate::helpers::{spawn_app_with, Backend, TestApp};
use crate::on_both_backends;

async fn get_json(app: &TestApp, path: &str) -> Value {
    let (status, body) = app.get(path).await;
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).expect("JSON")
}

async fn rpc(app: &TestApp, endpoint: &str, form: &str) -> Value {
    let (status, body) = app.call_rpc(&app.admin_cookie, endpoint, form).await;
    assert_eq!(status, 200, "{endpoint}: {body}");
    serde_json::from_str(&body).expect("JSON")
}

fn kpi<'a>(list: &'a Value, code: &str) -> &'a Value {
    list.as_array().expect("KPIs").iter().find(|k| k["code"] == code).unwrap_or_else(|| panic!("no {code} in {list}"))
}

async fn the_demo_starts_with_weeks_of_trains_run_through_the_engine(backend: Backend) {
    let app = spawn_app_with(backend, true, |settings| settings.demo_history = true).await;

    // The test clock stands at 27 November 2026 noon: the past is from mid-October on.
    let trains = get_json(&app, "/api/v1/trains?from=2026-10-01&to=2026-11-28").await;
    let trains = trains["trains"].as_array().expect("trains").clone();
    let ended: Vec<&Value> = trains
        .iter()
        .filter(|t| ["completed", "rolled_back", "skipped"].contains(&t["state"].as_str().unwrap_or("")))
        .collect();
    assert!(ended.len() >= 15, "six weeks of four definitions end at least 15 trains: {}", ended.len());
    let rolled_back: Vec<&&Value> = ended.iter().filter(|t| t["state"] == "rolled_back").collect();
    assert_eq!(rolled_back.len(), 2, "one canary regression and one crash loop were rolled back");
    assert!(trains.iter().any(|t| t["kind"] == "rehearsal" && t["state"] == "completed"), "a rehearsal ran");

    // Each rollback through the engine: the judge's or the burn rule's words are on the timeline.
    let mut reasons = Vec::new();
    for train in &rolled_back {
        let detail = get_json(&app, &format!("/api/v1/trains/{}", train["id"].as_str().expect("id"))).await;
        let timeline = detail["timeline"].as_array().expect("timeline");
        assert_eq!(timeline.first().map(|e| e["to"].clone()), Some("planning".into()), "opened by the scheduler");
        reasons.extend(timeline.iter().filter_map(|e| e["reason"].as_str().map(str::to_owned)));
    }
    assert!(reasons.iter().any(|r| r.contains("canary judge failed")), "a canary regression: {reasons:#?}");
    assert!(reasons.iter().any(|r| r.contains("burn")), "a fast burn: {reasons:#?}");

    let dashboard = rpc(&app, "dashboard", "").await;
    for code in ["M1", "M3", "M10"] {
        let found = kpi(&dashboard["kpis"], code);
        assert!(found["value"].is_number() && found["observations"].as_u64() > Some(0), "{code} has a figure: {found}");
    }
    let m1 = kpi(&dashboard["kpis"], "M1")["value"].as_f64().expect("M1");
    assert!(m1 > 0.8 && m1 < 1.0, "most trains succeed, not all: {m1}");
    let compliance = &dashboard["compliance"];
    assert!(compliance["observations"].as_u64() > Some(0), "identity's compliance gates ran: {compliance}");
    let payments =
        dashboard["dora"].as_array().expect("dora").iter().find(|d| d["domain"] == "payments").expect("payments");
    for code in ["DF", "LT", "CFR", "TTR"] {
        let found = kpi(&payments["keys"], code);
        assert!(found["value"].is_number(), "DORA {code} has a figure for payments: {found}");
    }
    let restore = kpi(&payments["keys"], "TTR")["value"].as_f64().expect("TTR");
    assert!((42.0 * 60.0..=45.0 * 60.0).contains(&restore), "resolved 42 min after the rollback: {restore} s");

    // The gate board: a failed test run (a missed train) and a flaky one (errored, then passed on a rerun).
    let board = rpc(&app, "gate_board", "").await;
    let failed = board["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .any(|row| row["cells"].as_array().expect("cells").iter().any(|cell| cell["state"] == "failed"));
    assert!(failed, "a failed test run shows: {board}");
    let ended = board["rows"].as_array().expect("rows").iter().filter(|row| row["state"] == "completed");
    let still_running =
        ended.flat_map(|row| row["cells"].as_array().expect("cells")).any(|cell| cell["state"] == "running");
    assert!(!still_running, "a gate a missed candidate never needed shows as skipped, not running: {board}");
    let flaky: u64 = board["flakiness"].as_array().expect("flakiness").iter().filter_map(|f| f["flaky"].as_u64()).sum();
    assert!(flaky > 0, "a flaky gate shows: {}", board["flakiness"]);

    // The incident, attributed to the crash-looping train and resolved.
    let mut incidents = Vec::new();
    let mut conn = app.db.acquire().await.expect("connection");
    for train in &rolled_back {
        let id = train["id"].as_str().expect("id");
        incidents.extend(server::store::incidents::of_train(&mut conn, id).await.expect("incidents"));
    }
    drop(conn);
    assert_eq!(incidents.len(), 1, "one incident, attributed to a rolled-back train: {incidents:#?}");
    assert!(incidents[0].resolved_at.is_some(), "resolved: {:?}", incidents[0]);

    // The freeze declared while it was reviewed held the next payments train.
    let mut held_by_freeze = false;
    for train in trains.iter().filter(|t| t["definition"] == "payments-weekly") {
        let detail = get_json(&app, &format!("/api/v1/trains/{}", train["id"].as_str().expect("id"))).await;
        held_by_freeze |= detail["timeline"].to_string().contains("freeze checkout-incident-review holds");
    }
    assert!(held_by_freeze, "a payments train waited for the review freeze");

    // The calendar shows the past as it went.
    let (status, html) = app.get("/").await;
    assert_eq!(status, 200);
    assert!(html.contains("state-completed") && html.contains("state-rolled_back"), "past trains on the calendar");
    let (_, html) = app.get("/?kind=rehearsal&month=2026-11").await;
    let done = html.split("class=\"train ").skip(1).any(|chip| {
        let class = &chip[..chip.find('"').unwrap_or(0)];
        class.starts_with("state-completed") && class.ends_with(" rehearsal")
    });
    assert!(done, "the past rehearsal, done: {html}");
}
on_both_backends!(the_demo_starts_with_weeks_of_trains_run_through_the_engine);
