//! The iCalendar feed: every train's cutover window and every freeze, with
//! UIDs that stay the same when a train changes, per domain too, readable
//! by calendar apps that can only send a URL.

use std::collections::{BTreeMap, BTreeSet};

use server::fleet::{self, parse};
use server::scheduler::{tick, SchedulerConfig};
use server::time::Instant;

use crate::helpers::{create_token, ledger_fleet, spawn_app, test_now, Backend, TestApp};

const FREEZES: &str = r#"
[[domain]]
name = "search"

[[freeze]]
name = "year-end"
time_zone = "UTC"
starts = "2026-12-20"
ends = "2027-01-03"
reason = "holidays"

[[freeze]]
name = "search-reindex"
domain = "search"
time_zone = "UTC"
starts = "2026-12-05"
ends = "2026-12-06"
"#;

async fn feed(app: &TestApp, query: &str) -> (u16, String) {
    let response = app.client.get(format!("{}/calendar.ics{query}", app.address)).send().await.expect("request");
    let status = response.status().as_u16();
    if status == 200 {
        let kind = response.headers()[reqwest::header::CONTENT_TYPE].to_str().expect("text").to_owned();
        assert_eq!(kind, "text/calendar; charset=utf-8");
    }
    (status, response.text().await.expect("body"))
}

/// The feed's events as a real iCalendar parser reads them: each event's properties by name.
fn events(feed: &str) -> Vec<BTreeMap<String, String>> {
    let calendars: Vec<ical::parser::ical::component::IcalCalendar> =
        ical::IcalParser::new(std::io::BufReader::new(feed.as_bytes()))
            .collect::<Result<_, _>>()
            .unwrap_or_else(|error| panic!("not a valid iCalendar feed ({error}): {feed}"));
    assert_eq!(calendars.len(), 1, "one calendar");
    calendars[0]
        .events
        .iter()
        .map(|event| event.properties.iter().filter_map(|p| Some((p.name.clone(), p.value.clone()?))).collect())
        .collect()
}

/// The UIDs of the feed's events that start with `prefix`; every event has a start, an end and a summary.
fn uids(feed: &str, prefix: &str) -> BTreeSet<String> {
    events(feed)
        .into_iter()
        .inspect(|event| {
            for name in ["DTSTART", "DTEND", "SUMMARY", "DTSTAMP"] {
                assert!(event.contains_key(name), "an event without {name}: {event:?}");
            }
        })
        .filter_map(|event| event.get("UID").cloned())
        .filter(|uid| uid.starts_with(prefix))
        .collect()
}

#[tokio::test]
async fn the_feed_lists_every_train_and_freeze_with_stable_uids() {
    let app = spawn_app(Backend::Sqlite, false).await;
    let file = format!("{}{FREEZES}", ledger_fleet("", "", &[]));
    fleet::apply(&app.db, &parse("fleet.toml", &file).expect("valid"), test_now()).await.expect("apply");
    tick(&app.db, crate::helpers::lead(&app.db).await, test_now(), &SchedulerConfig::default()).await.expect("tick");

    let (status, all) = feed(&app, "").await;
    assert_eq!(status, 200, "{all}");
    assert!(all.starts_with("BEGIN:VCALENDAR\r\n") && all.ends_with("END:VCALENDAR\r\n"));
    let mut conn = app.db.acquire().await.expect("connection");
    let now = Instant::from_utc(test_now());
    let ids: Vec<(String,)> = sqlx::query_as("SELECT id FROM trains WHERE cutover_at >= $1 AND cutover_at < $2")
        .bind((now - 30 * 86_400_000).ms())
        .bind((now + 180 * 86_400_000).ms())
        .fetch_all(&mut *conn)
        .await
        .expect("trains");
    assert!(ids.len() > 80, "the scheduler planned the daily train three months ahead");
    let expected: BTreeSet<String> = ids.iter().map(|(id,)| format!("train-{id}@railyard")).collect();
    assert_eq!(uids(&all, "train-"), expected, "one event per train");
    assert_eq!(uids(&all, "freeze-").len(), 2, "both freezes");
    assert!(all.contains("SUMMARY:Freeze: year-end (every domain)"));
    let year_end = events(&all).into_iter().find(|e| e.get("DTSTART").map(String::as_str) == Some("20261220T000000Z"));
    assert_eq!(
        year_end.and_then(|e| e.get("DTEND").cloned()).as_deref(),
        Some("20270104T000000Z"),
        "the last frozen day is included"
    );

    // A train that is skipped keeps its UID: subscribers see it cancelled, not doubled.
    let (first,) = &ids[0];
    sqlx::query("UPDATE trains SET state = 'skipped' WHERE id = $1")
        .bind(first)
        .execute(&mut *conn)
        .await
        .expect("skip");
    let (_, again) = feed(&app, "").await;
    assert_eq!(uids(&again, "train-"), expected);
    let event =
        again.split("BEGIN:VEVENT").find(|e| e.contains(&format!("UID:train-{first}@railyard"))).expect("event");
    assert!(event.contains("STATUS:CANCELLED"), "{event}");

    let (_, payments) = feed(&app, "?domain=payments").await;
    assert_eq!(uids(&payments, "train-"), expected);
    assert!(payments.contains("year-end") && !payments.contains("search-reindex"), "only its own and global freezes");
    let (_, search) = feed(&app, "?domain=search").await;
    assert!(uids(&search, "train-").is_empty() && search.contains("search-reindex") && search.contains("year-end"));
    let (status, body) = feed(&app, "?domain=atlantis").await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test]
async fn calendar_apps_subscribe_with_a_feed_token_in_the_url_and_no_other_kind() {
    let app = spawn_app(Backend::Sqlite, false).await;
    let url = |query: &str| format!("{}/calendar.ics{query}", app.address);
    let status = |response: reqwest::Response| response.status().as_u16();
    assert_eq!(status(app.anonymous.get(url("")).send().await.expect("request")), 401);
    let feed = create_token(&app.anonymous, &app.address, &app.admin_cookie, &["feed:read"]).await;
    let subscribed = app.anonymous.get(url(&format!("?token={feed}"))).send().await.expect("request");
    assert_eq!(status(subscribed), 200);
    let forged = app.anonymous.get(url("?token=ryd_not-a-token")).send().await.expect("request");
    assert_eq!(status(forged), 401);
    // A read or write token in a URL is refused: URLs end up in histories and logs.
    for scopes in [&["read"][..], &["read", "artifacts:write"][..]] {
        let token = create_token(&app.anonymous, &app.address, &app.admin_cookie, scopes).await;
        let refused = app.anonymous.get(url(&format!("?token={token}"))).send().await.expect("request");
        assert_eq!(refused.status().as_u16(), 401);
        assert!(refused.text().await.expect("body").contains("only a feed token"), "{scopes:?}");
        // In the Authorization header a read token still reads the feed.
        let header = app.anonymous.get(url("")).bearer_auth(&token).send().await.expect("request");
        assert_eq!(status(header), 200);
    }
    // A feed token reads nothing else, in the URL or in the header.
    let elsewhere = app.anonymous.get(format!("{}/api/v1/trains?token={feed}", app.address)).send().await;
    assert_eq!(status(elsewhere.expect("request")), 401);
    let api = app.anonymous.get(format!("{}/api/v1/trains", app.address)).bearer_auth(&feed).send().await;
    assert_eq!(status(api.expect("request")), 403);
}
