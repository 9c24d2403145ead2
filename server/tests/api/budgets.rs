//! Error budgets on whole trains: a service that has spent its budget
//! misses the train (and may board the next), a canary burning its budget
//! past the fast-burn rule is rolled back before the judge, and every
//! finished rollout records what it cost (M7, M8), exported on `/metrics`
//! with the rollout figures (M2, M4, M5, M9).

use std::sync::Arc;

use chrono::Duration;
use serde_json::Value;
use server::fleet::{self, parse};
use server::integrations::{FleetIntegrations, SimulatedMetrics};
use server::scheduler::{tick, SchedulerConfig};
use server::store;
use server::time::Instant;

use crate::helpers::{drive_train, register_build, spawn_app, test_now, train_in_state, Backend, TestApp};
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
slo = { target = 0.999, window = "28d" }

[[service]]
name = "billing"
domain = "payments"
slo = { target = 0.999, window = "28d" }

[[train]]
name = "payments-daily"
domain = "payments"
services = ["ledger", "checkout", "billing"]
cadence = "FREQ=DAILY;BYHOUR=14"
time_zone = "UTC"
starts = "2026-01-01"
planning_window = "1h"
cutover_window = "2h"
preflight = "30m"
monitoring = "10m"
gates = ["tests", "security_scan", "error_budget"]

[[train.step]]
name = "canary 10% eu-west"
environment = "production"
weight = 10
soak = "10m"
region = "eu-west"

[[train.step]]
name = "100%"
environment = "production"
weight = 100
soak = "0s"
"#;

/// Applies the fleet, registers a passing build of each service, and drives the day's train to its end.
pub async fn run_train(app: &TestApp, metrics: SimulatedMetrics) -> (String, Vec<String>, Value) {
    fleet::apply(&app.db, &parse("fleet.toml", FLEET).expect("valid"), test_now()).await.expect("apply");
    let mut artifacts = Vec::new();
    for (service, digit) in [("ledger", 'a'), ("checkout", 'b'), ("billing", 'c')] {
        artifacts.push(register_build(app, service, "2.0.0", digit, "3.1").await);
    }
    let opened_at = test_now() + Duration::hours(1);
    tick(&app.db, crate::helpers::lead(&app.db).await, opened_at, &SchedulerConfig::default()).await.expect("tick");
    let integrations =
        FleetIntegrations::new(app.db.clone(), Arc::new(app.clock.clone()), metrics).expect("integrations");
    let train_id = train_in_state(&app.db, "planning").await;
    drive_train(&app.db, &integrations, &train_id, Instant::from_utc(opened_at)).await;
    let (status, text) = app.get(&format!("/api/v1/trains/{train_id}")).await;
    assert_eq!(status, 200, "{text}");
    (train_id, artifacts, serde_json::from_str(&text).expect("json"))
}

fn measurement<'a>(detail: &'a Value, service: &str) -> &'a Value {
    detail["measurements"]
        .as_array()
        .expect("measurements")
        .iter()
        .find(|m| m["service"] == service)
        .unwrap_or_else(|| panic!("{service} was measured: {detail}"))
}

/// The value of the unlabelled or labelled sample `name` in an OpenMetrics text.
fn sample(metrics: &str, name: &str) -> f64 {
    let line =
        metrics.lines().find(|l| l.starts_with(&format!("{name} "))).unwrap_or_else(|| panic!("{name} in {metrics}"));
    line.rsplit(' ').next().and_then(|v| v.parse().ok()).expect("a number")
}

