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
on_both_backends!(lists_the_trains_cutting_over_in_a_range);

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

/// `If-None-Match` with a listing's `ETag` answers 304 until something
/// changes; a change shows on the very next read, in the API and the calendar.
async fn a_listing_is_revalidated_by_etag_and_a_change_shows_at_once(backend: Backend) {
    let app = demo_app_with_upcoming_trains(backend).await;
    let listing = |etag: Option<String>| {
        let mut request = app.client.get(format!("{}/api/v1/trains?from=2026-11-27&to=2026-12-15", app.address));
        if let Some(etag) = etag {
            request = request.header(reqwest::header::IF_NONE_MATCH, etag);
        }
        async move {
            let response = request.send().await.expect("request");
            let etag = response.headers().get(reqwest::header::ETAG).map(|v| v.to_str().expect("text").to_owned());
            (response.status().as_u16(), etag, response.text().await.expect("body"))
        }
    };
    let (status, first_tag, body) = listing(None).await;
    assert_eq!(status, 200, "{body}");
    let first_tag = first_tag.expect("an ETag");
    let before: TrainList = serde_json::from_str(&body).expect("json");
    let (status, again, body) = listing(Some(first_tag.clone())).await;
    assert_eq!((status, again.as_deref(), body.as_str()), (304, Some(first_tag.as_str()), ""), "unchanged");
    let calendar_marks = |page: &str| page.matches("REHEARSAL").count();
    let (_, page) = app.get("/?month=2026-11").await;
    let marks_before = calendar_marks(&page);

    let rita = app.user_with_roles("rita", &[("release_manager", Some("payments"))]).await;
    let rehearsal = serde_json::json!({ "definition": "payments-weekly", "reason": "game day before the freeze" });
    let (status, body) =
        app.send_as(Some(&rita), reqwest::Method::POST, "/api/v1/trains/rehearsal", Some(&rehearsal)).await;
    assert_eq!(status, 201, "{body}");

    let (status, new_tag, body) = listing(Some(first_tag.clone())).await;
    assert_eq!(status, 200, "changed, so the whole listing: {body}");
    assert_ne!(new_tag.as_deref(), Some(first_tag.as_str()), "a new ETag");
    let after: TrainList = serde_json::from_str(&body).expect("json");
    assert_eq!(after.trains.len(), before.trains.len() + 1, "the rehearsal is listed");
    assert!(after.trains.iter().any(|t| t.kind == server::train_kind::TrainKind::Rehearsal && t.state == "planning"));
    let (_, page) = app.get("/?month=2026-11").await;
    assert!(calendar_marks(&page) > marks_before, "and on the calendar");
}
on_both_backends!(a_listing_is_revalidated_by_etag_and_a_change_shows_at_once);
