//! schemathesis (from PyPI, installed by `scripts/setup`) against the served
//! OpenAPI document, twice: as a CI token and as a person holding every role.
//! Thousands of generated requests, no 5xx, every answer as the document says
//! (status, content type, body schema), and every operation reached past
//! authentication by at least one of the two callers.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::json;

use crate::support::{self, Replica, SERVICES};

fn schemathesis() -> PathBuf {
    let st = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/toolchain/schemathesis/bin/st");
    assert!(st.exists(), "schemathesis is missing at {}: run scripts/setup", st.display());
    st
}

/// What one schemathesis run said.
struct Report {
    text: String,
    passed: bool,
    generated: u64,
    /// Operations that only ever got 401 or 403.
    refused: BTreeSet<String>,
}

/// Runs schemathesis with `settings` as its `schemathesis.toml` and one extra header.
fn fuzz(dir: &Path, address: &str, header: &str, settings: &str) -> Report {
    std::fs::create_dir_all(dir).expect("run directory");
    std::fs::write(dir.join("schemathesis.toml"), settings).expect("config written");
    let output = Command::new(schemathesis())
        .current_dir(dir)
        .args(["run", &format!("{address}/api/v1/openapi.json")])
        .args(["--header", header])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
        ])
        .args(["--max-examples", "40", "--seed", "20261128", "--no-color"])
        .output()
        .expect("schemathesis runs");
    let text = format!("{}\n{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    let generated = text
        .lines()
        .find_map(|line| line.trim().split_once(" generated").and_then(|(n, _)| n.trim().parse::<u64>().ok()))
        .unwrap_or(0);
    // The warning lists operations as "  - METHOD /path" until its hint line.
    let refused = text
        .lines()
        .skip_while(|line| !line.contains("returned only 401/403"))
        .take_while(|line| !line.contains('💡'))
        .filter_map(|line| line.trim().strip_prefix("- "))
        .map(str::to_owned)
        .collect();
    Report { passed: output.status.success(), text, generated, refused }
}

/// `schemathesis.toml`: real identifiers for path parameters and the fleet's
/// names for body fields, so that requests get past "not found" into the logic.
fn config(artifacts: &[String], train: &str, deployment: &str, token: &str, break_glass: &str) -> String {
    let quoted = |values: &[&str]| values.iter().map(|v| format!("{v:?}")).collect::<Vec<_>>().join(", ");
    let artifact_ids: Vec<&str> = artifacts.iter().map(String::as_str).collect();
    // Links come from the document's parameters; schemathesis 4.32 infers a
    // wrong one from `Location` headers (an artifact's address to `GET /users`).
    let mut toml =
        String::from("[phases.stateful.inference]\nalgorithms = [\"dependency-analysis\"]\n\n[dictionaries]\n");
    toml += &format!("services = {{ values = [{}] }}\n", quoted(&SERVICES));
    toml += "domains = { values = [\"payments\"] }\n";
    toml += "definitions = { values = [\"payments-daily\"] }\n";
    toml += &format!("artifacts = {{ values = [{}] }}\n", quoted(&artifact_ids));
    toml += "\n[parameters]\n";
    for (field, dictionary) in [
        ("body.service", "services"),
        ("body.domain", "domains"),
        ("body.definition", "definitions"),
        ("body.artifacts[*]", "artifacts"),
        ("body.roles[*].domain", "domains"),
    ] {
        toml += &format!("{field:?} = {{ dictionary = {dictionary:?}, probability = 0.8 }}\n");
    }
    toml += "\"path.domain\" = \"payments\"\n\"path.name\" = \"rita\"\n";
    toml += &format!("\"path.key\" = {deployment:?}\n");
    for (paths, id) in [
        (
            &["/api/v1/artifacts/{id}", "/api/v1/artifacts/{id}/approvals", "/api/v1/artifacts/{id}/checks"][..],
            artifacts[1].as_str(),
        ),
        (&["/api/v1/artifacts/{id}/sarif"][..], artifacts[2].as_str()),
        (&["/api/v1/trains/{id}", "/api/v1/trains/{id}/actions", "/api/v1/trains/{id}/release-notes"][..], train),
        (&["/api/v1/tokens/{id}"][..], token),
        (&["/api/v1/break-glass/{id}/approve", "/api/v1/break-glass/{id}/reject"][..], break_glass),
    ] {
        toml +=
            &format!("\n[[operations]]\ninclude-path = [{}]\nparameters = {{ \"path.id\" = {id:?} }}\n", quoted(paths));
    }
    toml
}