async fn an_exhausted_budget_defers_a_candidate_and_a_fast_burn_rolls_the_canary_back(backend: Backend) {
    let app = spawn_app(backend, false).await;
    let metrics = SimulatedMetrics {
        burning: Some(("checkout".into(), 1, 1)),
        exhausted: vec!["billing".into()],
        ..SimulatedMetrics::default()
    };
    let (_, artifacts, detail) = run_train(&app, metrics).await;
    assert_eq!(detail["state"], "rolled_back", "{detail}");
    let reasons: Vec<&str> =
        detail["timeline"].as_array().expect("timeline").iter().filter_map(|e| e["reason"].as_str()).collect();
    let burn = reasons
        .iter()
        .find(|r| r.contains("error budget burning past the fast-burn threshold"))
        .unwrap_or_else(|| panic!("a fast-burn rollback: {reasons:?}"));
    assert!(burn.starts_with("canary 10% eu-west: ") && burn.contains("checkout burns"), "{burn}");
    assert!(!reasons.iter().any(|r| r.contains("canary judge")), "rolled back before the judge: {reasons:?}");

    let billing =
        detail["cargo"].as_array().expect("cargo").iter().find(|c| c["service"] == "billing").expect("billing");
    assert_eq!(billing["status"], "missed");
    let reason = billing["reason"].as_str().expect("reason");
    assert!(reason.contains("error budget exhausted: -50.0% of the error budget left"), "{reason}");
    let (_, text) = app.get(&format!("/api/v1/artifacts/{}", artifacts[2])).await;
    let artifact: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(artifact["rejected"], Value::Null, "a spent budget is not the artifact's fault: {artifact}");
    let mut conn = app.db.acquire().await.expect("connection");
    let service = store::services::by_name(&mut conn, "billing").await.expect("query").expect("service");
    let boardable = store::artifacts::newest_boardable(&mut conn, &[service.id]).await.expect("query");
    assert_eq!(boardable.len(), 1, "billing 2.0.0 can board the next train");
    drop(conn);

    // The crash loop ran from the canary's start until its rollback finished: a few percent of a 28-day budget.
    let checkout = measurement(&detail, "checkout");
    let consumed = checkout["budget_consumed"].as_f64().expect("consumed");
    assert!((0.01..0.2).contains(&consumed), "checkout spent {consumed} of its budget");
    assert!(checkout["bad_events"].as_i64().expect("bad") > 1000);
    let ledger = measurement(&detail, "ledger")["budget_consumed"].as_f64().expect("consumed");
    assert!(ledger < consumed / 50.0, "healthy ledger spent {ledger}");
    assert!(detail["measurements"].as_array().expect("list").iter().all(|m| m["service"] != "billing"));

    let (_, metrics) = app.get("/metrics").await;
    assert_eq!(sample(&metrics, "railyard_canary_failure_ratio"), 1.0, "M5: the one canary failed its checks");
    assert_eq!(sample(&metrics, "railyard_rollout_region_success_ratio{region=\"eu-west\"}"), 0.0, "M9: {metrics}");
    let domain = sample(&metrics, "railyard_error_budget_consumed_ratio{domain=\"payments\"}");
    assert!((domain - (consumed + ledger) / 2.0).abs() < 1e-9, "M7 per domain is the mean over measured services");
    assert_eq!(sample(&metrics, "railyard_error_budget_overspent_train_ratio"), 0.0, "M7: none spent 20%");
}
on_both_backends!(an_exhausted_budget_defers_a_candidate_and_a_fast_burn_rolls_the_canary_back);

