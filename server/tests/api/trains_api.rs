use server::api::trains::TrainList;
use server::scheduler::{tick, SchedulerConfig};

use crate::helpers::{spawn_app, test_now, Backend, TestApp};
use crate::on_both_backends;

async fn demo_app_with_upcoming_trains(backend: Backend) -> TestApp {
    let app = spawn_app(backend, true).await;
    tick(&app.db, crate::helpers::lead(&app.db).await, test_now(), &SchedulerConfig::default()).await.expect("tick");
    app
}

async fn lists_the_trains_cutting_over_in_a_range(backend: Backend) {
    let app = demo_app_with_upcoming_trains(backend).await;
    let (status, body) = app.get("/api/v1/trains?from=2026-12-01&to=2026-12-15").await;
    assert_eq!(status, 200, "{body}");
    let list: TrainList = serde_json::from_str(&body).expect("json");
    let found: Vec<(&str, &str)> = list.trains.iter().map(|t| (t.definition.as_str(), t.cutover_at.as_str())).collect();
    // payments: Tuesdays 03:00 Berlin (02:00Z); identity: Thursdays 10:00 New York (15:00Z);
    // mobile-api: every other Monday 09:00 Berlin (08:00Z); search: every other Wednesday 14:00 New York (19:00Z).
    assert_eq!(
        found,
        vec![
            ("payments-weekly", "2026-12-01T02:00:00Z"),
            ("identity-weekly", "2026-12-03T15:00:00Z"),
            ("mobile-api-biweekly", "2026-12-07T08:00:00Z"),
            ("payments-weekly", "2026-12-08T02:00:00Z"),
            ("search-biweekly", "2026-12-09T19:00:00Z"),
            ("identity-weekly", "2026-12-10T15:00:00Z"),
        ]
    );
    assert!(list.trains.iter().all(|t| t.state == "scheduled"));
    let payments = list.trains.iter().find(|t| t.definition == "payments-weekly").expect("payments train");
    assert_eq!(payments.time_zone, "Europe/Berlin");
    assert_eq!(payments.planning_opens_at, "2026-11-28T02:00:00Z", "three-day planning window");
}
on_both_backends!(trains_in_range, lists_the_trains_cutting_over_in_a_range);

#[tokio::test]
async fn trains_can_be_filtered_by_domain() {
    let app = demo_app_with_upcoming_trains(Backend::Sqlite).await;
    let (status, body) = app.get("/api/v1/trains?from=2026-12-01&to=2027-01-01&domain=search").await;
    assert_eq!(status, 200, "{body}");
    let list: TrainList = serde_json::from_str(&body).expect("json");
    assert_eq!(list.trains.len(), 2, "bi-weekly: 9 and 23 December");
    assert!(list.trains.iter().all(|t| t.domain == "search"));
}

#[tokio::test]
async fn bad_ranges_get_a_400_that_says_what_is_wrong() {
    let app = spawn_app(Backend::Sqlite, false).await;
    let cases = [
        ("/api/v1/trains?from=2026-12-01", "missing field `to`"),
        ("/api/v1/trains?from=yesterday&to=2026-12-01", "`from` is \"yesterday\""),
        ("/api/v1/trains?from=2026-12-10&to=2026-12-01", "`to` must be after `from`"),
        ("/api/v1/trains?from=2026-01-01&to=2028-01-01", "at most 400 days"),
        ("/api/v1/trains?from=2026-12-01&to=2026-12-02&colour=red", "unknown field `colour`"),
    ];
    for (path, expected) in cases {
        let (status, body) = app.get(path).await;
        assert_eq!(status, 400, "{path}: {body}");
        let json: serde_json::Value = serde_json::from_str(&body).expect("json error body");
        let message = json["error"].as_str().expect("error message");
        assert!(message.contains(expected), "{path}: {message}");
    }
}
