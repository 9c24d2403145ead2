use serde_json::{json, Value};

use crate::helpers::{spawn_app, Backend, TestApp};
use crate::on_both_backends;

fn registration() -> Value {
    json!({
        "service": "ledger",
        "version": "1.4.2",
        "digest": format!("sha256:{}", "ab".repeat(32)),
        "commit": "9fceb02d0ae598e95dc970b74767f19372d61af8",
        "author": "alice",
        "changes": [{ "title": "Faster month-end close", "kind": "feature", "link": "https://tracker.example.com/LED-12" }],
        "migrations": [{ "name": "add ledger_close index", "reversible": true }]
    })
}

async fn register(app: &TestApp) -> String {
    let (status, body) = app.post_json("/api/v1/artifacts", &registration()).await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().expect("id").to_owned()
}

async fn ci_registers_an_artifact_and_retries_safely(backend: Backend) {
    let app = spawn_app(backend, true).await;
    let id = register(&app).await;
    let (status, shown) = app.post_json("/api/v1/artifacts", &registration()).await;
    assert_eq!(status, 200, "a retry of the same registration is harmless: {shown}");
    assert_eq!(shown["id"], id.as_str());

    let mut changed = registration();
    changed["version"] = json!("1.4.3");
    let (status, body) = app.post_json("/api/v1/artifacts", &changed).await;
    assert_eq!(status, 409);
    assert!(body["error"].as_str().expect("message").contains("cannot change its attributes"), "{body}");

    let (status, text) = app.get(&format!("/api/v1/artifacts/{id}")).await;
    assert_eq!(status, 200);
    let artifact: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(artifact["version"], "1.4.2");
    assert_eq!(artifact["changes"][0]["title"], "Faster month-end close");
    assert_eq!(artifact["migrations"][0]["reversible"], true);
}
on_both_backends!(ci_registers_an_artifact_and_retries_safely);

#[tokio::test]
async fn bad_registrations_are_refused_with_a_reason() {
    let app = spawn_app(Backend::Sqlite, true).await;
    let mut unknown_service = registration();
    unknown_service["service"] = json!("mainframe");
    let mut bad_digest = registration();
    bad_digest["digest"] = json!("latest");
    let mut missing_author = registration();
    missing_author.as_object_mut().expect("object").remove("author");
    let mut extra_field = registration();
    extra_field["colour"] = json!("blue");
    let cases = [
        (unknown_service, 422, "service \"mainframe\" is not declared"),
        (bad_digest, 400, "must start with \"sha256:\""),
        (missing_author, 422, "missing field `author`"),
        (extra_field, 422, "unknown field `colour`"),
    ];
    for (body, expected_status, expected) in cases {
        let (status, answer) = app.post_json("/api/v1/artifacts", &body).await;
        assert_eq!(status, expected_status, "{answer}");
        assert!(answer["error"].as_str().expect("message").contains(expected), "{answer}");
    }
    let response = app
        .client
        .post(format!("{}/api/v1/artifacts", app.address))
        .header("content-type", "application/json")
        .body("{\"service\": ")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 400, "truncated JSON");
    let (status, text) = app.get("/api/v1/trains?from=2026-01-01&to=2026-01-02").await;
    assert_eq!(status, 200, "{text}");
}