async fn a_healthy_train_records_its_rollout_figures(backend: Backend) {
    let app = spawn_app(backend, false).await;
    let (train_id, _, detail) = run_train(&app, SimulatedMetrics::default()).await;
    assert_eq!(detail["state"], "completed", "{detail}");
    // The train page shows the same record, server-rendered.
    let (status, html) = app.get(&format!("/trains/{train_id}")).await;
    assert_eq!(status, 200);
    for part in [
        "payments-daily",
        "Cargo",
        "✓ error_budget: passed",
        "canary 10% eu-west: pass, score 100",
        "p95 latency of ledger, checkout, billing: canary against baseline",
        "dry run, not scored",
        "Phases",
        "Release notes: payments-daily",
        "Audit trail",
        "artifact.registered",
        "No approval was asked for or given.",
        "Budget consumed",
        "every rollout step succeeded",
    ] {
        assert!(html.contains(part), "the train page shows {part}");
    }
    let ledger = measurement(&detail, "ledger");
    let (before, during) = (
        ledger["p95_latency_before_seconds"].as_f64().expect("before"),
        ledger["p95_latency_during_seconds"].as_f64().expect("during"),
    );
    assert!((0.15..0.25).contains(&before) && ((during - before) / before).abs() < 0.05, "{before} → {during}");
    assert!(ledger["budget_remaining"].as_f64().expect("remaining") > 0.7);

    // The canary's analysis is kept with its evidence, for people and charts.
    let analysis = &detail["canary_analyses"][0];
    assert_eq!((analysis["step"].as_i64(), analysis["verdict"].as_str()), (Some(0), Some("pass")), "{analysis}");
    let latency = &analysis["report"]["metrics"][0];
    assert_eq!(latency["metric"], "p95 latency");
    assert_eq!(latency["canary"].as_array().expect("samples").len(), 120);
    assert!(latency["evidence"]["mann_whitney"]["p_value"].as_f64().is_some(), "{latency}");
    assert!(latency["evidence"]["shift"]["estimate"].as_f64().is_some(), "{latency}");
    assert_eq!(analysis["report"]["scorecard"]["score"].as_f64(), Some(100.0));
    // The simulated p99 latency runs 6% slow on every canary: judged and kept, never scored.
    let tail = &analysis["report"]["metrics"][2];
    assert_eq!((tail["metric"].as_str(), tail["dry_run"].as_bool()), (Some("p99 latency"), Some(true)), "{tail}");
    assert_eq!(tail["evidence"]["verdict"], "high", "{tail}");

    let (_, metrics) = app.get("/metrics").await;
    assert_eq!(sample(&metrics, "railyard_roll_forward_seconds_mean"), 600.0, "M2: one 10-minute canary soak");
    assert_eq!(sample(&metrics, "railyard_deployment_seconds_mean"), 0.0, "M4: the simulated deployer is instant");
    assert_eq!(sample(&metrics, "railyard_canary_failure_ratio"), 0.0, "M5");
    assert_eq!(sample(&metrics, "railyard_rollout_region_success_ratio{region=\"eu-west\"}"), 1.0, "M9");
    assert_eq!(sample(&metrics, "railyard_rollout_region_success_ratio{region=\"all\"}"), 1.0, "M9");
    assert!(sample(&metrics, "railyard_latency_delta_ratio_mean").abs() < 0.05, "M8");
    assert!(sample(&metrics, "railyard_error_budget_remaining_ratio{service=\"checkout\"}") > 0.7);
}
on_both_backends!(a_healthy_train_records_its_rollout_figures);

