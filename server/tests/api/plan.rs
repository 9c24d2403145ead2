//! `GET /api/v1/plan`: a year ahead, real trains and the cutovers their
//! cadences will bring, which must be exactly the trains the scheduler
//! creates once its horizon reaches them.

use std::collections::BTreeSet;

use chrono::Duration;
use serde_json::Value;
use server::fleet::{self, parse};
use server::scheduler::{tick, SchedulerConfig};

use crate::helpers::{lead, spawn_app, test_now, Backend, TestApp};
use crate::on_both_backends;

/// Cadences around daylight-saving changes: 02:30 Berlin is skipped on the
/// last Sunday of March and happens twice on the last Sunday of October;
/// 01:30 New York happens twice on the first Sunday of November; Sydney
/// changes in April and October, the other way round.
pub(crate) const FLEET: &str = r#"
[[domain]]
name = "payments"

[[domain]]
name = "search"

[[domain]]
name = "identity"

[[service]]
name = "ledger"
domain = "payments"

[[service]]
name = "indexer"
domain = "search"

[[service]]
name = "auth"
domain = "identity"

[[train]]
name = "berlin-sunday-night"
domain = "payments"
services = ["ledger"]
cadence = "FREQ=WEEKLY;BYDAY=SU;BYHOUR=2;BYMINUTE=30"
time_zone = "Europe/Berlin"
starts = "2026-01-04"
planning_window = "1d"
cutover_window = "2h"

[[train]]
name = "new-york-first-sunday"
domain = "search"
services = ["indexer"]
cadence = "FREQ=MONTHLY;BYDAY=1SU;BYHOUR=1;BYMINUTE=30"
time_zone = "America/New_York"
starts = "2026-01-01"
planning_window = "2d"
cutover_window = "3h"

[[train]]
name = "sydney-twice-weekly"
domain = "identity"
services = ["auth"]
cadence = "FREQ=WEEKLY;BYDAY=MO,TH;BYHOUR=2;BYMINUTE=30"
time_zone = "Australia/Sydney"
starts = "2026-01-01"
planning_window = "1d"
cutover_window = "2h"

[[freeze]]
name = "year-end"
reason = "Holidays"
time_zone = "America/New_York"
starts = "2026-01-01"
cadence = "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=20"
duration = "15d"
"#;

async fn plan(app: &TestApp, query: &str) -> Vec<Value> {
    let (status, body) = app.get(&format!("/api/v1/plan?{query}")).await;
    assert_eq!(status, 200, "{query}: {body}");
    let plan: Value = serde_json::from_str(&body).expect("JSON");
    plan["cutovers"].as_array().expect("cutovers").clone()
}

fn keys(cutovers: &[Value]) -> BTreeSet<(String, String)> {
    cutovers
        .iter()
        .map(|c| (c["definition"].as_str().unwrap_or("").to_owned(), c["cutover_at"].as_str().unwrap_or("").to_owned()))
        .collect()
}

