//! Emergency trains: started now by a release manager of the domain for
//! listed candidates, through the definition's reduced gate set, and marked
//! as emergencies in the API, the calendar and the console.

use std::sync::Arc;

use reqwest::Method;
use serde_json::json;
use server::fleet::{self, parse};
use server::integrations::{FleetIntegrations, SimulatedMetrics};
use server::store;
use server::time::Instant;

use crate::helpers::{drive_train, ledger_fleet, snapshot, spawn_app, test_now, Backend};
use crate::on_both_backends;

async fn an_emergency_train_ships_listed_candidates_through_the_reduced_gates(backend: Backend) {
    let app = spawn_app(backend, false).await;
    // Regular trains need tests and a security scan; emergency trains only tests.
    let fleet = format!(
        "{}\n[[domain]]\nname = \"search\"\n",
        ledger_fleet("", "gates = [\"tests\", \"security_scan\"]\nemergency_gates = [\"tests\"]", &[])
    );
    fleet::apply(&app.db, &parse("fleet.toml", &fleet).expect("valid"), test_now()).await.expect("apply");
    let body = json!({ "service": "ledger", "version": "5.0.1", "digest": format!("sha256:{}", "9".repeat(64)),
                       "commit": "abc1234", "author": "bob" });
    let (status, created) = app.post_json("/api/v1/artifacts", &body).await;
    assert_eq!(status, 201, "{created}");
    let artifact = created["id"].as_str().expect("id").to_owned();
    let tests = json!({ "kind": "tests", "name": "unit", "status": "passed" });
    assert_eq!(app.post_json(&format!("/api/v1/artifacts/{artifact}/checks"), &tests).await.0, 201);

    let config = server::scheduler::SchedulerConfig::default();
    server::scheduler::tick(&app.db, crate::helpers::lead(&app.db).await, test_now(), &config)
        .await
        .expect("the regular trains are planned");
    let pat = app.user_with_roles("pat", &[("release_manager", Some("payments"))]).await;
    let sam = app.user_with_roles("sam", &[("release_manager", Some("search"))]).await;
    let start = |cookie: &str, body: serde_json::Value| {
        let cookie = cookie.to_owned();
        let app = &app;
        async move { app.send_as(Some(&cookie), Method::POST, "/api/v1/trains/emergency", Some(&body)).await }
    };
    let request =
        json!({ "definition": "payments-daily", "artifacts": [artifact], "reason": "card outage: hotfix for ledger" });
    assert_eq!(start(&sam, request.clone()).await.0, 403, "a release manager of another domain");
    let (status, body) =
        start(&pat, json!({ "definition": "payments-daily", "artifacts": [artifact], "reason": "now" })).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) =
        start(&pat, json!({ "definition": "nope", "artifacts": [artifact], "reason": "card outage: hotfix" })).await;
    assert_eq!(status, 422, "{body}");
    // One build per service: the same artifact twice, or two builds of ledger, are refused whole.
    let body = json!({ "service": "ledger", "version": "5.0.2", "digest": format!("sha256:{}", "8".repeat(64)),
                       "commit": "abc1235", "author": "bob" });
    let (status, second) = app.post_json("/api/v1/artifacts", &body).await;
    assert_eq!(status, 201, "{second}");
    let before = snapshot(&app.db).await;
    for twice in [[artifact.as_str(), artifact.as_str()], [artifact.as_str(), second["id"].as_str().expect("id")]] {
        let doubled = json!({ "definition": "payments-daily", "artifacts": twice, "reason": "card outage: hotfix" });
        let (status, body) = start(&pat, doubled).await;
        assert_eq!(status, 422, "{body}");
        assert!(body.contains("ledger is listed twice") && body.contains("one build per service"), "{body}");
    }
    assert_eq!(snapshot(&app.db).await, before, "nothing was opened");
    let (status, body) = start(&pat, request).await;
    assert_eq!(status, 201, "{body}");
    let train: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(train["kind"], "emergency");
    assert_eq!(train["reason"], "card outage: hotfix for ledger");
    let train_id = train["id"].as_str().expect("id").to_owned();

    let (_, listed) = app.get("/api/v1/trains?from=2026-11-27&to=2026-11-28").await;
    let listed: serde_json::Value = serde_json::from_str(&listed).expect("JSON");
    let kinds: Vec<&str> =
        listed["trains"].as_array().expect("trains").iter().filter_map(|t| t["kind"].as_str()).collect();
    assert!(kinds.contains(&"emergency") && kinds.contains(&"regular"), "{kinds:?}");
    let (_, page) = app.get("/").await;
    assert!(page.contains("EMERGENCY"), "the calendar marks it");

    let integrations = FleetIntegrations::new(app.db.clone(), Arc::new(app.clock.clone()), SimulatedMetrics::default())
        .expect("integrations");
    drive_train(&app.db, &integrations, &train_id, Instant::from_utc(test_now())).await;
    let mut conn = app.db.acquire().await.expect("connection");
    let (state,): (String,) = sqlx::query_as("SELECT state FROM trains WHERE id = $1")
        .bind(&train_id)
        .fetch_one(&mut *conn)
        .await
        .expect("train");
    assert_eq!(state, "completed", "no security scan was needed on the emergency path");
    let cargo = store::artifacts::train_candidates(&mut conn, &train_id).await.expect("cargo");
    assert_eq!(
        cargo.iter().map(|(a, s, _)| (a.as_str(), s.as_str())).collect::<Vec<_>>(),
        vec![(artifact.as_str(), "shipped")]
    );
    let events = store::trains::events(&mut conn, &train_id).await.expect("timeline");
    assert_eq!(events[0].actor, "user:pat");
    assert!(events[0].reason.contains("emergency train started by user:pat: card outage"), "{}", events[0].reason);
}
on_both_backends!(an_emergency_train_ships_listed_candidates_through_the_reduced_gates);

