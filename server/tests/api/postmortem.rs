//! The postmortem draft of a rolled-back train: every section, with that
//! train's own figures.

use serde_json::Value;
use server::integrations::SimulatedMetrics;

use crate::budgets::run_train;
use crate::helpers::{spawn_app, Backend};
use crate::on_both_backends;

async fn a_rolled_back_train_s_postmortem_has_every_section_with_its_own_figures(backend: Backend) {
    let app = spawn_app(backend, false).await;
    // Checkout burns its budget at the canary: the fast-burn rule rolls the train back.
    let metrics = SimulatedMetrics { burning: Some(("checkout".into(), 1, 1)), ..SimulatedMetrics::default() };
    let (train_id, artifacts, detail) = run_train(&app, metrics).await;
    assert_eq!(detail["state"], "rolled_back", "{detail}");
    let report = serde_json::json!({ "service": "checkout", "severity": "high", "title": "checkout errors after the canary",
                                     "link": "https://status.example.com/1", "started_at": detail["timeline"].as_array().and_then(|t| t.last()).map_or(Value::Null, |e| e["at"].clone()) });
    let (status, incident) = app.post_json("/api/v1/incidents", &report).await;
    assert_eq!(status, 201, "{incident}");

    let response =
        app.client.get(format!("{}/api/v1/trains/{train_id}/postmortem", app.address)).send().await.expect("request");
    assert_eq!(response.status(), 200);
    let kind = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(kind.starts_with("text/markdown"), "{kind}");
    let disposition =
        response.headers().get("content-disposition").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(disposition.contains(&format!("postmortem-{train_id}.md")), "{disposition}");
    let markdown = response.text().await.expect("body");

    let mut last = 0;
    for section in server::service::views::postmortem::SECTIONS.iter().chain(&["## Audit excerpt"]) {
        let at = markdown.find(section).unwrap_or_else(|| panic!("{section} is missing:\n{markdown}"));
        assert!(at >= last, "{section} is in outline order");
        last = at;
    }
    assert!(markdown.contains(&format!("train {train_id}")), "the train is named");
    assert!(markdown.contains("| Outcome | rolled back |"), "{markdown}");
    // Every timeline entry, with its reason.
    for event in detail["timeline"].as_array().expect("timeline") {
        let reason = event["reason"].as_str().expect("reason").replace('|', "\\|");
        assert!(markdown.contains(&reason), "timeline entry {reason:?} is in the draft");
    }
    // The gate answers of each candidate.
    assert!(markdown.contains("| checkout | tests | passed | passed |"), "{markdown}");
    // Detection and rollback times: the rollback's own figures.
    let section = |title: &str| {
        let start = markdown.find(title).expect("section");
        let rest = &markdown[start + title.len()..];
        rest[..rest.find("\n## ").unwrap_or(rest.len())].to_owned()
    };
    let detect = section("## Time to detect and roll back");
    assert!(detect.contains("Detected:") && detect.contains("Baseline restored:"), "{detect}");
    let rolled_back_at = detail["timeline"]
        .as_array()
        .and_then(|t| t.iter().find(|e| e["to"] == "rolled_back"))
        .and_then(|e| e["at"].as_str())
        .expect("rolled back event")
        .to_owned();
    assert!(detect.contains(&rolled_back_at), "the restore time is the train's own: {detect}");
    // Error budget: the measured figures of checkout, as the API reports them.
    let checkout = detail["measurements"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["service"] == "checkout"))
        .expect("measured");
    let spent = format!("{:.1}%", checkout["budget_consumed"].as_f64().expect("number") * 100.0);
    assert!(section("## Error budget consumed").contains(&format!("| checkout | {spent} |")), "{markdown}");
    assert!(
        section("## Incidents attributed to this train").contains("checkout errors after the canary"),
        "{markdown}"
    );
    assert!(section("## Root cause across teams").contains("| billing | 2.0.0 | bob |"), "{markdown}");
    // The audit excerpt names the registrations of the cargo.
    assert!(section("## Audit excerpt").contains(&format!("artifact:{}", artifacts[0])), "{markdown}");

    let (status, _) = app.get("/api/v1/trains/no-such-train/postmortem").await;
    assert_eq!(status, 404);
    let (_, html) = app.get(&format!("/trains/{train_id}")).await;
    assert!(html.contains(&format!("/api/v1/trains/{train_id}/postmortem")), "the train page links the draft");
}
on_both_backends!(a_rolled_back_train_s_postmortem_has_every_section_with_its_own_figures);
