//! The authorization matrix: every API route, page and server function,
//! called by every kind of caller, is allowed or refused exactly as listed
//! here. A route missing from this table fails the test, so nothing new
//! ships without someone deciding who may call it.

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::json;

use crate::helpers::{spawn_app, Backend, TestApp};

/// The callers, by label.
const ANON: &str = "anonymous";
const VIEWER: &str = "viewer";
const RM: &str = "release_manager";
const RM_SEARCH: &str = "release_manager@search";
const APPROVER: &str = "approver";
const ADMIN: &str = "admin";
const TOKEN_READ: &str = "token:read";
const TOKEN_WRITE: &str = "token:write@payments";

const EVERYONE: &[&str] = &[ANON, VIEWER, RM, RM_SEARCH, APPROVER, ADMIN, TOKEN_READ, TOKEN_WRITE];
const READERS: &[&str] = &[VIEWER, RM, RM_SEARCH, APPROVER, ADMIN, TOKEN_READ];
const PEOPLE: &[&str] = &[VIEWER, RM, RM_SEARCH, APPROVER, ADMIN];
const ADMINS: &[&str] = &[ADMIN];
/// Writers for the `payments` domain, where the fixtures live.
const PAYMENTS_WRITERS: &[&str] = &[RM, TOKEN_WRITE];
const SHARERS: &[&str] = &[RM, ADMIN];
/// CI evidence (checks and scans) comes from CI tokens only, never from a person.
const CI: &[&str] = &[TOKEN_WRITE];
/// Release managers of `payments` (the global one; the one for `search` is refused).
const OPERATORS: &[&str] = &[RM];
/// Approvers of `payments`.
const APPROVERS: &[&str] = &[APPROVER];
const NOBODY: &[&str] = &[];

/// One row: who may call it, and the request to send (the body makes an allowed call valid where that matters).
struct Row {
    allowed: &'static [&'static str],
    body: Option<serde_json::Value>,
    query: &'static str,
    /// A server function's form arguments ({artifacts}, {trains} and {break-glass} name the fixtures).
    form: &'static str,
}

fn row(allowed: &'static [&'static str]) -> Row {
    Row { allowed, body: None, query: "", form: "" }
}

fn with_body(allowed: &'static [&'static str], body: serde_json::Value) -> Row {
    Row { allowed, body: Some(body), query: "", form: "" }
}

fn with_form(allowed: &'static [&'static str], form: &'static str) -> Row {
    Row { allowed, body: None, query: "", form }
}

