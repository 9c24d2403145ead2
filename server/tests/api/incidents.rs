//! Incidents from Alertmanager's webhook and by hand: attribution, the same
//! alert twice, resolution (time to restore) and M6 as a rate.

use serde_json::{json, Value};
use server::integrations::SimulatedMetrics;

use crate::budgets::run_train;
use crate::helpers::{sign_in, spawn_app, test_now, Backend, ADMIN_PASSWORD};
use crate::on_both_backends;

fn at(hours: i64) -> String {
    (test_now() + chrono::Duration::hours(hours)).to_rfc3339()
}

fn webhook(status: &str, service: &str, fingerprint: &str, labels: Value) -> Value {
    let mut all = json!({ "alertname": "HighErrorRate", "service": service, "severity": "warning" });
    for (k, v) in labels.as_object().expect("labels") {
        all[k] = v.clone();
    }
    json!({ "version": "4", "status": status, "receiver": "railyard", "groupKey": "{}:{}",
            "alerts": [{ "status": status, "labels": all, "annotations": {}, "startsAt": at(3),
                         "endsAt": if status == "resolved" { at(4) } else { "0001-01-01T00:00:00Z".into() },
                         "generatorURL": "", "fingerprint": fingerprint }] })
}

fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines().find(|l| l.starts_with(&format!("{name} "))).and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

async fn webhook_alerts_open_attribute_and_resolve_incidents_once(backend: Backend) {
    let app = spawn_app(backend, false).await;
    let (train_id, _, _) = run_train(&app, SimulatedMetrics::default()).await;
    app.clock.set(test_now() + chrono::Duration::hours(5));
    let path = "/api/v1/alerts/alertmanager";

    let (status, outcome) = app.post_json(path, &webhook("firing", "ledger", "f1", json!({}))).await;
    assert_eq!(status, 200, "{outcome}");
    assert_eq!(outcome["opened"].as_array().map(Vec::len), Some(1), "{outcome}");
    let (status, again) = app.post_json(path, &webhook("firing", "ledger", "f1", json!({}))).await;
    assert_eq!(status, 200);
    assert_eq!(again["opened"], json!([]), "Alertmanager's repeat opens nothing: {again}");
    assert!(again["ignored"][0].as_str().expect("why").contains("already open"), "{again}");

    let (_, unknown) = app.post_json(path, &webhook("firing", "nope", "f2", json!({}))).await;
    assert!(unknown["ignored"][0].as_str().expect("why").contains("no declared service"), "{unknown}");
    let (status, body) = app.post_json(path, &webhook("firing", "ledger", " ", json!({}))).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().expect("message").contains("fingerprint"), "{body}");
    let (status, body) = app.post_json(path, &json!({ "alerts": "many" })).await;
    assert_eq!(status, 422, "{body}");
    let anonymous =
        app.anonymous.post(format!("{}{path}", app.address)).json(&webhook("firing", "ledger", "f3", json!({})));
    assert_eq!(anonymous.send().await.expect("response").status(), 401);

    let (_, detail) = app.get(&format!("/api/v1/trains/{train_id}")).await;
    let detail: Value = serde_json::from_str(&detail).expect("JSON");
    let incident = &detail["incidents"][0];
    assert_eq!(incident["service"], "ledger");
    assert_eq!(incident["severity"], "medium", "a warning is a medium incident");
    assert_eq!(incident["title"], "HighErrorRate", "no summary: the alert's name");
    assert!(incident.get("resolved_at").is_none(), "open: {incident}");

    let (status, outcome) = app.post_json(path, &webhook("resolved", "ledger", "f1", json!({}))).await;
    assert_eq!(status, 200);
    assert_eq!(outcome["resolved"].as_array().map(Vec::len), Some(1), "{outcome}");
    let (_, detail) = app.get(&format!("/api/v1/trains/{train_id}")).await;
    let detail: Value = serde_json::from_str(&detail).expect("JSON");
    assert_eq!(detail["incidents"][0]["resolved_at"], at(4).replace("+00:00", "Z"));

    let (_, metrics) = app.get("/metrics").await;
    assert_eq!(metric(&metrics, "railyard_time_to_restore_seconds_mean"), Some(3600.0), "an hour to restore");
    assert_eq!(metric(&metrics, "railyard_post_deploy_incidents_per_train"), Some(1.0), "one incident, one train");
}
on_both_backends!(webhook_alerts_open_attribute_and_resolve_incidents_once);

async fn an_incident_reported_by_hand_is_resolved_once_with_a_sensible_time(backend: Backend) {
    let app = spawn_app(backend, false).await;
    run_train(&app, SimulatedMetrics::default()).await;
    app.clock.set(test_now() + chrono::Duration::hours(5));
    let report = json!({ "service": "ledger", "severity": "high", "started_at": at(3), "title": "slow ledger" });
    let (status, incident) = app.post_json("/api/v1/incidents", &report).await;
    assert_eq!(status, 201, "{incident}");
    let id = incident["id"].as_str().expect("id");
    let resolve = |body: Value| {
        let path = format!("/api/v1/incidents/{id}/resolve");
        let app = &app;
        async move { app.post_json(&path, &body).await }
    };
    let (status, body) = resolve(json!({ "resolved_at": "yesterday" })).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = resolve(json!({ "resolved_at": at(2) })).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().expect("message").contains("between the incident's start"), "{body}");
    let (status, body) = resolve(json!({ "resolved_at": at(6) })).await;
    assert_eq!(status, 400, "in the future: {body}");
    let (status, body) = resolve(json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["resolved_at"], at(5).replace("+00:00", "Z"), "now by default");
    let (status, body) = resolve(json!({})).await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = app.post_json("/api/v1/incidents/nope/resolve", &json!({})).await;
    assert_eq!(status, 404, "{body}");
}
on_both_backends!(an_incident_reported_by_hand_is_resolved_once_with_a_sensible_time);

