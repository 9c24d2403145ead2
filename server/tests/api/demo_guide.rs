//! A first visit that explains itself: in demo mode the sign-in page names
//! the demo users and their password, and signed-in pages carry a banner
//! saying what is simulated until it is dismissed; never outside demo mode.

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

use crate::helpers::{sign_in, spawn_app, Backend, TestApp};

async fn page(app: &TestApp, path: &str, cookie: Option<&str>) -> String {
    let mut request = app.anonymous.get(format!("{}{path}", app.address));
    if let Some(cookie) = cookie {
        request = request.header(COOKIE, cookie);
    }
    let response = request.send().await.expect("page");
    assert_eq!(response.status(), 200, "{path}");
    response.text().await.expect("html")
}

#[tokio::test]
async fn the_demo_sign_in_page_says_who_to_sign_in_as_and_the_banner_goes_when_dismissed() {
    let app = spawn_app(Backend::Sqlite, true).await;
    let login = page(&app, "/login", None).await;
    assert!(login.contains("This is the demo"), "the hint is there");
    assert!(login.contains("railyard-demo"), "the shared password");
    for user in ["viewer", "release-manager", "payments-rm", "approver"] {
        assert!(login.contains(&format!("<code>{user}</code>")), "names {user}");
    }
    assert!(login.contains("for payments only"), "says what payments-rm may do");
    assert!(!login.contains("demo-banner"), "no banner before signing in");

    let viewer = sign_in(&app.anonymous, &app.address, "viewer", "railyard-demo").await;
    let calendar = page(&app, "/", Some(&viewer)).await;
    assert!(calendar.contains("class=\"demo-banner\""), "the banner is on signed-in pages");
    assert!(calendar.contains("simulated"), "it says what is simulated");
    assert!(calendar.contains("Watch the live train"), "and links to the live train");

    let dismissed = app
        .anonymous
        .post(format!("{}/demo/banner/dismiss", app.address))
        .header(COOKIE, &viewer)
        .form(&[("back", "/budgets")])
        .send()
        .await
        .expect("dismiss");
    assert_eq!(dismissed.status(), 303);
    assert_eq!(dismissed.headers()[LOCATION], "/budgets", "back to the page it was dismissed on");
    let remembered =
        dismissed.headers()[SET_COOKIE].to_str().expect("text").split(';').next().expect("pair").to_owned();
    let both = format!("{viewer}; {remembered}");
    let budgets = page(&app, "/budgets", Some(&both)).await;
    assert!(!budgets.contains("class=\"demo-banner\""), "dismissed stays dismissed");

    let escaped = app
        .anonymous
        .post(format!("{}/demo/banner/dismiss", app.address))
        .header(COOKIE, &viewer)
        .form(&[("back", "https://evil.example/")])
        .send()
        .await
        .expect("dismiss");
    assert_eq!(escaped.headers()[LOCATION], "/", "never back to another site");
}

#[tokio::test]
async fn outside_demo_mode_there_is_no_hint_no_banner_and_nothing_to_dismiss() {
    let app = spawn_app(Backend::Sqlite, false).await;
    let login = page(&app, "/login", None).await;
    assert!(!login.contains("This is the demo") && !login.contains("railyard-demo"), "no demo hint");
    let calendar = page(&app, "/", Some(&app.admin_cookie)).await;
    assert!(!calendar.contains("demo-banner"), "no banner");
    let dismissed = app
        .anonymous
        .post(format!("{}/demo/banner/dismiss", app.address))
        .header(COOKIE, &app.admin_cookie)
        .form(&[("back", "/")])
        .send()
        .await
        .expect("dismiss");
    assert_eq!(dismissed.status(), 404);
}