/// The expected matrix, keyed by "METHOD path" as the inventories name routes.
fn matrix() -> BTreeMap<String, Row> {
    let artifact = json!({
        "service": "ledger", "version": "9.9.9", "digest": format!("sha256:{}", "e".repeat(64)),
        "commit": "abc1234", "author": "bob"
    });
    let check = json!({ "kind": "tests", "name": "unit", "status": "passed" });
    let sarif = json!({ "version": "2.1.0", "runs": [{ "tool": { "driver": { "name": "trivy" } }, "results": [] }] });
    let incident = json!({ "service": "ledger", "severity": "high", "started_at": "2026-11-27T10:00:00Z" });
    let rows = [
        ("GET /healthz", row(EVERYONE)),
        ("GET /readyz", row(EVERYONE)),
        ("GET /api/v1/openapi.json", row(EVERYONE)),
        ("GET /metrics", row(READERS)),
        ("POST /login", row(EVERYONE)),
        ("POST /logout", row(EVERYONE)),
        // Signing in with the identity provider is for whoever is not signed in yet.
        ("GET /auth/oidc/start", row(EVERYONE)),
        ("GET /auth/oidc/callback", row(EVERYONE)),
        ("POST /rpc/single_sign_on", row(EVERYONE)),
        ("POST /demo/banner/dismiss", row(READERS)),
        ("POST /api/v1/session", row(EVERYONE)),
        ("DELETE /api/v1/session", row(EVERYONE)),
        ("GET /api/v1/me", row(PEOPLE)),
        ("GET /api/v1/me/sessions", row(PEOPLE)),
        ("DELETE /api/v1/me/sessions/{id}", row(PEOPLE)),
        ("POST /api/v1/me/password", row(PEOPLE)),
        ("GET /api/v1/users", row(ADMINS)),
        ("POST /api/v1/users", row(ADMINS)),
        ("PUT /api/v1/users/{name}/roles", with_body(ADMINS, json!({ "roles": [{ "role": "viewer" }] }))),
        ("PUT /api/v1/users/{name}/identities", with_body(ADMINS, json!({ "identities": ["target@example.com"] }))),
        ("POST /api/v1/users/{name}/disable", row(ADMINS)),
        ("POST /api/v1/users/{name}/enable", row(ADMINS)),
        ("POST /api/v1/users/{name}/password", row(ADMINS)),
        ("DELETE /api/v1/users/{name}/sessions", row(ADMINS)),
        ("GET /api/v1/sign-in-policy", row(ADMINS)),
        ("PUT /api/v1/sign-in-policy", with_body(ADMINS, json!({ "local_sign_in": true }))),
        ("GET /api/v1/tokens", row(ADMINS)),
        ("POST /api/v1/tokens", row(ADMINS)),
        ("DELETE /api/v1/tokens/{id}", row(ADMINS)),
        ("GET /api/v1/embed/origins", row(ADMINS)),
        ("POST /api/v1/embed/origins", row(ADMINS)),
        ("DELETE /api/v1/embed/origins", row(ADMINS)),
        ("POST /api/v1/embed/links", row(SHARERS)),
        ("GET /api/v1/embed/links", row(SHARERS)),
        ("DELETE /api/v1/embed/links/{id}", row(SHARERS)),
        ("GET /api/v1/audit", row(ADMINS)),
        ("GET /api/v1/audit/verify", row(ADMINS)),
        ("GET /api/v1/trains", row(READERS)),
        ("GET /api/v1/plan", row(READERS)),
        ("GET /api/v1/trains/{id}", row(READERS)),
        ("GET /api/v1/trains/{id}/release-notes", row(READERS)),
        ("GET /api/v1/trains/{id}/postmortem", row(READERS)),
        (
            "POST /api/v1/trains/emergency",
            with_body(
                OPERATORS,
                json!({ "definition": "payments-live-demo", "artifacts": ["{artifacts}"], "reason": "matrix: card outage fix" }),
            ),
        ),
        (
            "POST /api/v1/trains/rehearsal",
            with_body(OPERATORS, json!({ "definition": "payments-live-demo", "reason": "matrix: game day rehearsal" })),
        ),
        ("POST /api/v1/trains/{id}/actions", with_body(OPERATORS, json!({ "action": "hold", "reason": "matrix" }))),
        (
            "POST /api/v1/freezes/preview",
            with_body(
                OPERATORS,
                json!({ "name": "matrix-freeze", "domain": "payments", "time_zone": "UTC", "starts": "2027-02-01", "ends": "2027-02-02" }),
            ),
        ),
        (
            "POST /api/v1/freezes",
            with_body(
                OPERATORS,
                json!({ "name": "matrix-freeze", "domain": "payments", "time_zone": "UTC", "starts": "2027-02-01", "ends": "2027-02-02" }),
            ),
        ),
        ("GET /api/v1/approval-rules", row(READERS)),
        ("PUT /api/v1/approval-rules/{domain}", with_body(ADMINS, json!({ "required_approvals": 2 }))),
        ("GET /api/v1/artifacts/{id}/approvals", row(READERS)),
        ("POST /api/v1/artifacts/{id}/approvals", with_body(APPROVERS, json!({ "decision": "approve" }))),
        ("GET /api/v1/break-glass", row(READERS)),
        (
            "POST /api/v1/break-glass",
            with_body(
                OPERATORS,
                json!({ "domain": "payments", "reason": "matrix: hotfix in a freeze", "duration": "1h" }),
            ),
        ),
        ("POST /api/v1/break-glass/{id}/approve", row(APPROVERS)),
        ("POST /api/v1/break-glass/{id}/reject", with_body(APPROVERS, json!({ "comment": "not needed after all" }))),
        ("POST /api/v1/incidents", with_body(PAYMENTS_WRITERS, incident)),
        ("POST /api/v1/incidents/{id}/resolve", with_body(PAYMENTS_WRITERS, json!({}))),
        // Anyone who reports incidents somewhere may post; alerts about services outside their
        // domains are left alone (and said so in the answer), never recorded.
        (
            "POST /api/v1/alerts/alertmanager",
            with_body(
                &[RM, RM_SEARCH, TOKEN_WRITE],
                json!({ "alerts": [{ "status": "firing", "labels": { "alertname": "X", "service": "ledger" },
                                     "startsAt": "2026-11-27T12:00:00Z", "fingerprint": "matrix" }] }),
            ),
        ),
        // Deployers authenticate with the deployment's HMAC signature, never with a role.
        ("POST /api/v1/deployments/{key}/status", row(EVERYONE)),
        ("POST /api/v1/gitops/flux/{definition}", row(EVERYONE)),
        ("POST /api/v1/artifacts", with_body(PAYMENTS_WRITERS, artifact)),
        ("GET /api/v1/artifacts/{id}", row(READERS)),
        ("POST /api/v1/artifacts/{id}/checks", with_body(CI, check)),
        (
            "POST /api/v1/artifacts/{id}/sarif",
            Row { allowed: CI, body: Some(sarif), query: "?name=trivy", form: "" },
        ),
        ("POST /api/v1/artifacts/{id}/reject", with_body(OPERATORS, json!({ "reason": "matrix: a bad build" }))),
        ("GET /calendar.ics", row(READERS)),
        ("GET /", row(READERS)),
        ("GET /login", row(EVERYONE)),
        // Only with a signed link (tested on its own); no role opens it.
        ("GET /embed/calendar", row(NOBODY)),
        ("POST /rpc/calendar_month", row(READERS)),
        ("POST /rpc/dashboard", row(READERS)),
        ("POST /rpc/current_viewer", row(EVERYONE)),
        ("POST /rpc/demo_guide", row(EVERYONE)),
        ("GET /console", row(PEOPLE)),
        ("GET /trains/{id}", row(READERS)),
        ("POST /rpc/train_page", with_form(READERS, "id={trains}")),
        ("POST /rpc/train_card", with_form(READERS, "id={trains}")),
        ("GET /gates", row(READERS)),
        ("POST /rpc/gate_board", row(READERS)),
        ("GET /oncall", row(READERS)),
        ("POST /rpc/oncall", row(READERS)),
        ("POST /rpc/report_incident", with_form(PAYMENTS_WRITERS, "service=ledger&severity=low&title=matrix&started_at=")),
        ("POST /rpc/resolve_incident", with_form(PAYMENTS_WRITERS, "id={incidents}")),
        ("GET /budgets", row(READERS)),
        ("GET /budgets/{service}", row(READERS)),
        ("POST /rpc/budgets", row(READERS)),
        ("POST /rpc/service_budget", with_form(READERS, "service=ledger")),
        // Only with a signed link, like the calendar panel.
        ("GET /embed/budget", row(NOBODY)),
        ("GET /embed/train", row(NOBODY)),
        ("GET /embed/countdown", row(NOBODY)),
        ("GET /embed/oncall", row(NOBODY)),
        ("POST /rpc/countdown", with_form(READERS, "definition=payments-weekly")),
        ("POST /rpc/next_train", with_form(READERS, "domain=payments&ready_on=2026-12-01&zone=Europe%2FBerlin")),
        ("GET /admin", row(ADMINS)),
        ("GET /approve/{token}", row(PEOPLE)),
        ("GET /account", row(PEOPLE)),
        ("POST /rpc/admin", row(ADMINS)),
        ("POST /rpc/create_user", with_form(ADMINS, "name=matrix-user&password=short&roles=viewer")),
        ("POST /rpc/set_user_roles", with_form(ADMINS, "name=target&roles=viewer")),
        ("POST /rpc/set_user_identities", with_form(ADMINS, "name=target&identities=target%40example.com")),
        ("POST /rpc/set_user_disabled", with_form(ADMINS, "name=target&disabled=false")),
        ("POST /rpc/end_user_sessions", with_form(ADMINS, "name=target")),
        // An unknown link: signed-in people hear it is not valid; approval itself is tested in approval_links.
        ("POST /rpc/approval_link", with_form(PEOPLE, "token=unknown.link")),
        ("POST /rpc/decide_by_link", with_form(PEOPLE, "token=unknown.link&decision=approve&comment=")),
        ("POST /rpc/set_local_sign_in", with_form(ADMINS, "allowed=true")),
        ("POST /rpc/create_token", with_form(ADMINS, "name=matrix&scopes=read&domains=&expires_in=1d")),
        ("POST /rpc/revoke_token", with_form(ADMINS, "id=00000000-0000-0000-0000-000000000000")),
        ("POST /rpc/allow_embed_origin", with_form(ADMINS, "origin=https%3A%2F%2Fwiki.example.com")),
        ("POST /rpc/revoke_embed_link", with_form(SHARERS, "id=00000000-0000-0000-0000-000000000000")),
        ("POST /rpc/remove_embed_origin", with_form(ADMINS, "origin=https%3A%2F%2Fnowhere.example.com")),
        ("POST /rpc/create_embed_link", with_form(SHARERS, "audience=https%3A%2F%2Fwiki.example.com&expires_in=1d")),
        ("POST /rpc/set_approval_rule", with_form(ADMINS, "domain=payments&required=1")),
        ("POST /rpc/verify_audit", row(ADMINS)),
        ("POST /rpc/account", row(PEOPLE)),
        ("POST /rpc/end_session", with_form(PEOPLE, "id=00000000-0000-0000-0000-000000000000")),
        ("POST /rpc/change_password", with_form(PEOPLE, "current=x&new=y")),
        ("POST /rpc/console", row(PEOPLE)),
        ("POST /rpc/operate_train", with_form(OPERATORS, "train_id={trains}&action=hold&reason=matrix")),
        (
            "POST /rpc/waive_gate",
            with_form(OPERATORS, "train_id={trains}&artifact_id={artifacts}&gate=tests&reason=matrix+waiver"),
        ),
        (
            "POST /rpc/override_gate",
            with_form(
                OPERATORS,
                "train_id={trains}&artifact_id={artifacts}&gate=tests&step=ask&reason=matrix+override",
            ),
        ),
        (
            "POST /rpc/remove_candidate",
            with_form(OPERATORS, "train_id={trains}&artifact_id={artifacts}&reason=matrix+removal"),
        ),
        ("POST /rpc/decide_candidate", with_form(APPROVERS, "artifact_id={artifacts}&decision=approve&comment=")),
        (
            "POST /rpc/request_break_glass",
            with_form(OPERATORS, "domain=payments&reason=matrix+hotfix+in+a+freeze&duration=1h"),
        ),
        (
            "POST /rpc/start_rehearsal",
            with_form(OPERATORS, "definition=payments-live-demo&reason=matrix%3A+game+day+rehearsal"),
        ),
        (
            "POST /rpc/start_emergency",
            with_form(
                OPERATORS,
                "definition=payments-live-demo&artifacts%5B0%5D={artifacts}&reason=matrix%3A+card+outage+fix",
            ),
        ),
        (
            "POST /rpc/preview_freeze",
            with_form(OPERATORS, "form%5Bname%5D=matrix&form%5Bdomain%5D=payments&form%5Bstarts%5D=2027-02-01T00%3A00&form%5Bends%5D=2027-02-02T00%3A00&form%5Btime_zone%5D=UTC&form%5Breason%5D=matrix"),
        ),
        (
            "POST /rpc/declare_freeze",
            with_form(OPERATORS, "form%5Bname%5D=matrix-rpc&form%5Bdomain%5D=payments&form%5Bstarts%5D=2027-02-01T00%3A00&form%5Bends%5D=2027-02-02T00%3A00&form%5Btime_zone%5D=UTC&form%5Breason%5D=matrix"),
        ),
        (
            "POST /rpc/decide_break_glass",
            with_form(APPROVERS, "id={break-glass}&decision=reject&comment=no+longer+needed"),
        ),
    ];
    rows.into_iter().map(|(key, row)| (key.to_owned(), row)).collect()
}

