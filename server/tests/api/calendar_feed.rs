//! The iCalendar feed: every train's cutover window and every freeze, with
//! UIDs that stay the same when a train changes, per domain too, readable
//! by calendar apps that can only send a URL.

use std::collections::{BTreeMap, BTreeSet};

use chrono::TimeZone;
use serde_json::Value;
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
            for name in ["DTSTART", "SUMMARY", "DTSTAMP"] {
                assert!(event.contains_key(name), "an event without {name}: {event:?}");
            }
            assert!(
                event.contains_key("DTEND") || event.contains_key("DURATION"),
                "an event without an end: {event:?}"
            );
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
        .bind((now + 400 * 86_400_000).ms())
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

/// A freeze that begins half an hour into the Berlin train's cutover window
/// of 13 June 2027: that cutover is suspended, not moved.
const SUSPENDING_FREEZE: &str = r#"
[[freeze]]
name = "june-audit"
domain = "payments"
time_zone = "Europe/Berlin"
starts = "2027-06-13T03:00"
ends = "2027-06-14T00:00"
"#;

/// The feed expanded by `icalendar` + `recurring-ical-events` (PyPI), every
/// occurrence starting in `[from, to)`; `own_zones`: with the feed's VTIMEZONEs only.
fn expanded(feed: &str, from: &str, to: &str, own_zones: bool) -> Vec<Value> {
    let python = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/toolchain/ical/bin/python");
    assert!(python.exists(), "{} is missing: scripts/setup installs it", python.display());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api/expand_feed.py");
    let file = tempfile::NamedTempFile::new().expect("temporary file");
    std::fs::write(file.path(), feed).expect("write the feed");
    let mut command = std::process::Command::new(python);
    command.arg(script).arg(file.path()).arg(from).arg(to);
    if own_zones {
        command.arg("--own-zones");
    }
    let output = command.output().expect("run the expansion");
    assert!(output.status.success(), "expansion failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("JSON")
}

/// What a calendar shows for one occurrence: the train's UID, or the projected
/// definition and what a freeze does to it, and when it starts.
fn shown(occurrence: &Value) -> String {
    let uid = occurrence["uid"].as_str().unwrap_or_default();
    let start = occurrence["start"].as_str().unwrap_or_default();
    if uid.starts_with("train-") {
        return format!("{uid} {start}");
    }
    let summary = occurrence["summary"].as_str().unwrap_or_default();
    let definition = summary.split(" cutover").next().unwrap_or_default();
    let effect = ["moved", "suspended"].into_iter().find(|e| summary.contains(e)).unwrap_or("clear");
    format!("projected {definition} {start} {effect}")
}

#[tokio::test]
async fn calendar_apps_expand_the_recurring_events_to_exactly_the_planned_cutovers() {
    let app = spawn_app(Backend::Sqlite, false).await;
    let file = format!("{}{SUSPENDING_FREEZE}", crate::plan::FLEET);
    fleet::apply(&app.db, &parse("fleet.toml", &file).expect("valid"), test_now()).await.expect("apply");
    tick(&app.db, crate::helpers::lead(&app.db).await, test_now(), &SchedulerConfig::default()).await.expect("tick");
    // A train created far beyond the horizon (8 July 2027): the recurring event leaves its slot out.
    let mut conn = app.db.acquire().await.expect("connection");
    let sydney = server::store::definitions::by_name(&mut conn, "sydney-twice-weekly").await.expect("read");
    let sydney = sydney.expect("the Sydney definition");
    let cadence = server::scheduler::parse_cadence(&sydney).expect("cadence");
    let july = chrono::Utc.with_ymd_and_hms(2027, 7, 7, 0, 0, 0).single().expect("date");
    let far = server::scheduler::cutovers(&sydney, &cadence, july, july + chrono::Duration::days(2));
    let created = server::store::trains::insert_if_absent(&mut conn, &far[0], Instant::from_utc(test_now()))
        .await
        .expect("insert")
        .expect("a new train");
    drop(conn);

    let (status, feed_text) = feed(&app, "").await;
    assert_eq!(status, 200, "{feed_text}");
    for zone in ["Europe/Berlin", "America/New_York", "Australia/Sydney"] {
        assert!(feed_text.contains(&format!("BEGIN:VTIMEZONE\r\nTZID:{zone}\r\n")), "{zone}");
    }
    assert_eq!(feed_text.matches("\r\nRRULE:").count(), 3, "one recurring event per definition");
    assert!(feed_text.contains("\r\nEXDATE;TZID=Australia/Sydney:20270708T023000\r\n"), "the created train's slot");
    assert!(feed_text.contains("\r\nRECURRENCE-ID;TZID="), "freezes change occurrences");

    let now = Instant::from_utc(test_now());
    let end = now + 400 * 86_400_000;
    let (status, body) = app.get(&format!("/api/v1/plan?from={}&to={}", now.rfc3339(), end.rfc3339())).await;
    assert_eq!(status, 200, "{body}");
    let plan: Value = serde_json::from_str(&body).expect("JSON");
    let mut expected: Vec<String> = plan["cutovers"]
        .as_array()
        .expect("cutovers")
        .iter()
        .map(|cutover| {
            let at = |field: &str| {
                let text = cutover[field].as_str().expect("time");
                chrono::DateTime::parse_from_rfc3339(text).expect("RFC 3339").format("%Y-%m-%dT%H:%M:%SZ").to_string()
            };
            match cutover["train_id"].as_str() {
                Some(id) => format!("train-{id}@railyard {}", at("cutover_at")),
                None => {
                    let effect = cutover["freeze"]["effect"].as_str().unwrap_or("clear");
                    let start = if effect == "moved" { at_freeze_end(cutover) } else { at("cutover_at") };
                    format!("projected {} {start} {effect}", cutover["definition"].as_str().expect("name"))
                }
            }
        })
        .collect();
    expected.sort();
    assert!(expected.iter().any(|e| e.ends_with(" moved")), "the year-end freeze moves cutovers");
    assert!(
        expected.contains(&"projected berlin-sunday-night 2027-06-13T00:30:00Z suspended".to_owned()),
        "the June audit suspends one: {expected:#?}"
    );
    assert!(expected.contains(&format!("train-{created}@railyard 2027-07-07T16:30:00Z")));
    assert!(expected.len() > 150, "{} cutovers in 400 days", expected.len());

    // A domain's feed carries only its own definitions' recurring events.
    let (status, search) = feed(&app, "?domain=search").await;
    assert_eq!(status, 200, "{search}");
    assert_eq!(search.matches("\r\nRRULE:").count(), 1, "{search}");
    assert!(search.contains("SUMMARY:new-york-first-sunday cutover (search)\\, projected"), "{search}");
    assert!(!search.contains("berlin-"), "{search}");

    // Moved cutovers start when their freeze ends, which may be after the plan's range.
    let later = (end + 60 * 86_400_000).rfc3339();
    for own_zones in [false, true] {
        let mut found: Vec<String> = expanded(&feed_text, &now.rfc3339(), &later, own_zones)
            .iter()
            .filter(|o| !o["uid"].as_str().unwrap_or_default().starts_with("freeze-"))
            .map(shown)
            .collect();
        found.sort();
        assert_eq!(found, expected, "expanded with {} time zones", if own_zones { "the feed's" } else { "named" });
    }
}

/// A moved cutover's new start: the end of the freeze in its way, in UTC.
fn at_freeze_end(cutover: &Value) -> String {
    let text = cutover["freeze"]["until"].as_str().expect("until");
    chrono::DateTime::parse_from_rfc3339(text).expect("RFC 3339").format("%Y-%m-%dT%H:%M:%SZ").to_string()
}
