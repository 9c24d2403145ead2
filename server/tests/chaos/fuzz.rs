//! schemathesis (from PyPI, installed by `scripts/setup`) against the served
//! OpenAPI document with a CI token: thousands of generated requests, no 5xx,
//! and every answer as the document says (status, content type, body schema).

use std::path::PathBuf;
use std::process::Command;

use serde_json::json;

use crate::support::{self, Replica};

fn schemathesis() -> PathBuf {
    let st = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/toolchain/schemathesis/bin/st");
    assert!(st.exists(), "schemathesis is missing at {}: run scripts/setup", st.display());
    st
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_requests_get_no_5xx_and_only_documented_answers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("railyard.db").display());
    let seen = support::SharedDeployer::default();
    let deployer = support::start_deployer(seen).await;
    support::apply_fleet(&url, dir.path(), &deployer);
    let client = support::client();
    let replica = Replica::start("fuzzed", &url, support::free_port(), &dir.path().join("railyard.log"), ("15s", "5s"));
    replica.until_up(&client).await;
    // Something to find: builds, and a train carrying one of them.
    let (cookie, artifacts) = support::release_manager_and_builds(&client, &replica.address, 2).await;
    support::emergency_trains(&client, &replica.address, &cookie, &artifacts[..1]).await;
    let admin = support::sign_in(&client, &replica.address, "admin", support::ADMIN_PASSWORD).await;
    let scopes = json!({ "name": "fuzz", "scopes": ["read", "artifacts:write", "checks:write", "incidents:write"] });
    let (status, token) =
        support::post_json(&client, &format!("{}/api/v1/tokens", replica.address), &admin, &scopes).await;
    assert_eq!(status, 201);
    let token = token["token"].as_str().expect("token").to_owned();

    let output = Command::new(schemathesis())
        .current_dir(dir.path())
        .args(["run", &format!("{}/api/v1/openapi.json", replica.address)])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
        ])
        .args(["--max-examples", "60", "--seed", "20261127", "--no-color"])
        .output()
        .expect("schemathesis runs");
    let report = String::from_utf8_lossy(&output.stdout);
    let generated = report
        .lines()
        .find_map(|line| line.trim().split_once(" generated").and_then(|(n, _)| n.trim().parse::<u64>().ok()))
        .unwrap_or(0);
    eprintln!("schemathesis: {generated} generated requests");
    assert!(
        output.status.success(),
        "schemathesis found failures:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(generated >= 1_000, "at least 1,000 generated requests, got {generated}:\n{report}");
    assert!(!replica.log_text().contains("panicked"), "the server never panicked");
}