/// Every route the server has, as "METHOD path".
fn inventory() -> Vec<String> {
    let api = server::routes::api_inventory().into_iter().map(|route| format!("{} {}", route.method, route.path));
    let pages = server::routes::page_inventory().into_iter().map(|path| format!("GET {path}"));
    let server_fns = server::routes::server_fn_inventory().into_iter().map(|(path, method)| format!("{method} {path}"));
    api.chain(pages).chain(server_fns).collect()
}

#[tokio::test]
async fn every_route_has_an_entry_in_the_matrix_and_every_entry_a_route() {
    let matrix = matrix();
    let routes = inventory();
    let missing: Vec<&String> = routes.iter().filter(|route| !matrix.contains_key(*route)).collect();
    assert!(missing.is_empty(), "routes without an authorization entry (add them to the matrix): {missing:?}");
    let stale: Vec<&String> = matrix.keys().filter(|key| !routes.contains(key)).collect();
    assert!(stale.is_empty(), "matrix entries for routes that no longer exist: {stale:?}");
}

/// How a caller authenticates.
enum Credentials {
    None,
    Cookie(String),
    Bearer(String),
}

async fn callers(app: &TestApp) -> Vec<(&'static str, Credentials)> {
    let bearer = |scopes: &[&str], domains: &[&str]| {
        let body = json!({ "name": format!("matrix-{}", scopes.join("-")), "scopes": scopes, "domains": domains });
        async move {
            let (status, text) =
                app.send_as(Some(&app.admin_cookie), Method::POST, "/api/v1/tokens", Some(&body)).await;
            assert_eq!(status, 201, "{text}");
            serde_json::from_str::<serde_json::Value>(&text).expect("JSON")["token"].as_str().expect("token").to_owned()
        }
    };
    vec![
        (ANON, Credentials::None),
        (VIEWER, Credentials::Cookie(app.user_with_roles("vera", &[("viewer", None)]).await)),
        (RM, Credentials::Cookie(app.user_with_roles("rita", &[("release_manager", None)]).await)),
        (RM_SEARCH, Credentials::Cookie(app.user_with_roles("sam", &[("release_manager", Some("search"))]).await)),
        (APPROVER, Credentials::Cookie(app.user_with_roles("april", &[("approver", None)]).await)),
        (ADMIN, Credentials::Cookie(app.admin_cookie.clone())),
        (TOKEN_READ, Credentials::Bearer(bearer(&["read"], &[]).await)),
        (
            TOKEN_WRITE,
            Credentials::Bearer(bearer(&["artifacts:write", "checks:write", "incidents:write"], &["payments"]).await),
        ),
    ]
}