#[tokio::test]
async fn the_console_offers_emergency_trains_for_operable_definitions_and_its_form_starts_one() {
    let app = spawn_app(Backend::Sqlite, false).await;
    let fleet = format!("{}\n[[domain]]\nname = \"search\"\n", ledger_fleet("", "emergency_gates = [\"tests\"]", &[]))
        .replace(
            "name = \"ledger\"\ndomain = \"payments\"\n",
            "name = \"ledger\"\ndomain = \"payments\"\non_call = \"#ledger-oncall\"\nrunbook = \"https://wiki.example.com/ledger\"\n",
        );
    fleet::apply(&app.db, &parse("fleet.toml", &fleet).expect("valid"), test_now()).await.expect("apply");
    let artifact = crate::helpers::register_build(&app, "ledger", "5.0.2", '8', "1.0").await;
    let pat = app.user_with_roles("pat", &[("release_manager", Some("payments"))]).await;
    let sam = app.user_with_roles("sam", &[("release_manager", Some("search"))]).await;
    let (status, console) = app.call_rpc(&pat, "console", "").await;
    assert_eq!(status, 200, "{console}");
    let console: serde_json::Value = serde_json::from_str(&console).expect("JSON");
    assert_eq!(console["emergency"][0]["definition"], "payments-daily");
    assert_eq!(console["emergency"][0]["candidates"][0]["artifact_id"], artifact.as_str());
    let (_, console) = app.call_rpc(&sam, "console", "").await;
    let console: serde_json::Value = serde_json::from_str(&console).expect("JSON");
    assert_eq!(console["emergency"], json!([]), "nothing to start outside one's domain");

    // What the console's form sends: the ticked checkboxes are artifacts[i].
    let form = |ticked: &str| format!("definition=payments-daily{ticked}&reason=card+outage%3A+hotfix+for+ledger");
    let (status, body) = app.call_rpc(&pat, "start_emergency", &form("")).await;
    assert_eq!(status, 400, "nothing ticked: {body}");
    assert!(body.contains("artifact ids"), "{body}");
    let (status, body) = app.call_rpc(&sam, "start_emergency", &form(&format!("&artifacts%5B0%5D={artifact}"))).await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = app.call_rpc(&pat, "start_emergency", &form(&format!("&artifacts%5B0%5D={artifact}"))).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("emergency train of payments-daily started"), "{body}");
    let mut conn = app.db.acquire().await.expect("connection");
    let (kind, reason): (String, String) = sqlx::query_as("SELECT kind, reason FROM trains WHERE kind = 'emergency'")
        .fetch_one(&mut *conn)
        .await
        .expect("one emergency train");
    assert_eq!((kind.as_str(), reason.as_str()), ("emergency", "card outage: hotfix for ledger"));
    // The emergency train is in flight: the console names whom to call for each of its services.
    let (_, trains) = app.call_rpc(&pat, "console", "").await;
    let trains: serde_json::Value = serde_json::from_str(&trains).expect("JSON");
    let contacts: Vec<&serde_json::Value> = trains["trains"]
        .as_array()
        .expect("trains")
        .iter()
        .flat_map(|t| t["services"].as_array().expect("services"))
        .collect();
    assert!(
        contacts
            .iter()
            .any(|c| c["on_call"] == "#ledger-oncall" && c["runbook_url"] == "https://wiki.example.com/ledger"),
        "each train names whom to call: {contacts:?}"
    );
}