async fn the_on_call_view_puts_the_failing_service_first_with_its_failing_sli_and_incidents(backend: Backend) {
    let mut app = spawn_app(backend, false).await;
    let regressing = SimulatedMetrics { regression: Some(("ledger".into(), 1, 1)), ..SimulatedMetrics::default() };
    let (train_id, _, _) = run_train(&app, regressing).await;
    app.clock.set(test_now() + chrono::Duration::hours(5));
    let report = json!({ "service": "ledger", "severity": "high", "started_at": at(3), "title": "ledger slow" });
    assert_eq!(app.post_json("/api/v1/incidents", &report).await.0, 201);
    app.admin_cookie = sign_in(&app.anonymous, &app.address, "admin", ADMIN_PASSWORD).await;
    let manager = app.user_with_roles("rita", &[("release_manager", Some("payments"))]).await;
    let viewer = app.user_with_roles("vera", &[("viewer", None)]).await;

    let (status, body) = app.call_rpc(&manager, "oncall", "").await;
    assert_eq!(status, 200, "{body}");
    let view: Value = serde_json::from_str(&body).expect("JSON");
    let first = &view["services"][0];
    assert_eq!(first["name"], "ledger", "the service with something going on comes first: {view:#}");
    let failing = &first["failing"][0];
    assert_eq!(failing["train_id"], train_id.as_str());
    assert_eq!(failing["verdict"], "high", "{failing}");
    assert!(failing["change"].as_f64().is_some_and(|c| c > 0.1), "the canary's shift against the baseline: {failing}");
    let incident = &first["incidents"][0];
    assert_eq!((incident["title"].as_str(), incident["can_resolve"].as_bool()), (Some("ledger slow"), Some(true)));
    let mut reportable: Vec<&str> =
        view["reportable"].as_array().expect("list").iter().filter_map(Value::as_str).collect();
    reportable.sort_unstable();
    assert_eq!(reportable, ["billing", "checkout", "ledger"]);

    let (_, body) = app.call_rpc(&viewer, "oncall", "").await;
    let seen: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(seen["services"][0]["incidents"][0]["can_resolve"], false, "a viewer reads, never resolves");
    assert_eq!(seen["reportable"], json!([]));

    let id = incident["id"].as_str().expect("id");
    let (status, said) = app.call_rpc(&viewer, "resolve_incident", &format!("id={id}")).await;
    assert_eq!(status, 403, "{said}");
    let (status, said) = app.call_rpc(&manager, "resolve_incident", &format!("id={id}")).await;
    assert_eq!(status, 200, "{said}");
    assert!(said.contains("resolved after 120 min"), "{said}");
    let (status, said) = app
        .call_rpc(&manager, "report_incident", "service=checkout&severity=low&title=slow+checkout&started_at=")
        .await;
    assert_eq!(status, 200, "{said}");
    assert!(said.contains("incident of checkout reported"), "{said}");
}
on_both_backends!(the_on_call_view_puts_the_failing_service_first_with_its_failing_sli_and_incidents);

async fn an_incident_after_a_rehearsal_is_never_attributed_to_it(backend: Backend) {
    let app = spawn_app(backend, false).await;
    run_train(&app, SimulatedMetrics::default()).await;
    // A second train the next day, marked a rehearsal (as the rehearsal endpoint makes them).
    for (service, digit) in [("ledger", 'd'), ("checkout", 'e'), ("billing", 'f')] {
        crate::helpers::register_build(&app, service, "2.1.0", digit, "3.1").await;
    }
    let rehearsal = crate::helpers::run_day(&app, 1, SimulatedMetrics::default()).await;
    let mut conn = app.db.acquire().await.expect("connection");
    sqlx::query("UPDATE trains SET kind = 'rehearsal' WHERE id = $1")
        .bind(&rehearsal)
        .execute(&mut *conn)
        .await
        .expect("mark the rehearsal");
    drop(conn);
    let path = "/api/v1/alerts/alertmanager";
    let firing = webhook("firing", "ledger", "after-rehearsal", json!({ "train": rehearsal }));
    let mut firing = firing;
    firing["alerts"][0]["startsAt"] = json!(at(27));
    let (status, outcome) = app.post_json(path, &firing).await;
    assert_eq!(status, 200, "{outcome}");
    let (_, detail) = app.get(&format!("/api/v1/trains/{rehearsal}")).await;
    let detail: Value = serde_json::from_str(&detail).expect("JSON");
    assert_eq!(detail["incidents"], json!([]), "not even when the alert names it: {detail}");
    let report = json!({ "service": "ledger", "severity": "high", "started_at": at(27) });
    let (status, incident) = app.post_json("/api/v1/incidents", &report).await;
    assert_eq!(status, 201, "{incident}");
    assert_eq!(incident["train_id"], Value::Null, "the day-1 train was a rehearsal and day 0 is over 24 h ago");
}
on_both_backends!(an_incident_after_a_rehearsal_is_never_attributed_to_it);