async fn the_budget_pages_chart_the_sampled_history_with_the_trains_marked(backend: Backend) {
    let app = spawn_app(backend, false).await;
    let metrics = SimulatedMetrics {
        burning: Some(("checkout".into(), 1, 1)),
        exhausted: vec!["billing".into()],
        ..SimulatedMetrics::default()
    };
    let (train_id, _, detail) = run_train(&app, metrics.clone()).await;
    let consumed = measurement(&detail, "checkout")["budget_consumed"].as_f64().expect("consumed");
    // Two hours after the train, the sampler back-fills the 28-day window from the provider.
    let now = test_now() + Duration::hours(6);
    app.clock.set(now);
    let integrations =
        FleetIntegrations::new(app.db.clone(), Arc::new(app.clock.clone()), metrics).expect("integrations");
    let stored = integrations.sample_budgets(Instant::from_utc(now)).await.expect("sampling");
    assert_eq!(stored, 3 * 28 * 48, "every half hour of 28 days, for each of the three services");
    let again = integrations.sample_budgets(Instant::from_utc(now)).await.expect("sampling");
    assert_eq!(again, 3 * 7, "a second pass only retakes the last three hours");

    let (status, html) = app.get("/budgets").await;
    assert_eq!(status, 200, "{html}");
    for part in ["payments", "href=\"/budgets/checkout\"", "99.9% over 28 days", "✗ exhausted", "✓ healthy"] {
        assert!(html.contains(part), "the overview shows {part}");
    }

    let (status, html) = app.get("/budgets/checkout").await;
    assert_eq!(status, 200, "{html}");
    let markers = html.matches("class=\"marker\"").count();
    assert_eq!(markers, 2, "the one train's cutover is marked on both charts");
    for part in [
        "checkout: error budget left over the 28 days",
        "budget left (%)",
        "fast burn 14.4×",
        "slow burn 6×",
        "payments-daily cutover (rolled back)",
        &format!("href=\"/trains/{train_id}\""),
        &format!("{:.1}%", consumed * 100.0),
        "checkout: error budget left over the 28 days as a table",
    ] {
        assert!(html.contains(part), "the service page shows {part}");
    }
    // The crash loop shows: the newest budget sample is lower than the one before the train.
    let mut conn = app.db.acquire().await.expect("connection");
    let samples = store::budget_samples::of_service(&mut conn, "checkout", Instant::from_ms(0)).await.expect("samples");
    let before = samples.iter().rfind(|s| s.at < Instant::from_utc(test_now())).expect("a sample before the train");
    let after = samples.last().expect("the newest sample");
    assert!(
        (before.remaining - after.remaining - consumed).abs() < 0.01,
        "the train cost {consumed}: {} → {}",
        before.remaining,
        after.remaining
    );
    assert!(samples.iter().any(|s| s.burn_rate.is_some_and(|b| b > 14.4)), "the crash loop's hour burns fast");
    drop(conn);

    // The executive dashboard sums the same story up.
    let (status, html) = app.get("/").await;
    assert_eq!(status, 200, "{html}");
    for part in [
        "M1 · release success</span><strong class=\"kpi-value\">0%",
        "M3 · mean time to roll back",
        "M10 · security gate pass rate</span><strong class=\"kpi-value\">100%",
        "<th scope=\"row\">eu-west</th><td>0%</td>",
        "✗ exhausted: billing",
        "each train spent",
        "Next cutovers",
    ] {
        assert!(html.contains(part), "the dashboard shows {part}");
    }

    let (status, html) = app.get("/budgets/nonexistent").await;
    assert_eq!(status, 404, "{html}");
    assert!(html.contains("no service \"nonexistent\" with an SLO"), "{html}");
}
on_both_backends!(the_budget_pages_chart_the_sampled_history_with_the_trains_marked);

async fn the_gate_board_shows_each_train_s_gates_and_drills_into_their_evidence(backend: Backend) {
    let app = spawn_app(backend, false).await;
    let metrics = SimulatedMetrics { exhausted: vec!["billing".into()], ..SimulatedMetrics::default() };
    let (train_id, _, _) = run_train(&app, metrics).await;
    app.clock.set(test_now() + Duration::hours(6));
    let (status, html) = app.get("/gates").await;
    assert_eq!(status, 200, "{html}");
    for part in [
        "<th scope=\"col\">tests</th>",
        "<th scope=\"col\">security_scan</th>",
        "<th scope=\"col\">error_budget</th>",
        "payments-daily",
        "3 passed",
        "Flakiness over the 1 train shown",
    ] {
        assert!(html.contains(part), "the board shows {part}");
    }
    assert!(html.contains("gate-deferred"), "the budget cell reads as deferred");
    let budget_cell = format!("/gates?last=20&amp;train={train_id}&amp;gate=error_budget#evidence");
    assert!(html.contains(&budget_cell), "each cell links to its evidence");

    let (status, html) = app.get(&format!("/gates?train={train_id}&gate=error_budget")).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("error_budget in payments-daily"), "{html}");
    // Deferred (it waits for a later train), not failed (that would reject the build).
    assert!(html.contains("billing: deferred — error budget exhausted"), "the candidate's state and why: {html}");
    assert!(html.contains("-50.0% of the error budget left"), "the gate's answer as recorded");

    let (status, html) = app.get("/gates?last=0").await;
    assert_eq!(status, 400);
    assert!(html.contains("must be a number of trains from 1 to 200"), "{html}");
    let (status, _) = app.get("/gates?domain=nowhere").await;
    assert_eq!(status, 404);
}
on_both_backends!(the_gate_board_shows_each_train_s_gates_and_drills_into_their_evidence);