async fn checks_and_scans_are_recorded_against_the_artifact(backend: Backend) {
    let app = spawn_app(backend, true).await;
    let id = register(&app).await;
    let (status, check) = app
        .post_json(
            &format!("/api/v1/artifacts/{id}/checks"),
            &json!({ "kind": "tests", "name": "unit", "status": "passed", "url": "https://ci.example.com/run/7" }),
        )
        .await;
    assert_eq!(status, 201, "{check}");

    let sarif = json!({
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": { "name": "trivy", "rules": [
                { "id": "CVE-2026-0001", "properties": { "security-severity": "8.1" } }
            ] } },
            "results": [
                { "ruleId": "CVE-2026-0001", "level": "error" },
                { "ruleId": "style", "level": "note" }
            ]
        }]
    });
    let (status, scan) = app.post_json(&format!("/api/v1/artifacts/{id}/sarif?name=trivy"), &sarif).await;
    assert_eq!(status, 201, "{scan}");
    assert_eq!(scan["status"], "failed", "a high finding blocks");
    assert_eq!(scan["details"]["high"], 1);
    assert_eq!(scan["summary"], "0 critical, 1 high, 0 medium, 1 low (trivy)");

    let (_, text) = app.get(&format!("/api/v1/artifacts/{id}")).await;
    let artifact: Value = serde_json::from_str(&text).expect("json");
    let checks: Vec<(&str, &str)> = artifact["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|c| (c["kind"].as_str().expect("kind"), c["status"].as_str().expect("status")))
        .collect();
    assert_eq!(checks, vec![("tests", "passed"), ("security_scan", "failed")]);
    let reporters: Vec<&str> =
        artifact["checks"].as_array().expect("checks").iter().filter_map(|c| c["reported_by"].as_str()).collect();
    assert!(reporters.iter().all(|by| by.starts_with("token:test-")), "each check names its CI token: {reporters:?}");

    // Evidence comes from CI: a release manager cannot report (or forge) a check or a scan.
    let rita = app.user_with_roles("rita", &[("release_manager", None)]).await;
    let forged = json!({ "kind": "security_scan", "name": "trivy", "status": "passed" });
    let (status, body) =
        app.send_as(Some(&rita), reqwest::Method::POST, &format!("/api/v1/artifacts/{id}/checks"), Some(&forged)).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("an API token with scope checks:write"), "{body}");
    let (status, _) = app
        .send_as(Some(&rita), reqwest::Method::POST, &format!("/api/v1/artifacts/{id}/sarif?name=trivy"), Some(&sarif))
        .await;
    assert_eq!(status, 403);
    let (_, text) = app.get(&format!("/api/v1/artifacts/{id}")).await;
    let artifact: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(artifact["checks"].as_array().expect("checks").len(), 2, "nothing was recorded");

    // The `ci` scope is what a pipeline needs: register builds and report their checks.
    let ci = crate::helpers::create_token(&app.anonymous, &app.address, &app.admin_cookie, &["ci"]).await;
    let check = json!({ "kind": "tests", "name": "integration", "status": "passed" });
    let path = format!("{}/api/v1/artifacts/{id}/checks", app.address);
    let response = app.anonymous.post(&path).bearer_auth(&ci).json(&check).send().await.expect("request");
    assert_eq!(response.status().as_u16(), 201);
    let reported: Value = response.json().await.expect("json");
    assert_eq!(reported["reported_by"], "token:test-ci");
    let read = crate::helpers::create_token(&app.anonymous, &app.address, &app.admin_cookie, &["read"]).await;
    let response = app.anonymous.post(&path).bearer_auth(&read).json(&check).send().await.expect("request");
    assert_eq!(response.status().as_u16(), 403, "a read token reports nothing");
}
on_both_backends!(checks_and_scans_are_recorded_against_the_artifact);

#[tokio::test]
async fn checks_on_unknown_artifacts_or_with_bad_values_are_refused() {
    let app = spawn_app(Backend::Sqlite, true).await;
    let (status, body) = app
        .post_json("/api/v1/artifacts/nope/checks", &json!({ "kind": "tests", "name": "unit", "status": "passed" }))
        .await;
    assert_eq!(status, 404, "{body}");
    let id = register(&app).await;
    let (status, body) = app
        .post_json(
            &format!("/api/v1/artifacts/{id}/checks"),
            &json!({ "kind": "tests", "name": "unit", "status": "green" }),
        )
        .await;
    assert_eq!(status, 422);
    assert!(body["error"].as_str().expect("message").contains("unknown variant `green`"), "{body}");
    let (status, body) =
        app.post_json(&format!("/api/v1/artifacts/{id}/sarif?name=trivy"), &json!({ "version": "2.0.0" })).await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().expect("message").contains("SARIF 2.1.0"), "{body}");
    let (_, text) = app.get(&format!("/api/v1/artifacts/{id}")).await;
    let artifact: Value = serde_json::from_str(&text).expect("json");
    assert!(artifact["checks"].as_array().expect("checks").is_empty(), "nothing half-written");
}
