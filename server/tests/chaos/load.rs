//! A bounded load test on the embedded SQLite store: wrk with 100
//! connections for 60 s of mixed reads and writes through the API. Every
//! answer must be a success and no "database is locked" may reach a client;
//! the latency percentiles are printed.

use std::collections::HashMap;
use std::process::Command;

use serde_json::json;

use crate::support::{self, Replica};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_clients_for_a_minute_get_only_successes_and_never_a_locked_database() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("railyard.db").display());
    let deployer = support::start_deployer(support::SharedDeployer::default()).await;
    support::apply_fleet(&url, dir.path(), &deployer);
    let client = support::client();
    let replica = Replica::start("loaded", &url, support::free_port(), &dir.path().join("railyard.log"), ("15s", "5s"));
    replica.until_up(&client).await;
    let (cookie, artifacts) = support::release_manager_and_builds(&client, &replica.address, 1).await;
    let trains = support::emergency_trains(&client, &replica.address, &cookie, &artifacts).await;
    let admin = support::sign_in(&client, &replica.address, "admin", support::ADMIN_PASSWORD).await;
    let scopes = json!({ "name": "load", "scopes": ["read", "artifacts:write", "checks:write"] });
    let (status, token) =
        support::post_json(&client, &format!("{}/api/v1/tokens", replica.address), &admin, &scopes).await;
    assert_eq!(status, 201);

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/chaos/load.lua");
    let output = Command::new("wrk")
        .args(["--threads", "2", "--connections", "100", "--duration", "60s", "--timeout", "10s", "--latency"])
        .args(["--script", script, &replica.address])
        .env("RAILYARD_LOAD_TOKEN", token["token"].as_str().expect("token"))
        .env("RAILYARD_LOAD_TRAIN", &trains[0])
        .env("RAILYARD_LOAD_ARTIFACT", &artifacts[0])
        .output()
        .expect("wrk runs (scripts/setup installs it)");
    let report = String::from_utf8_lossy(&output.stdout);
    eprintln!("{report}{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "wrk failed");
    let figures: HashMap<&str, f64> = report
        .lines()
        .filter_map(|line| line.strip_prefix("railyard "))
        .filter_map(|line| line.split_once(' '))
        .filter_map(|(name, value)| Some((name, value.parse().ok()?)))
        .collect();
    let figure = |name: &str| *figures.get(name).unwrap_or_else(|| panic!("wrk reported no {name}: {report}"));
    assert!(figure("requests") > 1_000.0, "the server was actually loaded");
    assert!(figure("writes") > 100.0, "writes were part of the mix");
    assert_eq!(figure("failures"), 0.0, "every answer was a success");
    assert_eq!(figure("socket_errors"), 0.0, "no connection was refused, reset or timed out");
    assert_eq!(figure("locked"), 0.0, "no \"database is locked\" reached a client");
    eprintln!("load: p50 {} ms, p99 {} ms over {} requests", figure("p50_ms"), figure("p99_ms"), figure("requests"));
    let log = replica.log_text();
    assert!(!log.contains("database is locked"), "nor was one logged");
}
