//! Single sign-on against a real OpenID provider (panva's certified
//! `oidc-provider`, started on loopback from `end2end/oidc/provider.mjs`):
//! the whole round trip as a browser makes it, and the ways it must refuse.

use std::process::Stdio;
use std::time::Duration;

use secrecy::SecretString;
use server::auth::oidc::OidcSettings;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::helpers::{spawn_app_with, Backend, TestApp};

/// The provider, stopped when dropped.
struct Provider {
    issuer: String,
    _process: tokio::process::Child,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// Starts the provider for an app listening on `app_port`; ID tokens live `id_token_ttl` seconds.
async fn provider(app_port: u16, id_token_ttl: u32) -> Provider {
    provider_on(free_port(), app_port, id_token_ttl).await
}

impl Provider {
    /// Stops the provider and waits until it has gone.
    async fn stop(mut self) {
        let _ = self._process.kill().await;
    }
}

/// [`provider`] on `port` (a restarted provider keeps its issuer and makes new signing keys).
async fn provider_on(port: u16, app_port: u16, id_token_ttl: u32) -> Provider {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../end2end/oidc/provider.mjs");
    let mut process = tokio::process::Command::new("node")
        .arg(script)
        .arg(port.to_string())
        .arg(format!("http://127.0.0.1:{app_port}/auth/oidc/callback"))
        .arg(id_token_ttl.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs the provider (scripts/setup installs oidc-provider)");
    let mut lines = BufReader::new(process.stdout.take().expect("stdout")).lines();
    let ready = tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await;
    let line = ready.expect("the provider starts within 30 s").expect("read").expect("a line");
    let issuer = line.strip_prefix("ready ").unwrap_or_else(|| panic!("unexpected: {line}")).to_owned();
    // Keep reading what it prints: a closed pipe would stop it at its next line.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Provider { issuer, _process: process }
}

/// An app on `port` that signs in with `provider`.
async fn app_with(port: u16, provider: &Provider) -> TestApp {
    let issuer = provider.issuer.clone();
    spawn_app_with(Backend::Sqlite, false, move |settings| {
        settings.addr = format!("127.0.0.1:{port}").parse().expect("address");
        settings.auth.oidc = Some(OidcSettings {
            issuer,
            client_id: "railyard".into(),
            client_secret: SecretString::from("railyard-test-secret"),
            name: "Example SSO".into(),
            redirect_url: format!("http://127.0.0.1:{port}/auth/oidc/callback"),
        });
    })
    .await
}

/// What the browser ended with: the callback's answer.
struct Landing {
    status: u16,
    location: String,
    cookies: Vec<String>,
    body: String,
}

/// Signs `login` in as a browser would: Railyard's start, the provider's login and consent forms, the
/// callback. `tamper` may change the callback URL before it is followed.
async fn sign_in_as(app: &TestApp, login: &str, tamper: impl FnOnce(String) -> String) -> Landing {
    sign_in_with(app, login, tamper, false).await
}

/// [`sign_in_as`]; `forget_nonce`: Railyard's record of the sign-in gets another nonce before the callback.
async fn sign_in_with(
    app: &TestApp,
    login: &str,
    tamper: impl FnOnce(String) -> String,
    forget_nonce: bool,
) -> Landing {
    let at_provider = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let start =
        app.anonymous.get(format!("{}/auth/oidc/start?next=/console", app.address)).send().await.expect("start");
    assert!(start.status().is_redirection(), "start: {}", start.status());
    let state_cookie = cookie_pair(&start, "railyard_sso").expect("the state cookie");
    let mut url = location(&start);
    let callback = loop {
        if url.starts_with(&app.address) {
            break url;
        }
        let response = at_provider.get(&url).send().await.expect("provider");
        if response.status().is_redirection() {
            url = absolute(&url, &location(&response));
            continue;
        }
        let page = response.text().await.expect("page");
        let prompt = if page.contains("value=\"login\"") { "login" } else { "consent" };
        let form = [("prompt", prompt), ("login", login), ("password", "any")];
        let submitted = at_provider.post(&url).form(&form).send().await.expect("submit");
        assert!(submitted.status().is_redirection(), "{prompt} form: {}", submitted.status());
        url = absolute(&url, &location(&submitted));
    };
    if forget_nonce {
        let mut conn = app.db.acquire().await.expect("connection");
        sqlx::query("UPDATE sso_sign_ins SET nonce = 'not-the-nonce-sent'").execute(&mut *conn).await.expect("update");
    }
    let back = app
        .anonymous
        .get(tamper(callback))
        .header(reqwest::header::COOKIE, state_cookie)
        .send()
        .await
        .expect("callback");
    let status = back.status().as_u16();
    let location = back.headers().get("location").and_then(|l| l.to_str().ok()).unwrap_or_default().to_owned();
    let cookies = back
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|c| c.to_str().ok())
        .map(|c| c.split(';').next().unwrap_or_default().to_owned())
        .collect();
    Landing { status, location, cookies, body: back.text().await.expect("body") }
}

fn location(response: &reqwest::Response) -> String {
    response.headers().get("location").and_then(|l| l.to_str().ok()).expect("a Location").to_owned()
}

fn absolute(base: &str, location: &str) -> String {
    url::Url::parse(base).and_then(|b| b.join(location)).map(|u| u.to_string()).expect("a URL")
}

/// `name=value` of the cookie whose name ends with `suffix`.
fn cookie_pair(response: &reqwest::Response, suffix: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|c| c.to_str().ok())
        .map(|c| c.split(';').next().unwrap_or_default().to_owned())
        .find(|pair| pair.split('=').next().is_some_and(|name| name.ends_with(suffix)))
}

