use server::scheduler::{tick, SchedulerConfig};

use crate::helpers::{spawn_app, test_now, Backend};

#[tokio::test]
async fn the_calendar_is_server_rendered_with_trains_freezes_and_navigation() {
    let app = spawn_app(Backend::Sqlite, true).await;
    tick(&app.db, crate::helpers::lead(&app.db).await, test_now(), &SchedulerConfig::default()).await.expect("tick");
    let (status, html) = app.get("/").await;
    assert_eq!(status, 200);
    assert!(html.contains("November 2026"), "the current month by the app's clock");
    for domain in ["payments", "search", "identity", "mobile-api"] {
        assert!(html.contains(domain), "legend and trains name {domain}");
    }
    assert!(
        html.contains("href=\"/?month=2026-10\"") && html.contains("href=\"/?month=2026-12\""),
        "previous/next links"
    );
    assert!(html.contains("class=\"day frozen\"") || html.contains("day today frozen"), "Thanksgiving is shaded");
    assert!(html.contains("thanksgiving"));
    assert!(html.contains("03:00 CET"), "payments' own cutover time");
    assert!(html.contains("in-freeze"), "the 1 December payments train falls in the month-end close");
    assert!(html.contains("today"), "today is marked");
    assert!(html.contains("href=\"/trains/"), "each train opens its page");
}

#[tokio::test]
async fn another_month_is_served_from_its_query_without_javascript() {
    let app = spawn_app(Backend::Sqlite, true).await;
    tick(&app.db, crate::helpers::lead(&app.db).await, test_now(), &SchedulerConfig::default()).await.expect("tick");
    let (status, html) = app.get("/?month=2026-12").await;
    assert_eq!(status, 200);
    assert!(html.contains("December 2026"));
    assert!(html.contains("year-end"), "the year-end freeze starts on 20 December");
    assert!(html.contains("search-biweekly"));
}

#[tokio::test]
async fn one_domain_and_a_quarter_are_served_from_the_query() {
    let app = spawn_app(Backend::Sqlite, true).await;
    tick(&app.db, crate::helpers::lead(&app.db).await, test_now(), &SchedulerConfig::default()).await.expect("tick");
    let (status, html) = app.get("/?domain=search").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("search-biweekly") || html.contains("search-"), "search's trains");
    assert!(!html.contains("payments-weekly") && !html.contains("03:00 CET"), "no other domain's trains");
    assert!(html.contains("<option value=\"payments\">payments</option>"), "the filter still offers every domain");
    assert!(html.contains("href=\"/?month=2026-12&amp;domain=search\""), "navigation keeps the filter");

    let (status, html) = app.get("/?view=quarter&month=2026-11").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("November 2026 – January 2027"), "three months from November");
    assert_eq!(html.matches("class=\"month-grid\"").count(), 3, "one grid per month");
    assert!(html.contains("href=\"/?month=2027-02&amp;view=quarter\""), "next quarter");
    assert!(html.contains("href=\"/?month=2026-08&amp;view=quarter\""), "previous quarter");

    let (status, html) = app.get("/?domain=nowhere").await;
    assert_eq!(status, 404);
    assert!(html.contains("there is no domain \"nowhere\""), "{html}");
}

#[tokio::test]
async fn a_malformed_month_explains_itself() {
    let app = spawn_app(Backend::Sqlite, true).await;
    let (status, html) = app.get("/?month=2026-13").await;
    assert_eq!(status, 400);
    assert!(html.contains("is not a month like"), "{html}");
    assert!(html.contains("Go to the current month"));
}

#[tokio::test]
async fn an_unknown_address_is_a_404_page() {
    let app = spawn_app(Backend::Sqlite, false).await;
    let (status, html) = app.get("/no/such/page").await;
    assert_eq!(status, 404);
    assert!(html.contains("Page not found"), "{html}");
}

#[tokio::test]
async fn the_kind_filter_shows_the_demo_rehearsals_alone() {
    let app = spawn_app(Backend::Sqlite, true).await;
    tick(&app.db, crate::helpers::lead(&app.db).await, test_now(), &SchedulerConfig::default()).await.expect("tick");
    let (status, html) = app.get("/?kind=rehearsal").await;
    assert_eq!(status, 200);
    let chips = |html: &str| -> Vec<String> {
        let marker = "class=\"train ";
        html.split(marker).skip(1).map(|rest| rest[..rest.find('"').unwrap_or(0)].to_owned()).collect()
    };
    let (all, chips) = (chips(&app.get("/").await.1), chips(&html));
    // (The one the day before the last payments train is in the demo's replayed past, see demo_history.rs.)
    assert_eq!(chips.len(), 1, "the demo's rehearsal the day before the next payments train: {chips:?}");
    assert!(chips.iter().all(|class| class.ends_with(" rehearsal")), "{chips:?}");
    assert!(html.contains("REHEARSAL"), "marked in words");
    assert!(html.contains("<option value=\"rehearsal\" selected"), "the filter shows what it filters");
    assert!(all.len() > chips.len() + 5, "without the filter the regular trains show too ({})", all.len());
    assert_eq!(all.iter().filter(|class| class.ends_with(" rehearsal")).count(), 1, "and so does the rehearsal");
}

#[tokio::test]
async fn a_year_shows_twelve_months_and_steps_a_year_at_a_time() {
    let app = spawn_app(Backend::Sqlite, true).await;
    let (status, html) = app.get("/?view=year&month=2026-01").await;
    assert_eq!(status, 200);
    assert!(html.contains("January 2026 – December 2026"), "the year's title");
    assert_eq!(html.matches("class=\"month-grid\"").count(), 12, "twelve month grids");
    assert!(html.contains("href=\"/?month=2027-01&amp;view=year\""), "next year");
    assert!(html.contains("href=\"/?month=2025-01&amp;view=year\""), "previous year");
    assert!(html.contains("year-end"), "December's freeze is in it");
}
