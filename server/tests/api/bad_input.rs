//! Bad input from every direction gets a clear 4xx and stores nothing:
//! invalid RRULEs and time zones, oversized and deeply nested bodies,
//! control characters, SQL-looking strings and unknown fields.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{snapshot, spawn_app, Backend, TestApp};
use crate::on_both_backends;

/// One bad request: what it is, who sends it (None: the CI token), method, path,
/// body, the statuses that may answer it and words its message must hold.
type Case<'a> = (&'a str, Option<&'a str>, Method, &'a str, String, &'a [u16], &'a str);

/// Row counts of the tables a bad request could have written to.
async fn counts(app: &TestApp) -> Vec<i64> {
    let mut conn = app.db.acquire().await.expect("connection");
    let mut counts = Vec::new();
    for table in
        ["artifacts", "artifact_checks", "users", "api_tokens", "freezes", "incidents", "break_glass", "audit_log"]
    {
        let count: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&mut *conn)
            .await
            .unwrap_or_else(|e| panic!("{table}: {e}"));
        counts.push(count);
    }
    counts
}

/// Sends `body` (raw text) as JSON to `path` with `cookie`, or with the CI token when `cookie` is None.
async fn send(app: &TestApp, cookie: Option<&str>, method: Method, path: &str, body: String) -> (u16, String) {
    let client = if cookie.is_some() { &app.anonymous } else { &app.client };
    let mut request = client
        .request(method, format!("{}{path}", app.address))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body);
    if let Some(cookie) = cookie {
        request = request.header(reqwest::header::COOKIE, cookie);
    }
    let response = request.send().await.expect("request");
    (response.status().as_u16(), response.text().await.unwrap_or_default())
}

fn freeze(overrides: Value) -> String {
    let mut entry = json!({ "name": "quarter-close", "domain": "payments", "time_zone": "Europe/Berlin",
                            "starts": "2026-12-20", "ends": "2026-12-31", "reason": "books close" });
    for (key, value) in overrides.as_object().expect("object") {
        entry[key] = value.clone();
    }
    entry.to_string()
}

fn artifact(overrides: Value) -> String {
    let mut entry = json!({ "service": "ledger", "version": "9.9.9", "digest": format!("sha256:{}", "a".repeat(64)),
                            "commit": "1234567", "author": "bob", "changes": [] });
    for (key, value) in overrides.as_object().expect("object") {
        entry[key] = value.clone();
    }
    entry.to_string()
}