async fn an_errored_gate_waits_in_the_console_until_a_release_manager_waives_it(backend: Backend) {
    let app = spawn_app(backend, false).await;
    fleet::apply(&app.db, &parse("fleet.toml", FLEET).expect("valid"), test_now()).await.expect("apply");
    let mut artifacts = Vec::new();
    for (service, digit) in [("ledger", 'a'), ("checkout", 'b'), ("billing", 'c')] {
        artifacts.push(register_build(&app, service, "2.0.0", digit, "3.1").await);
    }
    // The CI runner died: the newest test result for ledger is an error, not a verdict.
    let errored = serde_json::json!({ "kind": "tests", "name": "unit", "status": "errored", "summary": "runner lost" });
    assert_eq!(app.post_json(&format!("/api/v1/artifacts/{}/checks", artifacts[0]), &errored).await.0, 201);
    let opened_at = test_now() + Duration::hours(1);
    tick(&app.db, crate::helpers::lead(&app.db).await, opened_at, &SchedulerConfig::default()).await.expect("tick");
    let integrations = FleetIntegrations::new(app.db.clone(), Arc::new(app.clock.clone()), SimulatedMetrics::default())
        .expect("integrations");
    let train_id = train_in_state(&app.db, "planning").await;
    let mut now = Instant::from_utc(opened_at);
    for _ in 0..120 {
        while server::runtime::work(&app.db, crate::helpers::lead(&app.db).await, &integrations, now, 100)
            .await
            .expect("work")
            > 0
        {}
        if server::runtime::load(&app.db, &train_id).await.expect("state").phase.as_str() == "held" {
            break;
        }
        now += 60_000;
    }
    let (viewer, rm) = (
        app.user_with_roles("vera", &[("viewer", None)]).await,
        app.user_with_roles("rita", &[("release_manager", Some("payments"))]).await,
    );
    let (_, text) = app.call_rpc(&viewer, "console", "").await;
    assert!(text.contains("\"undecided\":[]"), "a viewer is not asked to decide: {text}");
    let (status, text) = app.call_rpc(&rm, "console", "").await;
    assert_eq!(status, 200, "{text}");
    let console: Value = serde_json::from_str(&text).expect("json");
    let undecided = console["undecided"].as_array().expect("undecided gates");
    assert_eq!(undecided.len(), 1, "{console}");
    assert_eq!((undecided[0]["service"].as_str(), undecided[0]["gate"].as_str()), (Some("ledger"), Some("tests")));
    assert_eq!(undecided[0]["state"], "errored");
    assert!(undecided[0]["detail"].as_str().is_some_and(|d| d.contains("runner lost")), "{undecided:?}");

    let form = format!("train_id={train_id}&artifact_id={}&gate=tests&reason=", artifacts[0]);
    let (status, _) = app.call_rpc(&viewer, "waive_gate", &format!("{form}viewer+says+so")).await;
    assert_eq!(status, 403, "a viewer may not waive");
    let (status, text) = app.call_rpc(&rm, "waive_gate", &form).await;
    assert_eq!(status, 400, "a waiver needs a reason: {text}");
    let (status, text) = app.call_rpc(&rm, "waive_gate", &format!("{form}runner+outage%2C+tests+green+locally")).await;
    assert_eq!(status, 200, "{text}");
    let (_, text) = app.call_rpc(&rm, "console", "").await;
    let console: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(console["undecided"].as_array().map(Vec::len), Some(0), "nothing waits any more: {console}");
    let (_, html) = app.get(&format!("/trains/{train_id}")).await;
    assert!(html.contains("⚑ tests: waived"), "the train page shows the waiver");
}
on_both_backends!(an_errored_gate_waits_in_the_console_until_a_release_manager_waives_it);

