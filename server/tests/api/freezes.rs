//! Declaring a freeze over the API (and the console, which calls the same
//! functions): the impact preview lists the trains it would suspend or move
//! and stores nothing; declaring is checked like a trains-as-code entry,
//! limited to the domain's release managers, audited, and takes effect.

use reqwest::Method;
use serde_json::{json, Value};
use server::fleet::{self, parse};
use server::scheduler::{tick, SchedulerConfig};
use server::store;
use server::time::Instant;

use crate::helpers::{ledger_fleet, spawn_app, test_now, Backend};

fn december_first(name: &str) -> Value {
    json!({ "name": name, "domain": "payments", "time_zone": "UTC", "starts": "2026-12-01", "ends": "2026-12-02",
            "reason": "ledger migration" })
}

#[tokio::test]
async fn a_freeze_is_previewed_with_the_trains_it_holds_then_declared() {
    let app = spawn_app(Backend::Sqlite, false).await;
    let file = format!("{}\n[[domain]]\nname = \"search\"\n", ledger_fleet("", "", &[]));
    fleet::apply(&app.db, &parse("fleet.toml", &file).expect("valid"), test_now()).await.expect("apply");
    tick(&app.db, crate::helpers::lead(&app.db).await, test_now(), &SchedulerConfig::default()).await.expect("tick");
    let pat = app.user_with_roles("pat", &[("release_manager", Some("payments"))]).await;
    let sam = app.user_with_roles("sam", &[("release_manager", Some("search"))]).await;
    let rita = app.user_with_roles("rita", &[("release_manager", None)]).await;
    let send = |cookie: &str, path: &str, body: Value| {
        let cookie = cookie.to_owned();
        let path = path.to_owned();
        let app = &app;
        async move {
            let (status, text) = app.send_as(Some(&cookie), Method::POST, &path, Some(&body)).await;
            (status, serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text)))
        }
    };
    // The train cutting over on 1 December is made to be in flight already.
    let mut conn = app.db.acquire().await.expect("connection");
    let (first,): (String,) = sqlx::query_as("SELECT id FROM trains WHERE cutover_at = $1")
        .bind(
            (Instant::from_utc(chrono::DateTime::parse_from_rfc3339("2026-12-01T14:00:00Z").expect("instant").into()))
                .ms(),
        )
        .fetch_one(&mut *conn)
        .await
        .expect("the 1 December train");
    sqlx::query("UPDATE trains SET state = 'canary' WHERE id = $1")
        .bind(&first)
        .execute(&mut *conn)
        .await
        .expect("set");
    drop(conn);

    let (status, preview) = send(&pat, "/api/v1/freezes/preview", december_first("ledger-migration")).await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["windows"], json!([{ "start": "2026-12-01T00:00:00Z", "end": "2026-12-03T00:00:00Z" }]));
    let impacts: Vec<(&str, &str, &str)> = preview["impacts"]
        .as_array()
        .expect("impacts")
        .iter()
        .map(|i| {
            let text = |field: &str| i[field].as_str().expect("a string field");
            (text("cutover_at"), text("effect"), text("until"))
        })
        .collect();
    assert_eq!(
        impacts,
        vec![
            ("2026-12-01T14:00:00Z", "suspended", "2026-12-03T00:00:00Z"),
            ("2026-12-02T14:00:00Z", "moved", "2026-12-03T00:00:00Z"),
        ]
    );
    let mut conn = app.db.acquire().await.expect("connection");
    assert!(store::freezes::list(&mut conn).await.expect("freezes").is_empty(), "a preview stores nothing");
    drop(conn);

    let (status, body) = send(&sam, "/api/v1/freezes/preview", december_first("x")).await;
    assert_eq!(status, 403, "another domain's release manager: {body}");
    let (status, body) = send(
        &pat,
        "/api/v1/freezes",
        json!({ "name": "all", "time_zone": "UTC", "starts": "2026-12-01", "ends": "2026-12-02" }),
    )
    .await;
    assert_eq!(status, 403, "freezing every domain needs a release manager of every domain: {body}");
    let mut bad = december_first("bad");
    bad["starts"] = json!("tomorrow");
    let (status, body) = send(&pat, "/api/v1/freezes", bad).await;
    assert_eq!(status, 400);
    assert!(
        body["error"].as_str().expect("message").contains("field `starts`: \"tomorrow\" is not a date or time"),
        "{body}"
    );
    let mut unknown = december_first("nowhere");
    unknown["domain"] = json!("atlantis");
    assert_eq!(send(&rita, "/api/v1/freezes", unknown).await.0, 422);
    let mut extra = december_first("extra");
    extra["colour"] = json!("blue");
    assert_eq!(send(&pat, "/api/v1/freezes", extra).await.0, 422, "unknown fields are refused");

    let (status, declared) = send(&pat, "/api/v1/freezes", december_first("ledger-migration")).await;
    assert_eq!(status, 201, "{declared}");
    assert_eq!(declared["impacts"].as_array().map(Vec::len), Some(2));
    let (status, again) = send(&pat, "/api/v1/freezes", december_first("ledger-migration")).await;
    assert_eq!(status, 409, "{again}");

    let mut conn = app.db.acquire().await.expect("connection");
    let freeze = store::freezes::by_name(&mut conn, "ledger-migration").await.expect("query").expect("stored");
    let payments = store::domains::list(&mut conn).await.expect("domains").into_iter().find(|d| d.name == "payments");
    let payments = payments.expect("payments").id;
    let noon = Instant::from_utc(chrono::DateTime::parse_from_rfc3339("2026-12-02T12:00:00Z").expect("instant").into());
    assert!(freeze.holds(&payments, noon), "in force for payments on 2 December");
    let audit = store::audit::latest(&mut conn, 5).await.expect("audit");
    assert!(audit.iter().any(|r| r.action == "freeze.declared" && r.actor == "user:pat"), "{audit:?}");
}

#[tokio::test]
async fn the_console_previews_then_declares_a_freeze_through_its_form() {
    let app = spawn_app(Backend::Sqlite, false).await;
    fleet::apply(&app.db, &parse("fleet.toml", &ledger_fleet("", "", &[])).expect("valid"), test_now())
        .await
        .expect("apply");
    tick(&app.db, crate::helpers::lead(&app.db).await, test_now(), &SchedulerConfig::default()).await.expect("tick");
    let pat = app.user_with_roles("pat", &[("release_manager", Some("payments"))]).await;
    // What the form sends: datetime-local values, and the domain picked.
    let form = "form%5Bname%5D=ledger-migration&form%5Bdomain%5D=payments&form%5Bstarts%5D=2026-12-01T13%3A00\
                &form%5Bends%5D=2026-12-01T16%3A00&form%5Btime_zone%5D=UTC&form%5Breason%5D=ledger+migration";
    let (status, body) = app.call_rpc(&pat, "preview_freeze", form).await;
    assert_eq!(status, 200, "{body}");
    let preview: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(preview["impacts"][0]["cutover_at"], "2026-12-01T14:00:00Z");
    assert_eq!(preview["impacts"][0]["effect"], "moved");
    assert_eq!(preview["impacts"].as_array().map(Vec::len), Some(1));
    let (status, body) = app.call_rpc(&pat, "declare_freeze", form).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("freeze ledger-migration declared; it holds 1 train"), "{body}");
    let (status, body) = app.call_rpc(&pat, "declare_freeze", &form.replace("2026-12-01T16", "2026-12-01T12")).await;
    assert_eq!(status, 400, "ends before it starts: {body}");
}
