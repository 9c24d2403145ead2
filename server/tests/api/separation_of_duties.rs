//! Separation of duties: nobody approves their own candidate, a break-glass
//! needs two different approvers (neither the requester), and only admins
//! change approval rules, every change audited.

use chrono::Duration;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{ledger_fleet, register_build, spawn_app, test_now, Backend, TestApp};
use crate::on_both_backends;

async fn post(app: &TestApp, cookie: &str, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
    let (status, text) = app.send_as(Some(cookie), Method::POST, path, Some(&body)).await;
    (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON from {path}: {text}")))
}

async fn a_candidates_author_cannot_approve_it(backend: Backend) {
    let app = spawn_app(backend, true).await;
    // register_build names "bob" as the author.
    let artifact = register_build(&app, "ledger", "2.0.0", '3', "1.0").await;
    let bob = app.user_with_roles("bob", &[("approver", None)]).await;
    let carol = app.user_with_roles("carol", &[("approver", Some("payments"))]).await;
    let dave = app.user_with_roles("dave", &[("approver", Some("search"))]).await;
    let path = format!("/api/v1/artifacts/{artifact}/approvals");

    let (status, body) = post(&app, &bob, &path, json!({ "decision": "approve" })).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["error"].as_str().expect("message").contains("someone else must approve"), "{body}");
    let (status, _) = post(&app, &dave, &path, json!({ "decision": "approve" })).await;
    assert_eq!(status, 403, "an approver for search cannot approve a payments candidate");

    let (status, body) = post(&app, &carol, &path, json!({ "decision": "approve", "comment": "looks right" })).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"], "approved");
    assert_eq!(body["decisions"][0]["approver"], "carol");
    let (status, _) = post(&app, &carol, &path, json!({ "decision": "approve" })).await;
    assert_eq!(status, 409, "one decision per person");
}
on_both_backends!(a_candidates_author_cannot_approve_it);

async fn an_approver_is_refused_under_any_of_their_author_identities(backend: Backend) {
    let app = spawn_app(backend, true).await;
    // CI names the author by e-mail, not by Railyard user name.
    let body = json!({
        "service": "ledger", "version": "2.1.0", "digest": format!("sha256:{}", "4".repeat(64)),
        "commit": "1234567", "author": "Grace.Hopper@Example.com"
    });
    let (status, created) = app.post_json("/api/v1/artifacts", &body).await;
    assert_eq!(status, 201, "{created}");
    let artifact = created["id"].as_str().expect("id").to_owned();
    let grace = app.user_with_roles("grace", &[("approver", None)]).await;
    let carol = app.user_with_roles("carol", &[("approver", None)]).await;

    // Unknown to Railyard: the console says so, so approvers know who wrote it could not be checked.
    let (_, console) = app.send_as(Some(&carol), Method::GET, "/console", None).await;
    assert!(console.contains("by Grace.Hopper@Example.com (author unknown to Railyard)"), "{console}");

    let identities = |list: serde_json::Value| json!({ "identities": list });
    let path = "/api/v1/users/grace/identities";
    let (status, body) = app
        .send_as(
            Some(&app.admin_cookie),
            Method::PUT,
            path,
            Some(&identities(json!(["grace.hopper@example.com", "ghopper"]))),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("ghopper"), "{body}");
    let (status, body) =
        app.send_as(Some(&carol), Method::PUT, path, Some(&identities(json!(["x@example.com"])))).await;
    assert_eq!(status, 403, "only admins map identities: {body}");
    let (status, body) = app
        .send_as(
            Some(&app.admin_cookie),
            Method::PUT,
            "/api/v1/users/carol/identities",
            Some(&identities(json!(["GHopper"]))),
        )
        .await;
    assert_eq!(status, 409, "an identity belongs to one person: {body}");
    assert!(body.contains("already an identity of grace"), "{body}");
    let (status, body) = app
        .send_as(
            Some(&app.admin_cookie),
            Method::PUT,
            "/api/v1/users/carol/identities",
            Some(&identities(json!(["two words"]))),
        )
        .await;
    assert_eq!(status, 400, "{body}");

    let approvals = format!("/api/v1/artifacts/{artifact}/approvals");
    let (status, body) = post(&app, &grace, &approvals, json!({ "decision": "approve" })).await;
    assert_eq!(status, 403, "grace wrote it, under her e-mail: {body}");
    assert!(body["error"].as_str().expect("message").contains("someone else must approve"), "{body}");
    let (_, console) = app.send_as(Some(&carol), Method::GET, "/console", None).await;
    assert!(console.contains("by Grace.Hopper@Example.com in"), "now a known author: {console}");
    let (status, body) = post(&app, &carol, &approvals, json!({ "decision": "approve" })).await;
    assert_eq!(status, 201, "{body}");
    let mut conn = app.db.acquire().await.expect("connection");
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'user.identities_changed' AND object = 'user:grace'",
    )
    .fetch_one(&mut *conn)
    .await
    .expect("audit");
    assert_eq!(audited, 1);
}
on_both_backends!(an_approver_is_refused_under_any_of_their_author_identities);