#[tokio::test]
async fn a_person_signs_in_with_the_identity_provider_and_gets_a_session() {
    let port = free_port();
    let idp = provider(port, 3600).await;
    let app = app_with(port, &idp).await;

    let (status, login) = app.get("/login").await;
    assert_eq!(status, 200);
    assert!(login.contains("Sign in with Example SSO"), "the sign-in page offers single sign-on");

    let landing = sign_in_as(&app, "paula", |url| url).await;
    assert_eq!(landing.status, 303, "{}", landing.body);
    assert_eq!(landing.location, "/console", "back where they were going");
    let session = landing.cookies.iter().find(|c| c.starts_with("__Host-railyard_session=")).expect("a session");
    let me = app.anonymous.get(format!("{}/api/v1/me", app.address)).header("cookie", session).send().await;
    let me: serde_json::Value = me.expect("me").json().await.expect("JSON");
    assert_eq!(me["name"], "paula", "the account was made from the provider's identity");
    assert!(landing.cookies.iter().any(|c| c == "__Host-railyard_sso="), "the state cookie is cleared");

    // The second sign-in is the same user, not a new one.
    let again = sign_in_as(&app, "paula", |url| url).await;
    assert_eq!(again.status, 303, "{}", again.body);
    let (_, users) = app.send_as(Some(&app.admin_cookie), reqwest::Method::GET, "/api/v1/users", None).await;
    assert_eq!(users.matches("\"paula").count(), 1, "{users}");

    // Local passwords do not open an SSO account.
    let password = app
        .anonymous
        .post(format!("{}/api/v1/session", app.address))
        .json(&serde_json::json!({ "name": "paula", "password": "!sso" }))
        .send()
        .await
        .expect("request");
    assert_eq!(password.status().as_u16(), 401);
}

#[tokio::test]
async fn a_tampered_state_or_a_replayed_code_is_refused_with_a_page_that_says_so() {
    let port = free_port();
    let idp = provider(port, 3600).await;
    let app = app_with(port, &idp).await;

    let tampered = sign_in_as(&app, "vera", |url| url.replace("state=", "state=x")).await;
    assert_eq!(tampered.status, 401, "{}", tampered.body);
    assert!(tampered.body.contains("not started in this browser"), "{}", tampered.body);
    assert!(tampered.cookies.iter().all(|c| !c.contains("railyard_session")), "no session");

    // A code used once does not sign anyone in again (the sign-in under way is used up).
    let mut first = String::new();
    let used = sign_in_as(&app, "vera", |url| {
        first = url.clone();
        url
    })
    .await;
    assert_eq!(used.status, 303, "{}", used.body);
    let replayed = app.anonymous.get(&first).send().await.expect("replay");
    assert_eq!(replayed.status().as_u16(), 401);
    let text = replayed.text().await.expect("body");
    assert!(text.contains("Sign-in did not work"), "{text}");
}

#[tokio::test]
async fn an_id_token_for_another_nonce_is_refused() {
    let port = free_port();
    let idp = provider(port, 3600).await;
    let app = app_with(port, &idp).await;
    let landing = sign_in_with(&app, "vera", |url| url, true).await;
    assert_eq!(landing.status, 401, "{}", landing.body);
    assert!(landing.body.contains("could not be verified"), "{}", landing.body);
    assert!(landing.cookies.iter().all(|c| !c.contains("railyard_session")), "no session");
}

#[tokio::test]
async fn an_expired_id_token_is_refused() {
    let port = free_port();
    let idp = provider(port, 3600).await;
    let app = app_with(port, &idp).await;
    // Railyard's clock two hours on from the provider's: every token it makes has lapsed.
    app.clock.set(chrono::Utc::now() + chrono::Duration::hours(2));
    let landing = sign_in_as(&app, "vera", |url| url).await;
    assert_eq!(landing.status, 401, "{}", landing.body);
    assert!(landing.body.contains("could not be verified"), "{}", landing.body);
    assert!(landing.cookies.iter().all(|c| !c.contains("railyard_session")), "no session");
    // On time, the same person signs in.
    app.clock.set(chrono::Utc::now());
    let landing = sign_in_as(&app, "vera", |url| url).await;
    assert_eq!(landing.status, 303, "{}", landing.body);
}

#[tokio::test]
async fn a_rotated_signing_key_is_fetched_again_and_trusted() {
    let port = free_port();
    let idp = provider(port, 3600).await;
    let provider_port: u16 = idp.issuer.rsplit(':').next().and_then(|p| p.parse().ok()).expect("the provider's port");
    let app = app_with(port, &idp).await;
    let first = sign_in_as(&app, "aaron", |url| url).await;
    assert_eq!(first.status, 303, "{}", first.body);
    // The provider restarts with a new signing key; Railyard still holds the old one.
    idp.stop().await;
    let _rotated = provider_on(provider_port, port, 3600).await;
    let second = sign_in_as(&app, "aaron", |url| url).await;
    assert_eq!(second.status, 303, "the new key is fetched and the token verified: {}", second.body);
}