/// Opens the day's train over FLEET with passing builds and works it until it reaches `phase`.
async fn train_in_phase(app: &TestApp, integrations: &FleetIntegrations, phase: &str) -> (String, Instant) {
    fleet::apply(&app.db, &parse("fleet.toml", FLEET).expect("valid"), test_now()).await.expect("apply");
    for (service, digit) in [("ledger", 'a'), ("checkout", 'b'), ("billing", 'c')] {
        register_build(app, service, "2.0.0", digit, "3.1").await;
    }
    let opened_at = test_now() + Duration::hours(1);
    tick(&app.db, crate::helpers::lead(&app.db).await, opened_at, &SchedulerConfig::default()).await.expect("tick");
    let train_id = train_in_state(&app.db, "planning").await;
    let mut now = Instant::from_utc(opened_at);
    for _ in 0..24 * 60 {
        server::runtime::sync_freezes(&app.db, crate::helpers::lead(&app.db).await, now).await.expect("freezes");
        while server::runtime::work(&app.db, crate::helpers::lead(&app.db).await, integrations, now, 100)
            .await
            .expect("work")
            > 0
        {}
        if server::runtime::load(&app.db, &train_id).await.expect("state").phase.as_str() == phase {
            return (train_id, now);
        }
        now += 60_000;
    }
    panic!("the train never reached {phase}");
}

async fn the_console_s_promote_and_roll_back_move_the_train_and_its_page_says_so(backend: Backend) {
    let app = spawn_app(backend, false).await;
    let integrations = FleetIntegrations::new(app.db.clone(), Arc::new(app.clock.clone()), SimulatedMetrics::default())
        .expect("integrations");
    let (train_id, now) = train_in_phase(&app, &integrations, "canary").await;
    let rm = app.user_with_roles("rita", &[("release_manager", Some("payments"))]).await;
    let viewer = app.user_with_roles("vera", &[("viewer", None)]).await;
    let act = |action: &str, reason: &str| format!("train_id={train_id}&action={action}&reason={reason}");

    let (status, _) = app.call_rpc(&viewer, "operate_train", &act("promote", "")).await;
    assert_eq!(status, 403, "a viewer may not promote");
    // Promote skips the canary's soak: the next step starts at once.
    let (status, text) = app.call_rpc(&rm, "operate_train", &act("promote", "")).await;
    assert_eq!(status, 200, "{text}");
    while server::runtime::work(&app.db, crate::helpers::lead(&app.db).await, &integrations, now, 100)
        .await
        .expect("work")
        > 0
    {}
    let run = server::runtime::load(&app.db, &train_id).await.expect("state");
    assert_eq!(run.current_step, 1, "on to the 100% step: {run:?}");

    let (status, text) = app.call_rpc(&rm, "operate_train", &act("roll_back", "")).await;
    assert_eq!(status, 400, "a rollback needs a reason: {text}");
    let (status, text) = app.call_rpc(&rm, "operate_train", &act("roll_back", "checkout+errors+in+the+logs")).await;
    assert_eq!(status, 200, "{text}");
    let mut later = now;
    for _ in 0..60 {
        while server::runtime::work(&app.db, crate::helpers::lead(&app.db).await, &integrations, later, 100)
            .await
            .expect("work")
            > 0
        {}
        if server::runtime::load(&app.db, &train_id).await.expect("state").phase.is_final() {
            break;
        }
        later += 60_000;
    }
    let (_, html) = app.get(&format!("/trains/{train_id}")).await;
    assert!(html.contains("phase phase-rolled_back"), "the page shows the rollback");
    assert!(html.contains("checkout errors in the logs"), "with the reason in the timeline");
    assert!(html.contains("train.operator_action"), "and in the audit trail");
    let (status, text) = app.call_rpc(&rm, "operate_train", &act("promote", "")).await;
    assert_eq!(status, 409, "a rolled-back train refuses a promote as a conflict, not as a bad request: {text}");
    assert!(text.contains("rolled"), "and says why: {text}");
}
on_both_backends!(the_console_s_promote_and_roll_back_move_the_train_and_its_page_says_so);