async fn approval_rules_belong_to_admins_and_count_distinct_people(backend: Backend) {
    let app = spawn_app(backend, true).await;
    let carol = app.user_with_roles("carol", &[("approver", None)]).await;
    let erin = app.user_with_roles("erin", &[("approver", None)]).await;
    let rule = json!({ "required_approvals": 2 });
    let (status, _) = app.send_as(Some(&carol), Method::PUT, "/api/v1/approval-rules/payments", Some(&rule)).await;
    assert_eq!(status, 403, "approvers cannot lower the bar for themselves");
    let (status, text) =
        app.send_as(Some(&app.admin_cookie), Method::PUT, "/api/v1/approval-rules/payments", Some(&rule)).await;
    assert_eq!(status, 200, "{text}");

    let artifact = register_build(&app, "ledger", "2.1.0", '4', "1.0").await;
    let path = format!("/api/v1/artifacts/{artifact}/approvals");
    let (_, body) = post(&app, &carol, &path, json!({ "decision": "approve" })).await;
    assert_eq!(
        (body["status"].as_str(), body["approved"].as_i64(), body["required"].as_i64()),
        (Some("pending"), Some(1), Some(2))
    );
    let (_, body) = post(&app, &erin, &path, json!({ "decision": "approve" })).await;
    assert_eq!(body["status"], "approved");

    let mut conn = app.db.acquire().await.expect("connection");
    let (actor, before, after): (String, String, String) =
        sqlx::query_as("SELECT actor, before_state, after_state FROM audit_log WHERE action = 'approval_rule.changed'")
            .fetch_one(&mut *conn)
            .await
            .expect("the rule change is audited");
    assert_eq!(actor, "user:admin");
    assert!(
        before.contains("\"required_approvals\":1") && after.contains("\"required_approvals\":2"),
        "{before} → {after}"
    );
}
on_both_backends!(approval_rules_belong_to_admins_and_count_distinct_people);

async fn a_break_glass_needs_two_different_approvers(backend: Backend) {
    let app = spawn_app(backend, true).await;
    let rita = app.user_with_roles("rita", &[("release_manager", Some("payments")), ("approver", None)]).await;
    let carol = app.user_with_roles("carol", &[("approver", None)]).await;
    let erin = app.user_with_roles("erin", &[("approver", Some("payments"))]).await;
    let request =
        json!({ "domain": "payments", "reason": "card outage fix must ship during the freeze", "duration": "4h" });
    let (status, created) = post(&app, &rita, "/api/v1/break-glass", request).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().expect("id").to_owned();
    let approve = format!("/api/v1/break-glass/{id}/approve");

    let (status, body) = post(&app, &rita, &approve, json!({})).await;
    assert_eq!(status, 403, "the requester cannot approve: {body}");
    let (status, body) = post(&app, &carol, &approve, json!({ "comment": "seen the incident" })).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("pending")), "{body}");
    let (status, body) = post(&app, &carol, &approve, json!({})).await;
    assert_eq!(status, 403, "the same approver twice: {body}");
    assert!(body["error"].as_str().expect("message").contains("second, different approver"));
    let (status, body) = post(&app, &erin, &approve, json!({})).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("granted")), "{body}");
    assert_eq!(body["approvers"], json!(["carol", "erin"]));

    // A request nobody grants lapses after four hours instead of waiting for ever.
    let request = json!({ "domain": "payments", "reason": "a second fix", "duration": "1h" });
    let (status, stale) = post(&app, &rita, "/api/v1/break-glass", request).await;
    assert_eq!(status, 201, "{stale}");
    let stale = stale["id"].as_str().expect("id").to_owned();
    let (status, _) = post(&app, &carol, &format!("/api/v1/break-glass/{stale}/approve"), json!({})).await;
    assert_eq!(status, 200);

    app.clock.advance(Duration::hours(5));
    let erin = crate::helpers::sign_in(&app.anonymous, &app.address, "erin", "their own password").await;
    let (_, listed) = app.get("/api/v1/break-glass").await;
    assert!(listed.contains("\"status\":\"expired\""), "{listed}");
    assert!(listed.contains("\"status\":\"lapsed\""), "{listed}");
    let (status, body) = post(&app, &erin, &format!("/api/v1/break-glass/{stale}/approve"), json!({})).await;
    assert_eq!(status, 409, "a lapsed request cannot be granted: {body}");
    assert!(body["error"].as_str().expect("message").contains("lapsed"), "{body}");
}
on_both_backends!(a_break_glass_needs_two_different_approvers);