/// Ids that make path parameters point at real objects in `payments`.
async fn fixtures(app: &TestApp) -> BTreeMap<&'static str, String> {
    let artifact = crate::helpers::register_build(app, "ledger", "1.0.0", '7', "2.0").await;
    let mut conn = app.db.acquire().await.expect("connection");
    let train: String = sqlx::query_scalar(
        "SELECT t.id FROM trains t JOIN train_definitions d ON d.id = t.definition_id \
         JOIN domains m ON m.id = d.domain_id WHERE m.name = 'payments' ORDER BY t.cutover_at LIMIT 1",
    )
    .fetch_one(&mut *conn)
    .await
    .expect("a payments train");
    drop(conn);
    let requester = app.user_with_roles("requester", &[("release_manager", Some("payments"))]).await;
    let body = json!({ "domain": "payments", "reason": "fixture: hotfix in a freeze", "duration": "1h" });
    let (status, created) = app.send_as(Some(&requester), Method::POST, "/api/v1/break-glass", Some(&body)).await;
    assert_eq!(status, 201, "{created}");
    let break_glass =
        serde_json::from_str::<serde_json::Value>(&created).expect("JSON")["id"].as_str().expect("id").to_owned();
    app.user_with_roles("target", &[("viewer", None)]).await;
    let report = json!({ "service": "ledger", "severity": "low", "started_at": "2026-11-27T11:00:00Z" });
    let (status, created) = app.send_as(Some(&requester), Method::POST, "/api/v1/incidents", Some(&report)).await;
    assert_eq!(status, 201, "{created}");
    let incident =
        serde_json::from_str::<serde_json::Value>(&created).expect("JSON")["id"].as_str().expect("id").to_owned();
    BTreeMap::from([("artifacts", artifact), ("trains", train), ("break-glass", break_glass), ("incidents", incident)])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_caller_is_allowed_or_refused_exactly_as_the_matrix_says() {
    let app = spawn_app(Backend::Sqlite, true).await;
    server::scheduler::tick(
        &app.db,
        crate::helpers::lead(&app.db).await,
        crate::helpers::test_now(),
        &server::scheduler::SchedulerConfig::default(),
    )
    .await
    .expect("scheduler opens trains");
    let fixtures = fixtures(&app).await;
    let callers = callers(&app).await;
    let matrix = matrix();
    // Signing out ends the sessions the other rows use, so those rows go last.
    let (last, first): (Vec<_>, Vec<_>) =
        matrix.iter().partition(|(key, _)| key.as_str() == "POST /logout" || key.as_str() == "DELETE /api/v1/session");
    // A fresh connection per request: refusals answered before the body is read may close the
    // connection, and a pooled one could then be reused after the server dropped it.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .expect("client");
    let mut failures = Vec::new();
    for (key, row) in first.into_iter().chain(last) {
        let (method, path) = key.split_once(' ').expect("METHOD path");
        let method: Method = method.parse().expect("method");
        let fixture = ["artifacts", "trains", "break-glass", "incidents"]
            .into_iter()
            .find(|kind| path.starts_with(&format!("/api/v1/{kind}/")) || path.starts_with(&format!("/{kind}/")));
        let path = match fixture {
            Some(kind) => path.replace("{id}", &fixtures[kind]),
            None => path.replace("{id}", "00000000-0000-0000-0000-000000000000"),
        };
        let path = path
            .replace("{name}", "target")
            .replace("{key}", "unknown")
            .replace("{token}", "unknown.link")
            .replace("{domain}", "payments")
            .replace("{service}", "ledger");
        for (label, credentials) in &callers {
            let mut request = client.request(method.clone(), format!("{}{path}{}", app.address, row.query));
            request = match credentials {
                Credentials::None => request,
                Credentials::Cookie(cookie) => request.header(reqwest::header::COOKIE, cookie),
                Credentials::Bearer(token) => request.bearer_auth(token),
            };
            request = match (&row.body, path.starts_with("/rpc/")) {
                (_, true) => {
                    let form = fixtures
                        .iter()
                        .fold(row.form.to_owned(), |form, (kind, id)| form.replace(&format!("{{{kind}}}"), id));
                    request.header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded").body(form)
                }
                (Some(body), false) => {
                    let text = fixtures
                        .iter()
                        .fold(body.to_string(), |text, (kind, id)| text.replace(&format!("{{{kind}}}"), id));
                    request.header(reqwest::header::CONTENT_TYPE, "application/json").body(text)
                }
                (None, false) if method != Method::GET && method != Method::DELETE => request.json(&json!({})),
                (None, false) => request,
            };
            let response = match request.send().await {
                Ok(response) => response,
                Err(error) => {
                    failures.push(format!("{key} as {label}: the request failed: {error:?}"));
                    continue;
                }
            };
            let status = response.status().as_u16();
            let to_sign_in = response
                .headers()
                .get(reqwest::header::LOCATION)
                .is_some_and(|location| location.to_str().unwrap_or_default().starts_with("/login?next="));
            let refused = status == 401 || status == 403 || (status == 303 && to_sign_in);
            let expected_allowed = row.allowed.contains(label);
            if refused == expected_allowed {
                let body = response.text().await.unwrap_or_default();
                failures.push(format!(
                    "{key} as {label}: expected {}, got {status} {}",
                    if expected_allowed { "allowed" } else { "refused" },
                    body.chars().take(160).collect::<String>()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}

#[tokio::test]
async fn a_server_function_with_missing_arguments_is_a_400_not_a_500() {
    let app = spawn_app(Backend::Sqlite, false).await;
    let response = app
        .anonymous
        .post(format!("{}/rpc/operate_train", app.address))
        .header(reqwest::header::COOKIE, &app.admin_cookie)
        .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("action=hold")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 400);
    assert!(response.text().await.expect("body").contains("missing field `train_id`"));
}