async fn bad_input_gets_a_clear_4xx_and_stores_nothing(backend: Backend) {
    let app = spawn_app(backend, true).await;
    let rita = app.user_with_roles("rita", &[("release_manager", Some("payments"))]).await;
    let admin = app.admin_cookie.clone();
    let (rows, tables) = (counts(&app).await, snapshot(&app.db).await);

    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    // Over the 2 MiB JSON limit but under the 16 MiB transport limit, so the server reads it
    // all and answers; past 16 MiB it may close the connection before the client finishes sending.
    let oversized = artifact(json!({ "changes": [{ "title": "x".repeat(3 * 1024 * 1024), "kind": "fix" }] }));
    let cases: Vec<Case<'_>> = vec![
        (
            "invalid RRULE",
            Some(&rita),
            Method::POST,
            "/api/v1/freezes",
            freeze(json!({ "cadence": "FREQ=SOMETIMES;BYDAY=XX", "duration": "1d", "ends": null })),
            &[400],
            "FREQ",
        ),
        (
            "minutely RRULE",
            Some(&rita),
            Method::POST,
            "/api/v1/freezes",
            freeze(json!({ "cadence": "FREQ=MINUTELY", "duration": "1d", "ends": null })),
            &[400],
            "cadence",
        ),
        (
            "unknown time zone",
            Some(&rita),
            Method::POST,
            "/api/v1/freezes",
            freeze(json!({ "time_zone": "Mars/Olympus_Mons" })),
            &[400],
            "time zone",
        ),
        (
            "ends before it starts",
            Some(&rita),
            Method::POST,
            "/api/v1/freezes",
            freeze(json!({ "starts": "2026-12-31", "ends": "2026-12-01" })),
            &[400],
            "end",
        ),
        (
            "control character in a freeze's reason",
            Some(&rita),
            Method::POST,
            "/api/v1/freezes",
            freeze(json!({ "reason": "books\u{0}close" })),
            &[400],
            "U+0000",
        ),
        (
            "escape sequence in a name",
            Some(&rita),
            Method::POST,
            "/api/v1/freezes",
            freeze(json!({ "name": "quarter\u{1b}[31mclose" })),
            &[400],
            "control character",
        ),
        (
            "unicode look-alike name",
            Some(&rita),
            Method::POST,
            "/api/v1/freezes",
            freeze(json!({ "name": "quаrter-close" })),
            &[400],
            "name",
        ),
        (
            "SQL in a freeze name",
            Some(&rita),
            Method::POST,
            "/api/v1/freezes",
            freeze(json!({ "name": "x'); DELETE FROM freezes; --" })),
            &[400],
            "name",
        ),
        (
            "unknown field",
            Some(&rita),
            Method::POST,
            "/api/v1/freezes",
            freeze(json!({ "approved_by": "nobody" })),
            &[400, 422],
            "unknown field",
        ),
        (
            "SQL in a service name",
            None,
            Method::POST,
            "/api/v1/artifacts",
            artifact(json!({ "service": "ledger'; DROP TABLE artifacts; --" })),
            &[422],
            "service",
        ),
        (
            "control character in a change title",
            None,
            Method::POST,
            "/api/v1/artifacts",
            artifact(json!({ "changes": [{ "title": "fix\u{7}", "kind": "fix" }] })),
            &[400],
            "changes[0].title",
        ),
        (
            "unknown field on an artifact",
            None,
            Method::POST,
            "/api/v1/artifacts",
            artifact(json!({ "signed_off": true })),
            &[400, 422],
            "unknown field",
        ),
        ("deeply nested JSON", None, Method::POST, "/api/v1/artifacts", deep, &[400], "nested too deeply"),
        ("oversized body", None, Method::POST, "/api/v1/artifacts", oversized, &[413], ""),
        ("not JSON at all", None, Method::POST, "/api/v1/artifacts", "service=ledger".to_owned(), &[400, 422], ""),
        (
            "control character in a user name",
            Some(&admin),
            Method::POST,
            "/api/v1/users",
            json!({ "name": "bob\u{8}", "password": "a long enough password", "roles": [] }).to_string(),
            &[400],
            "",
        ),
        (
            "right-to-left override in a user name",
            Some(&admin),
            Method::POST,
            "/api/v1/users",
            json!({ "name": "bob\u{202e}nimda", "password": "a long enough password", "roles": [] }).to_string(),
            &[400],
            "name",
        ),
        (
            "unknown role",
            Some(&admin),
            Method::POST,
            "/api/v1/users",
            json!({ "name": "bob", "password": "a long enough password", "roles": [{ "role": "root" }] }).to_string(),
            &[400, 422],
            "role",
        ),
        (
            "control character in a token name",
            Some(&admin),
            Method::POST,
            "/api/v1/tokens",
            json!({ "name": "ci\u{0}", "scopes": ["read"] }).to_string(),
            &[400],
            "U+0000",
        ),
        (
            "unknown scope",
            Some(&admin),
            Method::POST,
            "/api/v1/tokens",
            json!({ "name": "ci", "scopes": ["everything"] }).to_string(),
            &[400, 422],
            "scope",
        ),
        (
            "break-glass for an unknown domain",
            Some(&rita),
            Method::POST,
            "/api/v1/break-glass",
            json!({ "domain": "payments' OR '1'='1", "reason": "a long enough reason", "duration": "1h" }).to_string(),
            &[400],
            "unknown domain",
        ),
    ];
    for (what, cookie, method, path, body, expected, words) in cases {
        let (status, text) = send(&app, cookie, method, path, body).await;
        assert!(expected.contains(&status), "{what}: expected {expected:?}, got {status}: {text}");
        if status != 413 {
            let message: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{what}: JSON error: {text}"));
            let message = message["error"].as_str().unwrap_or_else(|| panic!("{what}: an error message: {text}"));
            assert!(message.len() > 10, "{what}: a message a person understands: {message}");
            assert!(message.contains(words), "{what}: the message should mention {words:?}: {message}");
        }
    }
    // The console's forms (server functions, form-encoded) are held to the same rule.
    let (status, text) =
        app.call_rpc(&admin, "create_user", "name=eve%1B%5B31m&password=a+long+password+1&roles=viewer").await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("`name` contains the control character U+001B"), "{text}");
    assert_eq!(counts(&app).await, rows, "no bad request wrote a row (or an audit record)");
    assert_eq!(snapshot(&app.db).await, tables, "configuration and trains untouched");
    let (status, _) = send(&app, Some(&rita), Method::POST, "/api/v1/freezes", freeze(json!({}))).await;
    assert_eq!(status, 201, "and the same request done right is accepted");
}
on_both_backends!(bad_input_gets_a_clear_4xx_and_stores_nothing);