#[tokio::test]
async fn a_hotfix_runs_the_gates_and_approval_its_kind_is_configured_with() {
    let app = spawn_app(Backend::Sqlite, false).await;
    let fleet = format!(
        "{}\n[[kind]]\nname = \"hotfix\"\ngates = [\"tests\"]\napproval = true\n",
        ledger_fleet("", "gates = [\"tests\", \"security_scan\"]", &[])
    );
    fleet::apply(&app.db, &parse("fleet.toml", &fleet).expect("valid"), test_now()).await.expect("apply");
    let artifact = crate::helpers::register_build(&app, "ledger", "5.0.3", '7', "1.0").await;
    let pat = app.user_with_roles("pat", &[("release_manager", Some("payments"))]).await;
    let body = json!({ "definition": "payments-daily", "artifacts": [artifact], "reason": "one-line fix for the card outage",
                       "kind": "hotfix" });
    let (status, text) = app.send_as(Some(&pat), Method::POST, "/api/v1/trains/emergency", Some(&body)).await;
    assert_eq!(status, 201, "{text}");
    let train: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(train["kind"], "hotfix");
    let train_id = train["id"].as_str().expect("id").to_owned();
    let integrations = FleetIntegrations::new(app.db.clone(), Arc::new(app.clock.clone()), SimulatedMetrics::default())
        .expect("integrations");
    let fence = crate::helpers::lead(&app.db).await;
    let now = Instant::from_utc(test_now());
    while server::runtime::work(&app.db, fence, &integrations, now, 100).await.expect("work") > 0 {}
    let run = server::runtime::load(&app.db, &train_id).await.expect("state");
    let gates: Vec<(&str, &str)> = run.candidates[0].gates.iter().map(|g| (g.name.as_str(), g.state.name())).collect();
    assert_eq!(gates, vec![("tests", "passed"), ("compliance", "awaiting")], "the hotfix policy, not the definition's");
    // An emergency kind nobody configured needs no approvals: the default the README states.
    let other = crate::helpers::register_build(&app, "ledger", "5.0.4", '8', "1.0").await;
    let body =
        json!({ "definition": "payments-daily", "artifacts": [other], "reason": "second fix", "kind": "emergency" });
    let (status, text) = app.send_as(Some(&pat), Method::POST, "/api/v1/trains/emergency", Some(&body)).await;
    assert_eq!(status, 201, "{text}");
    let emergency: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    while server::runtime::work(&app.db, fence, &integrations, now, 100).await.expect("work") > 0 {}
    let emergency = server::runtime::load(&app.db, emergency["id"].as_str().expect("id")).await.expect("state");
    let names: Vec<&str> = emergency.candidates[0].gates.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, vec!["tests"], "an emergency kind without `approval = true` has no compliance gate");
    let wrong = json!({ "definition": "payments-daily", "artifacts": [artifact], "reason": "one-line fix for the card outage",
                        "kind": "rehearsal" });
    let (status, text) = app.send_as(Some(&pat), Method::POST, "/api/v1/trains/emergency", Some(&wrong)).await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("/api/v1/trains/rehearsal"), "{text}");
}