async fn projected_cutovers_are_the_trains_the_scheduler_creates_when_its_horizon_reaches_them(backend: Backend) {
    let app = spawn_app(backend, false).await;
    fleet::apply(&app.db, &parse("fleet.toml", FLEET).expect("valid"), test_now()).await.expect("apply");
    let fence = lead(&app.db).await;
    tick(&app.db, fence, test_now(), &SchedulerConfig::default()).await.expect("the usual 90-day horizon");
    let query = "from=2026-11-27T12:00:00Z&to=2027-12-31T12:00:00Z";
    let before = plan(&app, query).await;

    let horizon = test_now() + SchedulerConfig::default().horizon;
    let real: Vec<&Value> = before.iter().filter(|c| c["projected"] == false).collect();
    let projected: Vec<&Value> = before.iter().filter(|c| c["projected"] == true).collect();
    assert!(real.len() > 20 && projected.len() > 100, "{} real, {} projected", real.len(), projected.len());
    assert!(projected.iter().all(|c| c["state"] == "projected" && c.get("train_id").is_none()));
    let at =
        |c: &Value| chrono::DateTime::parse_from_rfc3339(c["cutover_at"].as_str().expect("time")).expect("RFC 3339");
    assert!(real.iter().all(|c| at(c) < horizon), "the scheduler created trains up to its horizon");
    assert!(projected.iter().all(|c| at(c) >= horizon - Duration::days(1)), "projected beyond it");
    let mut times: Vec<_> = before.iter().map(at).collect();
    let sorted = times.clone();
    times.sort();
    assert_eq!(times, sorted, "by cutover time");

    // DST: the skipped 02:30 of 28 March 2027 in Berlin is an hour later (03:30 CEST = 01:30Z);
    // the doubled 02:30 of 31 October 2027 is its first (CEST, 00:30Z).
    let berlin = keys(&before);
    assert!(berlin.contains(&("berlin-sunday-night".into(), "2027-03-28T01:30:00Z".into())), "{berlin:?}");
    assert!(berlin.contains(&("berlin-sunday-night".into(), "2027-10-31T00:30:00Z".into())));
    assert!(berlin.contains(&("new-york-first-sunday".into(), "2027-11-07T05:30:00Z".into())), "the first 01:30 (EDT)");

    // Freezes as the preview treats them: the year-end freeze moves identity's cutovers inside it.
    let frozen: Vec<&&Value> = projected.iter().filter(|c| c["freeze"]["name"] == "year-end").collect();
    assert!(!frozen.is_empty(), "year-end 2027 holds projected cutovers");
    assert!(frozen.iter().all(|c| c["freeze"]["effect"] == "moved" && c["freeze"]["until"] == "2028-01-04T05:00:00Z"));

    // Extend the scheduler's horizon over the whole range: the trains it creates are exactly the plan.
    let wide = SchedulerConfig { horizon: Duration::days(420), ..SchedulerConfig::default() };
    tick(&app.db, fence, test_now(), &wide).await.expect("a 420-day horizon");
    let after = plan(&app, query).await;
    assert!(after.iter().all(|c| c["projected"] == false), "every cutover is a real train now");
    assert_eq!(keys(&after), keys(&before), "projections and created trains agree");

    // One domain at a time.
    let search = plan(&app, &format!("{query}&domain=search")).await;
    assert!(!search.is_empty() && search.iter().all(|c| c["domain"] == "search"));
}
on_both_backends!(projected_cutovers_are_the_trains_the_scheduler_creates_when_its_horizon_reaches_them);

