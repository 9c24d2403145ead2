//! Single sign-on against a real OpenID provider (panva's certified
//! `oidc-provider`, started on loopback from `end2end/oidc/provider.mjs`):
//! the whole round trip as a browser makes it, and the ways it must refuse.

use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use server::auth::oidc::OidcSettings;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::helpers::{spawn_app_with, Backend, TestApp};

/// The provider, stopped when dropped.
struct Provider {
    issuer: String,
    /// How many times its signing keys were fetched.
    jwks_fetched: Arc<AtomicUsize>,
    _process: tokio::process::Child,
}

/// How the provider behaves beyond its defaults.
#[derive(Default)]
struct Options<'a> {
    /// ID tokens live this long (default an hour).
    id_token_ttl: Option<u32>,
    /// A JSON file `{"login": ["group", …]}` read at every sign-in.
    groups_file: Option<&'a Path>,
    /// Publish a key it never signs with.
    foreign_jwks: bool,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// Starts the provider for an app listening on `app_port`; ID tokens live `id_token_ttl` seconds.
async fn provider(app_port: u16, id_token_ttl: u32) -> Provider {
    provider_on(free_port(), app_port, Options { id_token_ttl: Some(id_token_ttl), ..Options::default() }).await
}

impl Provider {
    /// Stops the provider and waits until it has gone.
    async fn stop(mut self) {
        let _ = self._process.kill().await;
    }

    fn port(&self) -> u16 {
        self.issuer.rsplit(':').next().and_then(|p| p.parse().ok()).expect("the provider's port")
    }
}

