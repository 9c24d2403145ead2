//! A canary judged by a Prometheus that fails mid-analysis — stopped, slower
//! than the timeout, or answering garbage — never passes: the analysis is
//! inconclusive, the train is held for a person, and the server carries on.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::routing::get;
use axum::Router;
use chrono::Duration as Span;
use serde_json::{json, Value};
use server::fleet::{self, parse};
use server::integrations::{FleetIntegrations, SimulatedMetrics, Timeouts};
use server::runtime;
use server::scheduler::{tick, SchedulerConfig};
use server::time::Instant;
use server::train_state::TrainState;
use tokio::task::JoinHandle;

use crate::helpers::{lead, ledger_fleet, register_build, spawn_app, test_now, train_in_state, Backend};

/// How the fake Prometheus misbehaves once its first query has been answered.
#[derive(Debug, Clone, Copy)]
enum Fault {
    Stopped,
    Slow,
    Garbage,
}

struct FakePrometheus {
    fault: Fault,
    queries: AtomicU64,
    /// The server task, aborted to play a Prometheus that went away.
    server: Mutex<Option<JoinHandle<()>>>,
}

/// Healthy answers for the first query (one series of twenty samples), then the fault.
async fn query_range(State(fake): State<Arc<FakePrometheus>>, Query(query): Query<Vec<(String, String)>>) -> String {
    let start: f64 = query.iter().find(|(k, _)| k == "start").and_then(|(_, v)| v.parse().ok()).unwrap_or(0.0);
    if fake.queries.fetch_add(1, Ordering::SeqCst) == 0 {
        let values: Vec<Value> = (0..20).map(|i| json!([start + f64::from(i), format!("{}", 100 + i % 3)])).collect();
        let result = json!([{ "metric": {}, "values": values }]);
        return json!({ "status": "success", "data": { "resultType": "matrix", "result": result } }).to_string();
    }
    match fake.fault {
        Fault::Garbage => "<html><body>502 Bad Gateway (nginx)</body></html>".to_owned(),
        Fault::Slow => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            "{}".to_owned()
        }
        Fault::Stopped => {
            if let Some(server) = fake.server.lock().unwrap_or_else(PoisonError::into_inner).take() {
                server.abort();
            }
            std::future::pending().await
        }
    }
}

async fn a_prometheus_failing_mid_analysis_holds_the_train(fault: Fault) {
    let fake = Arc::new(FakePrometheus { fault, queries: AtomicU64::new(0), server: Mutex::new(None) });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let routes = Router::new().route("/api/v1/query_range", get(query_range)).with_state(fake.clone());
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, routes).await;
    });
    *fake.server.lock().unwrap_or_else(PoisonError::into_inner) = Some(server);

    let metric =
        "\n[[train.metric]]\nname = \"p95 latency\"\nquery = 'latency{service=\"{service}\",track=\"{track}\"}'\n\
                  direction = \"increase\"\nallowed_increase = 0.1\n";
    let train = format!(
        "monitoring = \"5m\"\nmetrics_provider = \"prometheus\"\nprometheus_url = \"http://{address}\"\n{metric}"
    );
    let fleet_file =
        ledger_fleet("", &train, &[("canary 10%", "production", 10, "5m"), ("100%", "production", 100, "0s")]);
    let app = spawn_app(Backend::Sqlite, false).await;
    fleet::apply(&app.db, &parse("fleet.toml", &fleet_file).expect("valid"), test_now()).await.expect("apply");
    register_build(&app, "ledger", "3.0.0", 'c', "1.0").await;
    let opened = test_now() + Span::hours(1);
    tick(&app.db, lead(&app.db).await, opened, &SchedulerConfig::default()).await.expect("tick");
    let timeouts = Timeouts { prometheus: Duration::from_secs(1), ..Timeouts::default() };
    let integrations = FleetIntegrations::with_timeouts(
        app.db.clone(),
        Arc::new(app.clock.clone()),
        SimulatedMetrics::default(),
        timeouts,
    )
    .expect("integrations");
    let train_id = train_in_state(&app.db, "planning").await;

    let fence = lead(&app.db).await;
    let mut now = Instant::from_utc(opened);
    let mut phase = TrainState::Planning;
    for _ in 0..6 * 60 {
        runtime::work(&app.db, fence, &integrations, now, 100).await.expect("the runtime copes with the fault");
        phase = runtime::load(&app.db, &train_id).await.expect("state").phase;
        if phase == TrainState::Held || phase.is_final() {
            break;
        }
        now += 60_000;
    }
    assert_eq!(phase, TrainState::Held, "{fault:?}: inconclusive holds the train, never promotes it");
    assert!(fake.queries.load(Ordering::SeqCst) >= 2, "the fault struck mid-analysis, after a healthy answer");
    let (status, detail) = app.get(&format!("/api/v1/trains/{train_id}")).await;
    assert_eq!(status, 200, "the server carries on");
    let detail: Value = serde_json::from_str(&detail).expect("json");
    let timeline = detail["timeline"].to_string();
    assert!(timeline.contains("inconclusive"), "{fault:?}: the hold says why: {timeline}");
    assert!(!timeline.contains("\"completed\""), "{timeline}");
    assert_eq!(app.get("/healthz").await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_stopped_mid_analysis_holds_the_train() {
    a_prometheus_failing_mid_analysis_holds_the_train(Fault::Stopped).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_slower_than_the_timeout_holds_the_train() {
    a_prometheus_failing_mid_analysis_holds_the_train(Fault::Slow).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_answering_garbage_holds_the_train() {
    a_prometheus_failing_mid_analysis_holds_the_train(Fault::Garbage).await;
}
