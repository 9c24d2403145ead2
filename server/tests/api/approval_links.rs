//! Approving from a link in the notification: the approval request posted to
//! the domain's chat carries a signed, single-use link per candidate (and a
//! Slack button); the link grants nothing without a signed-in eligible
//! approver who did not author the build; deciding through it is the console's
//! decision, audited as coming through the link.

use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use chrono::Duration;
use reqwest::Method;
use serde_json::Value;
use server::fleet::{self, parse};
use server::integrations::{FleetIntegrations, SimulatedMetrics};
use server::runtime;
use server::scheduler::{tick, SchedulerConfig};
use server::time::Instant;
use server::train_state::TrainState;

use crate::helpers::{register_build, spawn_app, test_now, train_in_state, Backend, TestApp};
use crate::on_both_backends;

type Posted = Arc<Mutex<Vec<Value>>>;

async fn chat(State(posted): State<Posted>, Json(body): Json<Value>) {
    posted.lock().unwrap_or_else(PoisonError::into_inner).push(body);
}

/// A chat webhook on loopback; answers its URL and what was posted to it.
async fn chat_receiver() -> (String, Posted) {
    let posted = Posted::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let router = Router::new().route("/chat", post(chat)).with_state(posted.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (format!("http://{address}/chat"), posted)
}

fn fleet_file(variable: &str) -> String {
    format!(
        r#"
[[domain]]
name = "payments"
notify_webhook_env = "{variable}"
notify_on = ["approval_requested", "approval_expiring"]

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
time_zone = "Europe/Berlin"
starts = "2026-01-01"
planning_window = "1h"
cutover_window = "2h"
preflight = "30m"
monitoring = "10m"
gates = ["tests", "compliance"]
"#
    )
}

/// The button URL posted for `service`.
fn link_for(posted: &Posted, service: &str) -> String {
    let posted = posted.lock().unwrap_or_else(PoisonError::into_inner);
    let label = format!("Approve or reject {service} 3.0.0");
    posted
        .iter()
        .flat_map(|body| body["blocks"][1]["elements"].as_array().cloned().unwrap_or_default())
        .find(|button| button["text"]["text"] == label.as_str())
        .and_then(|button| button["url"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("no link for {service} in {posted:?}"))
}

/// Opens the 14:00 Berlin train (13:00 UTC) at its planning window and works it to ten minutes before cutover.
async fn train_waiting_for_approvers(app: &TestApp, public_url: &str) -> String {
    let opened_at = test_now();
    tick(&app.db, crate::helpers::lead(&app.db).await, opened_at, &SchedulerConfig::default()).await.expect("tick");
    let integrations = FleetIntegrations::new(app.db.clone(), Arc::new(app.clock.clone()), SimulatedMetrics::default())
        .expect("integrations")
        .with_public_url(public_url);
    let train_id = train_in_state(&app.db, "planning").await;
    let mut now = Instant::from_utc(opened_at);
    for _ in 0..50 {
        while runtime::work(&app.db, crate::helpers::lead(&app.db).await, &integrations, now, 100).await.expect("work")
            > 0
        {}
        now += 60_000;
    }
    assert_eq!(runtime::load(&app.db, &train_id).await.expect("state").phase, TrainState::Preflight);
    train_id
}

fn form(token: &str, decision: &str, comment: &str) -> String {
    format!("token={}&decision={decision}&comment={}", urlencoding(token), urlencoding(comment))
}

fn urlencoding(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

async fn an_approver_decides_from_the_link_once_and_nobody_else_can_use_it(backend: Backend) {
    let (url, posted) = chat_receiver().await;
    let variable = format!("RAILYARD_TEST_APPROVAL_CHAT_{}", if backend == Backend::Sqlite { "SQLITE" } else { "PG" });
    std::env::set_var(&variable, &url);
    let app = spawn_app(backend, false).await;
    fleet::apply(&app.db, &parse("fleet.toml", &fleet_file(&variable)).expect("valid"), test_now())
        .await
        .expect("apply");
    // register_build names "bob" as the author; bob is also one of the domain's approvers.
    let ledger = register_build(&app, "ledger", "3.0.0", 'c', "1.0").await;
    let _checkout = register_build(&app, "checkout", "3.0.0", 'd', "1.0").await;
    let carol = app.user_with_roles("carol", &[("approver", Some("payments"))]).await;
    let bob = app.user_with_roles("bob", &[("approver", Some("payments"))]).await;
    let vic = app.user_with_roles("vic", &[("viewer", None)]).await;
    let train_id = train_waiting_for_approvers(&app, &app.address).await;

    let link = link_for(&posted, "ledger");
    let path = link.strip_prefix(&app.address).expect("a link to this server").to_owned();
    let token = path.strip_prefix("/approve/").expect("/approve/<token>").to_owned();
    {
        let posted = posted.lock().unwrap_or_else(PoisonError::into_inner);
        let text = posted.iter().filter_map(|b| b["text"].as_str()).collect::<Vec<_>>().join("\n");
        assert!(text.contains(&format!("<{link}|Approve or reject ledger 3.0.0>")), "a plain link too: {text}");
    }

    // The link alone grants nothing: without a session it goes through sign-in and back.
    let anonymous = app.anonymous.get(&link).send().await.expect("open");
    assert_eq!(anonymous.status().as_u16(), 303);
    let login = anonymous.headers().get("location").and_then(|l| l.to_str().ok()).unwrap_or_default().to_owned();
    assert_eq!(login, format!("/login?next={path}"), "back to the link after signing in");
    let (status, said) = app.call_rpc("", "approval_link", &form(&token, "", "")).await;
    assert_eq!(status, 401, "{said}");

    // Only an eligible approver who did not author the build may use it.
    let (status, said) = app.call_rpc(&vic, "approval_link", &form(&token, "", "")).await;
    assert_eq!(status, 403, "{said}");
    assert!(said.contains("only its approvers can use this link"), "{said}");
    let (status, said) = app.call_rpc(&bob, "decide_by_link", &form(&token, "approve", "")).await;
    assert_eq!(status, 403, "{said}");
    assert!(said.contains("bob authored ledger 3.0.0"), "{said}");
    let forged = format!("{}x", &token[..token.len() - 1]);
    let (status, said) = app.call_rpc(&carol, "approval_link", &form(&forged, "", "")).await;
    assert_eq!(status, 404, "{said}");
    assert!(said.contains("not valid"), "{said}");

    // The approver sees the candidate, its gates, the train and its cutover.
    let (status, shown) = app.call_rpc(&carol, "approval_link", &form(&token, "", "")).await;
    assert_eq!(status, 200, "{shown}");
    let shown: Value = serde_json::from_str(&shown).expect("JSON");
    assert_eq!((shown["service"].as_str(), shown["train_id"].as_str()), (Some("ledger"), Some(train_id.as_str())));
    assert_eq!(shown["cutover_shown"], "Fri 27 Nov 2026 14:00 Europe/Berlin");
    assert_eq!(shown["link_expires_shown"], "Fri 27 Nov 2026 14:00 Europe/Berlin", "it lapses with the request");
    let gates: Vec<(&str, &str)> = shown["gates"]
        .as_array()
        .expect("gates")
        .iter()
        .map(|g| (g["name"].as_str().unwrap_or_default(), g["state"].as_str().unwrap_or_default()))
        .collect();
    assert!(gates.contains(&("compliance", "awaiting")), "{gates:?}");
    let page = app.send_as(Some(&carol), Method::GET, &path, None).await;
    assert_eq!(page.0, 200);
    assert!(page.1.contains("ledger 3.0.0") && page.1.contains("Approve"), "the decision page renders");

    // She approves; the gate passes; the link is spent.
    let (status, said) = app.call_rpc(&carol, "decide_by_link", &form(&token, "approve", "checked the diff")).await;
    assert_eq!(status, 200, "{said}");
    assert!(said.contains("its gate passes"), "{said}");
    let run = runtime::load(&app.db, &train_id).await.expect("state");
    let compliance = run
        .candidates
        .iter()
        .find(|c| c.artifact_id == ledger)
        .and_then(|c| c.gates.iter().find(|g| g.name == "compliance").map(|g| g.state.name()));
    assert_eq!(compliance, Some("passed"));
    let (status, said) = app.call_rpc(&carol, "decide_by_link", &form(&token, "approve", "")).await;
    assert_eq!(status, 409, "{said}");
    assert!(said.contains("used already, by carol"), "{said}");
    let (status, said) = app.call_rpc(&carol, "approval_link", &form(&token, "", "")).await;
    assert_eq!((status, said.contains("used already")), (409, true), "{said}");

    // Audited like the console's decision, naming the link.
    let (_, audit) = app.send_as(Some(&app.admin_cookie), Method::GET, "/api/v1/audit?limit=20", None).await;
    let audit: Value = serde_json::from_str(&audit).expect("JSON");
    let approval = audit
        .as_array()
        .expect("records")
        .iter()
        .find(|r| r["action"] == "candidate.approved")
        .cloned()
        .unwrap_or_else(|| panic!("no approval in {audit}"));
    assert_eq!(approval["actor"], "user:carol");
    let after: Value = serde_json::from_str(approval["after"].as_str().unwrap_or_default()).expect("JSON text");
    assert_eq!((after["via"].as_str(), after["comment"].as_str()), (Some("link"), Some("checked the diff")));

    // A link expires with its request, at cutover.
    let checkout_link = link_for(&posted, "checkout");
    let checkout_token = checkout_link.rsplit('/').next().expect("token").to_owned();
    app.clock.set(test_now() + Duration::hours(2));
    let carol = crate::helpers::sign_in(&app.anonymous, &app.address, "carol", "their own password").await;
    let (status, said) = app.call_rpc(&carol, "approval_link", &form(&checkout_token, "", "")).await;
    assert_eq!(status, 409, "{said}");
    assert!(said.contains("expired at 2026-11-27T13:00:00Z (with its request)"), "{said}");
}
on_both_backends!(an_approver_decides_from_the_link_once_and_nobody_else_can_use_it);