/// [`provider`] on `port` (a restarted provider keeps its issuer and makes new signing keys).
async fn provider_on(port: u16, app_port: u16, options: Options<'_>) -> Provider {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../end2end/oidc/provider.mjs");
    let mut command = tokio::process::Command::new("node");
    command
        .arg(script)
        .arg(port.to_string())
        .arg(format!("http://127.0.0.1:{app_port}/auth/oidc/callback"))
        .arg(options.id_token_ttl.unwrap_or(3600).to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    if let Some(file) = options.groups_file {
        command.env("OIDC_GROUPS_FILE", file);
    }
    if options.foreign_jwks {
        command.env("OIDC_FOREIGN_JWKS", "1");
    }
    let mut process = command.spawn().expect("node runs the provider (scripts/setup installs oidc-provider)");
    let mut lines = BufReader::new(process.stdout.take().expect("stdout")).lines();
    let ready = tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await;
    let line = ready.expect("the provider starts within 30 s").expect("read").expect("a line");
    let issuer = line.strip_prefix("ready ").unwrap_or_else(|| panic!("unexpected: {line}")).to_owned();
    // Keep reading what it prints (a closed pipe would stop it at its next line), counting key fetches.
    let jwks_fetched = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&jwks_fetched);
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            if line == "jwks" {
                counter.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    Provider { issuer, jwks_fetched, _process: process }
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
    assert_eq!(users.matches("\"name\":\"paula").count(), 1, "{users}");

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
    let provider_port = idp.port();
    let app = app_with(port, &idp).await;
    let first = sign_in_as(&app, "aaron", |url| url).await;
    assert_eq!(first.status, 303, "{}", first.body);
    // The provider restarts with a new signing key; Railyard still holds the old one.
    idp.stop().await;
    let rotated = provider_on(provider_port, port, Options::default()).await;
    let second = sign_in_as(&app, "aaron", |url| url).await;
    assert_eq!(second.status, 303, "the new key is fetched and the token verified: {}", second.body);
    assert_eq!(rotated.jwks_fetched.load(Ordering::SeqCst), 1, "the keys were fetched again once");
}

#[tokio::test]
async fn a_token_signed_with_a_key_the_provider_does_not_publish_is_refused_after_one_refetch() {
    let port = free_port();
    let idp = provider(port, 3600).await;
    let provider_port = idp.port();
    let app = app_with(port, &idp).await;
    assert_eq!(sign_in_as(&app, "aaron", |url| url).await.status, 303);
    // Restarted, it signs with a new key but publishes another one.
    idp.stop().await;
    let odd = provider_on(provider_port, port, Options { foreign_jwks: true, ..Options::default() }).await;
    let landing = sign_in_as(&app, "aaron", |url| url).await;
    assert_eq!(landing.status, 401, "{}", landing.body);
    assert!(landing.body.contains("could not be verified"), "a page that says why: {}", landing.body);
    assert!(landing.cookies.iter().all(|c| !c.contains("railyard_session")), "no session");
    assert_eq!(odd.jwks_fetched.load(Ordering::SeqCst), 1, "fetched again once, then refused");
}

const ROLE_FLEET: &str = r#"
[[domain]]
name = "payments"

[[role_mapping]]
group = "leadership"
role = "viewer"

[[role_mapping]]
group = "payments-release"
role = "release_manager"
domain = "payments"

[[role_mapping]]
group = "payments-release"
role = "viewer"
"#;

async fn apply_roles(app: &TestApp) {
    let fleet = server::fleet::parse("roles.toml", ROLE_FLEET).expect("valid");
    server::fleet::apply(&app.db, &fleet, crate::helpers::test_now()).await.expect("applied");
}

/// `name`'s entry in `GET /api/v1/users`.
async fn user_entry(app: &TestApp, name: &str) -> serde_json::Value {
    let (status, users) = app.send_as(Some(&app.admin_cookie), reqwest::Method::GET, "/api/v1/users", None).await;
    assert_eq!(status, 200, "{users}");
    let users: Vec<serde_json::Value> = serde_json::from_str(&users).expect("JSON");
    users.into_iter().find(|u| u["name"] == name).unwrap_or_else(|| panic!("no user {name}"))
}

async fn roles_of(app: &TestApp, session: &str) -> (u16, Vec<String>) {
    let response = app.anonymous.get(format!("{}/api/v1/me", app.address)).header("cookie", session).send().await;
    let response = response.expect("me");
    let status = response.status().as_u16();
    let me: serde_json::Value = response.json().await.unwrap_or_default();
    let roles = me["roles"]
        .as_array()
        .map(|roles| {
            roles
                .iter()
                .map(|b| match b["domain"].as_str() {
                    Some(domain) => format!("{}@{domain}", b["role"].as_str().unwrap_or_default()),
                    None => b["role"].as_str().unwrap_or_default().to_owned(),
                })
                .collect()
        })
        .unwrap_or_default();
    (status, roles)
}

fn session_of(landing: &Landing) -> String {
    assert_eq!(landing.status, 303, "{}", landing.body);
    landing.cookies.iter().find(|c| c.contains("railyard_session=")).expect("a session").clone()
}

#[tokio::test]
async fn roles_follow_the_provider_s_groups_at_every_sign_in_and_hand_set_ones_stay() {
    let groups = tempfile::NamedTempFile::new().expect("a file");
    std::fs::write(groups.path(), r#"{"paula": ["payments-release", "unmapped"]}"#).expect("write");
    let port = free_port();
    let options = Options { groups_file: Some(groups.path()), ..Options::default() };
    let idp = provider_on(free_port(), port, options).await;
    let app = app_with(port, &idp).await;
    apply_roles(&app).await;

    let session = session_of(&sign_in_as(&app, "paula", |url| url).await);
    assert_eq!(roles_of(&app, &session).await, (200, vec!["release_manager@payments".into(), "viewer".into()]));
    let paula = user_entry(&app, "paula").await;
    assert_eq!(paula["roles"], serde_json::json!([]), "nothing set by hand");
    assert_eq!(paula["sso_roles"].as_array().map(Vec::len), Some(2), "{paula}");
    assert_eq!(paula["sso_identities"][0]["email"], "paula@example.com", "{paula}");
    assert_eq!(paula["sso_identities"][0]["subject"], "paula");

    // An admin also makes her an approver by hand; then she leaves the release group.
    let body = serde_json::json!({ "roles": [{ "role": "approver", "domain": "payments" }] });
    let (status, text) =
        app.send_as(Some(&app.admin_cookie), reqwest::Method::PUT, "/api/v1/users/paula/roles", Some(&body)).await;
    assert_eq!(status, 200, "{text}");
    std::fs::write(groups.path(), r#"{"paula": []}"#).expect("write");
    let (_, held) = roles_of(&app, &session).await;
    assert!(held.contains(&"release_manager@payments".to_owned()), "until she signs in again: {held:?}");

    // Ending her sessions takes effect at once; her next sign-in recomputes the roles.
    let (status, text) =
        app.send_as(Some(&app.admin_cookie), reqwest::Method::DELETE, "/api/v1/users/paula/sessions", None).await;
    assert_eq!((status, text.as_str()), (200, r#"{"sessions_ended":1}"#));
    assert_eq!(roles_of(&app, &session).await.0, 401, "signed out everywhere");
    let session = session_of(&sign_in_as(&app, "paula", |url| url).await);
    assert_eq!(roles_of(&app, &session).await, (200, vec!["approver@payments".into()]), "the hand-set role stays");
    let paula = user_entry(&app, "paula").await;
    assert_eq!(paula["sso_roles"], serde_json::json!([]));

    // Both changes from sign-in are on record, with the roles before and after.
    let (_, audit) = app.send_as(Some(&app.admin_cookie), reqwest::Method::GET, "/api/v1/audit?limit=50", None).await;
    assert_eq!(audit.matches("user.roles_from_sign_in").count(), 2, "{audit}");
    assert!(audit.contains("user.sessions_ended"), "{audit}");
}

#[tokio::test]
async fn password_sign_in_can_be_turned_off_for_everyone_but_hand_set_admins() {
    let port = free_port();
    let idp = provider(port, 3600).await;
    let app = app_with(port, &idp).await;
    let _lena = app.user_with_roles("lena", &[("viewer", None)]).await;

    let off = serde_json::json!({ "local_sign_in": false });
    let (status, text) =
        app.send_as(Some(&app.admin_cookie), reqwest::Method::PUT, "/api/v1/sign-in-policy", Some(&off)).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(text, r#"{"local_sign_in":false,"single_sign_on":"Example SSO"}"#);

    let refused = app
        .anonymous
        .post(format!("{}/api/v1/session", app.address))
        .json(&serde_json::json!({ "name": "lena", "password": "their own password" }))
        .send()
        .await
        .expect("request");
    assert_eq!(refused.status().as_u16(), 403);
    let said = refused.text().await.expect("body");
    assert!(said.contains("use single sign-on"), "{said}");
    // The first admin keeps a password (break-glass), and single sign-on works for everyone.
    let _admin = crate::helpers::sign_in(&app.anonymous, &app.address, "admin", crate::helpers::ADMIN_PASSWORD).await;
    assert_eq!(sign_in_as(&app, "vera", |url| url).await.status, 303);

    let on = serde_json::json!({ "local_sign_in": true });
    let (status, _) =
        app.send_as(Some(&app.admin_cookie), reqwest::Method::PUT, "/api/v1/sign-in-policy", Some(&on)).await;
    assert_eq!(status, 200);
    let _lena = crate::helpers::sign_in(&app.anonymous, &app.address, "lena", "their own password").await;
}

#[tokio::test]
async fn password_sign_in_stays_on_where_single_sign_on_is_not_set_up() {
    let app = crate::helpers::spawn_app(Backend::Sqlite, false).await;
    let off = serde_json::json!({ "local_sign_in": false });
    let (status, text) =
        app.send_as(Some(&app.admin_cookie), reqwest::Method::PUT, "/api/v1/sign-in-policy", Some(&off)).await;
    assert_eq!(status, 409, "{text}");
    assert!(text.contains("set up single sign-on first"), "{text}");
}

#[tokio::test]
async fn starting_sign_ins_is_limited_per_client_address() {
    let port = free_port();
    let idp = provider(port, 3600).await;
    let app = app_with(port, &idp).await;
    let mut statuses = Vec::new();
    for _ in 0..25 {
        let response = app.anonymous.get(format!("{}/auth/oidc/start", app.address)).send().await.expect("start");
        statuses.push(response.status().as_u16());
        if response.status().as_u16() == 429 {
            assert!(response.headers().contains_key("retry-after"));
            assert!(response.text().await.expect("body").contains("too many sign-in attempts"));
        }
    }
    // A burst of 20 per address, shared with password sign-ins (the admin's used one).
    let through = statuses.iter().take_while(|s| **s == 303).count();
    assert_eq!(through, 19, "{statuses:?}");
    assert!(statuses[through..].iter().all(|s| *s == 429), "then the address waits: {statuses:?}");
    let mut conn = app.db.acquire().await.expect("connection");
    let pending: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM sso_sign_ins").fetch_one(&mut *conn).await.expect("count");
    assert_eq!(pending, 19, "refused starts store nothing");
}