/// Creates a person with every role on every domain (after their first
/// password change, so the roles are in force); returns their cookie.
async fn everyone(client: &reqwest::Client, address: &str, admin: &str) -> String {
    let roles = ["viewer", "release_manager", "approver", "admin"].map(|role| json!({ "role": role }));
    let user = json!({ "name": "fuzzer", "password": "initial password 1", "roles": roles });
    assert_eq!(support::post_json(client, &format!("{address}/api/v1/users"), admin, &user).await.0, 201);
    let first = support::sign_in(client, address, "fuzzer", "initial password 1").await;
    let change = json!({ "current": "initial password 1", "new": "the fuzzer's own password" });
    let response = client
        .post(format!("{address}/api/v1/me/password"))
        .header(reqwest::header::COOKIE, first)
        .json(&change)
        .send()
        .await
        .expect("password change");
    assert_eq!(response.status(), 204);
    support::sign_in(client, address, "fuzzer", "the fuzzer's own password").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_requests_get_no_5xx_and_only_documented_answers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("railyard.db").display());
    let seen = support::SharedDeployer::default();
    let deployer = support::start_deployer(seen.clone()).await;
    support::apply_fleet(&url, dir.path(), &deployer);
    let client = support::client();
    let replica = Replica::start("fuzzed", &url, support::free_port(), &dir.path().join("railyard.log"), ("15s", "5s"));
    replica.until_up(&client).await;
    // Something to find: builds, a train carrying one of them and its first deployment.
    let (cookie, artifacts) = support::release_manager_and_builds(&client, &replica.address, 3).await;
    let trains = support::emergency_trains(&client, &replica.address, &cookie, &artifacts[..1]).await;
    let deployment = async {
        loop {
            if let Some((key, _, _)) = seen.lock().expect("deployer").calls.first() {
                return key.clone();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let deployment = tokio::time::timeout(Duration::from_secs(30), deployment).await.expect("a deployment starts");
    let admin = support::sign_in(&client, &replica.address, "admin", support::ADMIN_PASSWORD).await;
    let scopes = json!({ "name": "fuzz", "scopes": ["read", "artifacts:write", "checks:write", "incidents:write"] });
    let (status, token) =
        support::post_json(&client, &format!("{}/api/v1/tokens", replica.address), &admin, &scopes).await;
    assert_eq!(status, 201);
    let (token, token_id) = (token["token"].as_str().expect("token"), token["id"].as_str().expect("id"));
    let person = everyone(&client, &replica.address, &admin).await;
    let request = json!({ "domain": "payments", "reason": "fuzzing an open request", "duration": "4h" });
    let (status, break_glass) =
        support::post_json(&client, &format!("{}/api/v1/break-glass", replica.address), &cookie, &request).await;
    assert_eq!(status, 201, "{break_glass}");
    let break_glass = break_glass["id"].as_str().expect("id");
    let settings = config(&artifacts, &trains[0], &deployment, token_id, break_glass);
    let as_ci = fuzz(&dir.path().join("ci"), &replica.address, &format!("Authorization: Bearer {token}"), &settings);
    // The person does everything but sign out, which would end the run's session.
    let stay = "\n[[operations]]\ninclude-path = \"/api/v1/session\"\ninclude-method = \"DELETE\"\nenabled = false\n";
    let header = format!("Cookie: {person}");
    let as_person = fuzz(&dir.path().join("person"), &replica.address, &header, &(settings + stay));
    for (who, report) in [("the CI token", &as_ci), ("a person with every role", &as_person)] {
        eprintln!("schemathesis as {who}: {} generated requests\n{}", report.generated, report.text);
    }
    for (who, report) in [("the CI token", &as_ci), ("a person with every role", &as_person)] {
        assert!(report.passed, "schemathesis as {who} found failures:\n{}", report.text);
    }
    let generated = as_ci.generated + as_person.generated;
    assert!(generated >= 1_000, "at least 1,000 generated requests, got {generated}");
    // The deployer's callback is signed with the definition's secret, not a
    // caller's credentials (tests/api/webhook.rs sends signed ones).
    let signed = "POST /api/v1/deployments/{key}/status".to_owned();
    let never_reached: Vec<_> = as_ci.refused.intersection(&as_person.refused).filter(|op| **op != signed).collect();
    assert!(never_reached.is_empty(), "operations only ever refused (401/403) for both callers: {never_reached:?}");
    assert!(!replica.log_text().contains("panicked"), "the server never panicked");
}