#[tokio::test]
async fn a_plan_asked_for_badly_is_a_clear_400() {
    let app = spawn_app(Backend::Sqlite, true).await;
    for (query, says) in [
        ("from=2026-12-01", "missing field `to`"),
        ("from=next-week&to=2027-01-01", "neither a date like 2026-12-01"),
        ("from=2027-01-01&to=2026-12-01", "`to` must be after `from`"),
        ("from=2027-01-01&to=2028-03-01", "at most 400 days"),
        ("from=2027-01-01&to=2027-02-01&colour=red", "unknown field `colour`"),
    ] {
        let (status, body) = app.get(&format!("/api/v1/plan?{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(body.contains(says), "{query}: {body}");
    }
}

#[tokio::test]
async fn the_year_view_shows_projected_trains_past_the_horizon_marked_and_unlinked() {
    let app = spawn_app(Backend::Sqlite, false).await;
    fleet::apply(&app.db, &parse("fleet.toml", FLEET).expect("valid"), test_now()).await.expect("apply");
    tick(&app.db, lead(&app.db).await, test_now(), &SchedulerConfig::default()).await.expect("the 90-day horizon");
    let (status, html) = app.get("/?view=year&month=2027-01").await;
    assert_eq!(status, 200);
    let chips: Vec<&str> = html
        .split("class=\"train state-")
        .skip(1)
        .map(|chip| &chip[..chip.find("</li>").unwrap_or(chip.len())])
        .collect();
    let (projected, real): (Vec<&str>, Vec<&str>) = chips.iter().partition(|chip| chip.starts_with("projected"));
    assert!(real.len() > 20, "January and February hold created trains: {} of {}", real.len(), chips.len());
    assert!(projected.len() > 100, "March to December are projected: {}", projected.len());
    assert!(projected.iter().all(|chip| !chip.contains("href=\"/trains/")), "a projected cutover has no train page");
    assert!(projected.iter().all(|chip| chip.contains("class=\"train-state\">projected")), "said in words");
    assert!(html.contains("projected: from the cadence, no train yet"), "and in the legend, which compact views keep");
    assert!(real.iter().all(|chip| chip.contains("href=\"/trains/")), "created trains open their page");
    let moved = projected.iter().filter(|chip| chip.contains("moved by year-end")).count();
    assert!(moved > 0, "December's year-end freeze moves projected cutovers, as the preview would");
    // Rendering projections stores nothing.
    let stored = || async {
        let mut conn = app.db.acquire().await.expect("connection");
        let (count,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM trains").fetch_one(&mut *conn).await.expect("count");
        count
    };
    let before = stored().await;
    assert_eq!(app.get("/?view=year&month=2028-01").await.0, 200);
    assert_eq!(stored().await, before, "only the scheduler creates trains");
}

/// Asks the dashboard's form: the next train for a change of `domain` ready on `day`, read in `zone`.
async fn next_train(app: &TestApp, domain: &str, day: &str, zone: &str) -> (u16, Value) {
    let form = format!("domain={domain}&ready_on={day}&zone={}", zone.replace('/', "%2F"));
    let (status, text) = app.call_rpc(&app.admin_cookie, "next_train", &form).await;
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

async fn the_dashboard_names_the_next_train_for_a_change_ready_on_a_day(backend: Backend) {
    let app = spawn_app(backend, false).await;
    fleet::apply(&app.db, &parse("fleet.toml", FLEET).expect("valid"), test_now()).await.expect("apply");
    tick(&app.db, lead(&app.db).await, test_now(), &SchedulerConfig::default()).await.expect("tick");

    // Ready today: the train the scheduler created for Sunday 29 November (02:30 CET), boarding until 00:30.
    let (status, answer) = next_train(&app, "payments", "2026-11-27", "Europe/Berlin").await;
    assert_eq!(status, 200, "{answer}");
    let train = &answer["train"];
    assert_eq!(train["definition"], "berlin-sunday-night");
    assert!(train["train_id"].is_string(), "a real train: {answer}");
    assert_eq!(train["cutover_own"], "Sun 29 Nov 2026 02:30 CET (Europe/Berlin)");
    assert_eq!(train["boarding_closes"], "Sun 29 Nov 2026 00:30 CET (Europe/Berlin)");
    assert_eq!(answer["ready"], "by the end of Friday 27 November 2026 (Europe/Berlin)");

    // Ready on Friday 26 March 2027, beyond the horizon: the projected Sunday train, whose 02:30 does not
    // exist that night in Berlin (03:30 CEST), seen from New York (already on summer time).
    let (status, answer) = next_train(&app, "payments", "2027-03-26", "America/New_York").await;
    assert_eq!(status, 200, "{answer}");
    let train = &answer["train"];
    assert!(train["train_id"].is_null() && train["state"] == "projected", "{answer}");
    assert_eq!(train["cutover_own"], "Sun 28 Mar 2027 03:30 CEST (Europe/Berlin)");
    assert_eq!(train["cutover_viewer"], "Sat 27 Mar 2027 21:30 EDT (America/New_York)");
    // Ready by midnight on Saturday in Berlin still boards it (boarding closes at 00:30); ready on the
    // Sunday itself means the next Sunday's.
    let (_, answer) = next_train(&app, "payments", "2027-03-27", "Europe/Berlin").await;
    assert_eq!(answer["train"]["cutover_own"], "Sun 28 Mar 2027 03:30 CEST (Europe/Berlin)", "{answer}");
    let (_, answer) = next_train(&app, "payments", "2027-03-28", "Europe/Berlin").await;
    assert_eq!(answer["train"]["cutover_own"], "Sun 4 Apr 2027 02:30 CEST (Europe/Berlin)", "{answer}");

    // The year-end freeze (from 20 December, New York time) moves identity's Thursday train of
    // 23 December 2027 to its end, and is in the way.
    let (status, answer) = next_train(&app, "identity", "2027-12-20", "").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["train"]["cutover_own"], "Thu 23 Dec 2027 02:30 AEDT (Australia/Sydney)", "{answer}");
    assert_eq!(
        answer["train"]["freeze"],
        "freeze \"year-end\" moves this cutover to its end, Tue 4 Jan 2028 05:00 UTC (UTC)"
    );
    let in_the_way = "year-end: Mon 20 Dec 2027 05:00 UTC (UTC) to Tue 4 Jan 2028 05:00 UTC (UTC)";
    assert_eq!(answer["freezes"], serde_json::json!([in_the_way]));

    // Mistakes get a sentence, not a guess.
    for (domain, day, zone, code, words) in [
        ("payments", "next tuesday", "UTC", 400, "is not a day like 2027-03-15"),
        ("payments", "2026-12-01", "Mars/Olympus", 400, "is not a time zone name"),
        ("payments", "2028-06-01", "UTC", 400, "more than 400 days ahead"),
        ("atlantis", "2026-12-01", "UTC", 404, "no domain is called \"atlantis\""),
    ] {
        let (status, answer) = next_train(&app, domain, day, zone).await;
        assert_eq!(status, code, "{domain} {day} {zone}: {answer}");
        let text = answer.as_str().map_or_else(|| answer.to_string(), str::to_owned);
        assert!(text.contains(words), "{domain} {day} {zone}: {text}");
    }
}
on_both_backends!(the_dashboard_names_the_next_train_for_a_change_ready_on_a_day);