#[tokio::test]
async fn concurrent_approvals_by_one_person_fill_only_one_slot() {
    let app = spawn_app(Backend::Postgres, true).await;
    let rita = app.user_with_roles("rita", &[("release_manager", None)]).await;
    let carol = app.user_with_roles("carol", &[("approver", None)]).await;
    let request = json!({ "domain": "search", "reason": "index rebuild during the freeze", "duration": "1h" });
    let (_, created) = post(&app, &rita, "/api/v1/break-glass", request).await;
    let path = format!("/api/v1/break-glass/{}/approve", created["id"].as_str().expect("id"));
    let mut attempts = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let (client, url, cookie) = (app.anonymous.clone(), format!("{}{path}", app.address), carol.clone());
        attempts.spawn(async move {
            let response = client.post(url).header(reqwest::header::COOKIE, cookie).json(&json!({})).send().await;
            let response = response.expect("request");
            let status = response.status().as_u16();
            (status, response.json::<serde_json::Value>().await.expect("JSON"))
        });
    }
    let results = attempts.join_all().await;
    assert!(results.iter().all(|(_, body)| body["status"] != "granted"), "{results:?}");
    let ok = results.iter().filter(|(status, _)| *status == 200).count();
    assert_eq!(ok, 1, "one person fills one slot however many requests race: {results:?}");
}

async fn release_managers_operate_trains_of_their_domain_only(backend: Backend) {
    let app = spawn_app(backend, false).await;
    let fleet = format!("{}\n[[domain]]\nname = \"search\"\n", ledger_fleet("", "", &[]));
    let parsed = server::fleet::parse("fleet.toml", &fleet).expect("valid fleet");
    server::fleet::apply(&app.db, &parsed, test_now()).await.expect("apply");
    let config = server::scheduler::SchedulerConfig { horizon: Duration::hours(4), ..Default::default() };
    server::scheduler::tick(&app.db, crate::helpers::lead(&app.db).await, test_now() + Duration::hours(1), &config)
        .await
        .expect("the 14:00 train opens");
    let train = crate::helpers::train_in_state(&app.db, "planning").await;
    let sam = app.user_with_roles("sam", &[("release_manager", Some("search"))]).await;
    let pat = app.user_with_roles("pat", &[("release_manager", Some("payments"))]).await;
    let path = format!("/api/v1/trains/{train}/actions");
    let (status, _) = post(&app, &sam, &path, json!({ "action": "hold", "reason": "not mine" })).await;
    assert_eq!(status, 403);
    let (status, body) = post(&app, &pat, &path, json!({ "action": "abort" })).await;
    assert_eq!(status, 400, "aborting needs a reason: {body}");
    let (status, body) =
        post(&app, &pat, &path, json!({ "action": "hold", "reason": "waiting for the ledger fix" })).await;
    assert_eq!((status, body["phase"].as_str()), (200, Some("held")), "{body}");
    let (status, body) = post(&app, &pat, &path, json!({ "action": "resume" })).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = post(&app, &pat, &path, json!({ "action": "fly" })).await;
    assert_eq!(status, 422, "{body}");

    let (_, detail) = app.get(&format!("/api/v1/trains/{train}")).await;
    assert!(
        detail.contains("user:pat") && detail.contains("waiting for the ledger fix"),
        "the timeline names the person: {detail}"
    );
    let mut conn = app.db.acquire().await.expect("connection");
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'train.operator_action' AND actor = 'user:pat' AND request_id <> ''",
    )
    .fetch_one(&mut *conn)
    .await
    .expect("count");
    assert_eq!(audited, 2);
}
on_both_backends!(release_managers_operate_trains_of_their_domain_only);
