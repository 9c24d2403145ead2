//! Signing in, sessions, tokens, cross-site refusals and embed links, as a
//! browser, a person and a CI system meet them.

use chrono::Duration;
use reqwest::Method;
use serde_json::json;
use server::time::Instant;

use crate::helpers::{sign_in, spawn_app, spawn_app_with, Backend, ADMIN_PASSWORD};
use crate::on_both_backends;

async fn audit_actions(app: &crate::helpers::TestApp) -> Vec<String> {
    let mut conn = app.db.acquire().await.expect("connection");
    sqlx::query_scalar("SELECT action FROM audit_log ORDER BY seq").fetch_all(&mut *conn).await.expect("audit")
}

async fn the_session_cookie_is_host_only_secure_and_http_only(backend: Backend) {
    let app = spawn_app(backend, false).await;
    let response = app
        .anonymous
        .post(format!("{}/api/v1/session", app.address))
        .json(&json!({ "name": "admin", "password": ADMIN_PASSWORD }))
        .send()
        .await
        .expect("sign in");
    assert_eq!(response.status(), 200);
    let cookie = response.headers()[reqwest::header::SET_COOKIE].to_str().expect("text").to_owned();
    let (pair, attributes) = cookie.split_once(';').expect("attributes");
    let (name, value) = pair.split_once('=').expect("name=value");
    assert_eq!(name, "__Host-railyard_session");
    assert!(value.len() >= 43, "at least 256 bits of base64: {value}");
    for attribute in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/"] {
        assert!(attributes.contains(attribute), "{attribute} in {cookie}");
    }
    assert!(!attributes.to_lowercase().contains("domain="), "__Host- cookies carry no Domain: {cookie}");
}
on_both_backends!(the_session_cookie_is_host_only_secure_and_http_only);

async fn signing_in_again_replaces_the_session_and_signing_out_ends_it(backend: Backend) {
    let app = spawn_app(backend, false).await;
    let first = app.admin_cookie.clone();
    let response = app
        .anonymous
        .post(format!("{}/api/v1/session", app.address))
        .header(reqwest::header::COOKIE, &first)
        .json(&json!({ "name": "admin", "password": ADMIN_PASSWORD }))
        .send()
        .await
        .expect("sign in");
    let second = response.headers()[reqwest::header::SET_COOKIE]
        .to_str()
        .expect("text")
        .split(';')
        .next()
        .expect("pair")
        .to_owned();
    assert_ne!(first, second, "the session id changes at sign-in");
    assert_eq!(app.send_as(Some(&first), Method::GET, "/api/v1/me", None).await.0, 401, "the old session ended");
    assert_eq!(app.send_as(Some(&second), Method::GET, "/api/v1/me", None).await.0, 200);

    let (status, _) = app.send_as(Some(&second), Method::DELETE, "/api/v1/session", None).await;
    assert_eq!(status, 204);
    assert_eq!(
        app.send_as(Some(&second), Method::GET, "/api/v1/me", None).await.0,
        401,
        "ended on the server, not just forgotten"
    );
    let actions = audit_actions(&app).await;
    assert!(
        actions.iter().filter(|a| *a == "login").count() >= 2 && actions.contains(&"logout".to_owned()),
        "{actions:?}"
    );
}
on_both_backends!(signing_in_again_replaces_the_session_and_signing_out_ends_it);

async fn sessions_end_when_idle_and_at_their_absolute_lifetime(backend: Backend) {
    let app = spawn_app(backend, false).await;
    let cookie = app.admin_cookie.clone();
    app.clock.advance(Duration::minutes(29));
    assert_eq!(app.send_as(Some(&cookie), Method::GET, "/api/v1/me", None).await.0, 200, "used within 30 min");
    app.clock.advance(Duration::minutes(31));
    assert_eq!(app.send_as(Some(&cookie), Method::GET, "/api/v1/me", None).await.0, 401, "idle for 31 min");

    let cookie = sign_in(&app.anonymous, &app.address, "admin", ADMIN_PASSWORD).await;
    for _ in 0..(12 * 60 / 25) {
        app.clock.advance(Duration::minutes(25));
        assert_eq!(app.send_as(Some(&cookie), Method::GET, "/api/v1/me", None).await.0, 200, "kept alive by use");
    }
    app.clock.advance(Duration::minutes(25));
    assert_eq!(app.send_as(Some(&cookie), Method::GET, "/api/v1/me", None).await.0, 401, "past 12 h however busy");
}
on_both_backends!(sessions_end_when_idle_and_at_their_absolute_lifetime);

async fn disabling_a_user_ends_their_sessions_and_role_changes_apply_at_once(backend: Backend) {
    let app = spawn_app(backend, true).await;
    let ada = app.user_with_roles("ada", &[("viewer", None)]).await;
    let (_, me) = app.send_as(Some(&ada), Method::GET, "/api/v1/me", None).await;
    assert!(me.contains("viewer") && !me.contains("release_manager"), "{me}");

    let roles = json!({ "roles": [{ "role": "release_manager", "domain": "payments" }] });
    let admin = Some(app.admin_cookie.as_str());
    assert_eq!(app.send_as(admin, Method::PUT, "/api/v1/users/ada/roles", Some(&roles)).await.0, 200);
    let (_, me) = app.send_as(Some(&ada), Method::GET, "/api/v1/me", None).await;
    assert!(me.contains("release_manager") && me.contains("payments"), "the very next request sees it: {me}");

    assert_eq!(app.send_as(admin, Method::POST, "/api/v1/users/ada/disable", None).await.0, 200);
    assert_eq!(app.send_as(Some(&ada), Method::GET, "/api/v1/me", None).await.0, 401);
    let (status, _) = app
        .send_as(
            None,
            Method::POST,
            "/api/v1/session",
            Some(&json!({ "name": "ada", "password": "their own password" })),
        )
        .await;
    assert_eq!(status, 401, "a disabled user cannot sign in");
    let actions = audit_actions(&app).await;
    for action in ["user.created", "user.roles_changed", "user.disabled", "login.failed"] {
        assert!(actions.contains(&action.to_owned()), "{action} audited: {actions:?}");
    }
}
on_both_backends!(disabling_a_user_ends_their_sessions_and_role_changes_apply_at_once);

#[tokio::test]
async fn a_person_sees_and_ends_their_own_sessions_and_a_password_change_ends_the_others() {
    let app = spawn_app(Backend::Sqlite, false).await;
    let laptop = app.admin_cookie.clone();
    let phone = sign_in(&app.anonymous, &app.address, "admin", ADMIN_PASSWORD).await;
    let (_, listed) = app.send_as(Some(&laptop), Method::GET, "/api/v1/me/sessions", None).await;
    let sessions: Vec<serde_json::Value> = serde_json::from_str(&listed).expect("JSON");
    assert!(sessions.len() >= 2, "{listed}");
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    let other = sessions.iter().find(|s| s["current"] == false).expect("another session")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(app.send_as(Some(&laptop), Method::DELETE, &format!("/api/v1/me/sessions/{other}"), None).await.0, 204);
    assert_eq!(app.send_as(Some(&phone), Method::GET, "/api/v1/me", None).await.0, 401);

    let tablet = sign_in(&app.anonymous, &app.address, "admin", ADMIN_PASSWORD).await;
    let weak = json!({ "current": ADMIN_PASSWORD, "new": "short" });
    let (status, body) = app.send_as(Some(&laptop), Method::POST, "/api/v1/me/password", Some(&weak)).await;
    assert_eq!(status, 400);
    assert!(body.contains("at least 12 characters"), "{body}");
    let wrong = json!({ "current": "not my password", "new": "a much better passphrase" });
    for _ in 0..5 {
        assert_eq!(app.send_as(Some(&laptop), Method::POST, "/api/v1/me/password", Some(&wrong)).await.0, 403);
    }
    let (status, body) = app.send_as(Some(&laptop), Method::POST, "/api/v1/me/password", Some(&wrong)).await;
    assert_eq!(status, 429, "guessing the current password from a stolen session backs off: {body}");
    app.clock.advance(Duration::seconds(1));
    let change = json!({ "current": ADMIN_PASSWORD, "new": "a much better passphrase" });
    assert_eq!(app.send_as(Some(&laptop), Method::POST, "/api/v1/me/password", Some(&change)).await.0, 204);
    assert_eq!(app.send_as(Some(&tablet), Method::GET, "/api/v1/me", None).await.0, 401, "other sessions end");
    assert_eq!(app.send_as(Some(&laptop), Method::GET, "/api/v1/me", None).await.0, 200, "this one stays");
    sign_in(&app.anonymous, &app.address, "admin", "a much better passphrase").await;
}

/// Signs in as `name` through a proxy that says the client is `client`; answers status, `Retry-After` and body.
async fn attempt(address: &str, client: &str, name: &str, password: &str) -> (u16, Option<u64>, String) {
    let response = reqwest::Client::new()
        .post(format!("{address}/api/v1/session"))
        .header("x-forwarded-for", client)
        .json(&json!({ "name": name, "password": password }))
        .send()
        .await
        .expect("sign-in attempt");
    let retry = response.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
    (response.status().as_u16(), retry, response.text().await.expect("body"))
}

fn behind_local_proxy(settings: &mut server::config::Settings) {
    settings.auth.trusted_proxies = vec!["127.0.0.1/32".parse().expect("net")];
}

#[tokio::test]
async fn wrong_passwords_back_off_for_that_client_while_the_owner_signs_in_elsewhere() {
    let app = spawn_app_with(Backend::Sqlite, false, behind_local_proxy).await;
    let attacker = "203.0.113.9";
    for n in 0..5 {
        let (status, _, body) = attempt(&app.address, attacker, "admin", "guess guess guess").await;
        assert_eq!(status, 401, "attempt {n}: {body}");
    }
    let (status, retry, body) = attempt(&app.address, attacker, "admin", "guess guess guess").await;
    assert_eq!((status, retry), (429, Some(1)), "{body}");
    assert!(body.contains("from here"), "{body}");
    let (status, _, _) = attempt(&app.address, attacker, "admin", ADMIN_PASSWORD).await;
    assert_eq!(status, 429, "from the guessing client even the right password waits");
    let (status, _, body) = attempt(&app.address, "198.51.100.20", "admin", ADMIN_PASSWORD).await;
    assert_eq!(status, 200, "the owner on another machine is not locked out: {body}");
    app.clock.advance(Duration::seconds(1));
    let (status, _, _) = attempt(&app.address, attacker, "admin", "guess guess guess").await;
    assert_eq!(status, 401, "after the wait, one more try");
    let (status, retry, _) = attempt(&app.address, attacker, "admin", "guess guess guess").await;
    assert_eq!((status, retry), (429, Some(2)), "and the wait doubles");

    let actions = audit_actions(&app).await;
    assert_eq!(actions.iter().filter(|a| *a == "login.failed").count(), 6, "each checked attempt is on record");
    assert_eq!(actions.iter().filter(|a| *a == "login.limited").count(), 1, "refusals are counted, not listed");
}

#[tokio::test]
async fn forwarded_for_from_an_untrusted_peer_does_not_escape_the_address_limit() {
    let app = spawn_app(Backend::Sqlite, false).await;
    let mut statuses = Vec::new();
    for n in 0..22 {
        statuses.push(attempt(&app.address, &format!("192.0.2.{n}"), &format!("nobody{n}"), "guess guess").await.0);
    }
    assert!(statuses[..19].iter().all(|s| *s == 401), "{statuses:?}");
    assert_eq!(statuses.last(), Some(&429), "every attempt came from 127.0.0.1 whatever the header says");

    // Behind a trusted proxy each client has its own budget.
    let app = spawn_app_with(Backend::Sqlite, false, behind_local_proxy).await;
    for n in 0..21 {
        attempt(&app.address, "192.0.2.1", &format!("nobody{n}"), "guess guess").await;
    }
    assert_eq!(attempt(&app.address, "192.0.2.1", "nobody-else", "guess").await.0, 429);
    assert_eq!(attempt(&app.address, "192.0.2.2", "nobody-else", "guess").await.0, 401, "another client is not");
}

#[tokio::test]
async fn a_huge_name_is_refused_and_kept_short_in_the_audit_log() {
    let app = spawn_app(Backend::Sqlite, false).await;
    let name = "x".repeat(2_000_000);
    let (status, _, _) = attempt(&app.address, "192.0.2.1", &name, "guess").await;
    assert_eq!(status, 401);
    let mut conn = app.db.acquire().await.expect("connection");
    let objects: Vec<String> = sqlx::query_scalar("SELECT object FROM audit_log WHERE action = 'login.failed'")
        .fetch_all(&mut *conn)
        .await
        .expect("audit");
    assert_eq!(objects.len(), 1);
    assert!(objects[0].chars().count() <= 71, "{} characters", objects[0].len());
}

async fn guesses_spread_over_many_clients_slow_the_account_on_every_replica(backend: Backend) {
    let app = spawn_app_with(backend, false, behind_local_proxy).await;
    let other = app.replica(behind_local_proxy).await;
    for n in 0..20 {
        let (status, _, body) = attempt(&app.address, &format!("192.0.2.{n}"), "admin", "guess guess").await;
        assert_eq!(status, 401, "{body}");
    }
    let (status, retry, body) = attempt(&other, "198.51.100.2", "admin", ADMIN_PASSWORD).await;
    assert_eq!((status, retry), (429, Some(1)), "the other replica knows: {body}");
    assert!(body.contains("for this account"), "{body}");
    app.clock.advance(Duration::seconds(1));
    let (status, _, body) = attempt(&app.address, "198.51.100.2", "admin", ADMIN_PASSWORD).await;
    assert_eq!(status, 200, "a back-off, not a lock-out: {body}");
    let (status, _, _) = attempt(&other, "198.51.100.3", "admin", "guess guess").await;
    assert_eq!(status, 401, "a success starts the count again");
}
on_both_backends!(guesses_spread_over_many_clients_slow_the_account_on_every_replica);

#[tokio::test]
async fn the_html_form_signs_in_and_redirects_only_within_the_site() {
    let app = spawn_app(Backend::Sqlite, false).await;
    let (status, _) = app.send_as(None, Method::GET, "/", None).await;
    assert_eq!(status, 303, "pages send anonymous browsers to sign in");
    let form = [("name", "admin"), ("password", ADMIN_PASSWORD), ("next", "https://evil.example/")];
    let response = app.anonymous.post(format!("{}/login", app.address)).form(&form).send().await.expect("form post");
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()[reqwest::header::LOCATION], "/");
    let form = [("name", "admin"), ("password", "nope nope nope"), ("next", "/?month=2026-12")];
    let response = app.anonymous.post(format!("{}/login", app.address)).form(&form).send().await.expect("form post");
    assert_eq!(response.headers()[reqwest::header::LOCATION], "/login?error=failed&next=/%3Fmonth%3D2026-12");
}

async fn tokens_are_shown_once_scoped_to_domains_and_revocable(backend: Backend) {
    let app = spawn_app(backend, true).await;
    let admin = Some(app.admin_cookie.as_str());
    let body =
        json!({ "name": "ci-search", "scopes": ["artifacts:write"], "domains": ["search"], "expires_in": "30d" });
    let (status, created) = app.send_as(admin, Method::POST, "/api/v1/tokens", Some(&body)).await;
    assert_eq!(status, 201, "{created}");
    let created: serde_json::Value = serde_json::from_str(&created).expect("JSON");
    let secret = created["token"].as_str().expect("secret").to_owned();
    assert!(secret.starts_with("ryd_"));
    let (_, listed) = app.send_as(admin, Method::GET, "/api/v1/tokens", None).await;
    assert!(!listed.contains(&secret), "the secret is never shown again");
    let mut conn = app.db.acquire().await.expect("connection");
    let stored: Vec<String> =
        sqlx::query_scalar("SELECT secret_hash FROM api_tokens").fetch_all(&mut *conn).await.expect("rows");
    assert!(stored.iter().all(|hash| !hash.contains(&secret) && hash.len() == 64), "only digests are stored");
    drop(conn);

    let register = |service: &str| json!({ "service": service, "version": "1.0.0", "digest": format!("sha256:{}", "a".repeat(64)), "commit": "abc1234", "author": "bob" });
    let send = |body: serde_json::Value| {
        let request = app.anonymous.post(format!("{}/api/v1/artifacts", app.address)).bearer_auth(&secret).json(&body);
        async move { request.send().await.expect("request").status().as_u16() }
    };
    assert_eq!(send(register("indexer")).await, 201, "search is its domain");
    assert_eq!(send(register("ledger")).await, 403, "payments is not");
    let id = created["id"].as_str().expect("id");
    assert_eq!(app.send_as(admin, Method::DELETE, &format!("/api/v1/tokens/{id}"), None).await.0, 204);
    assert_eq!(send(register("query-api")).await, 401, "revoked at once");
    let mut conn = app.db.acquire().await.expect("connection");
    let registered: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'artifact.registered' AND actor = 'token:ci-search'",
    )
    .fetch_one(&mut *conn)
    .await
    .expect("count");
    assert_eq!(registered, 1, "writes made with a token are audited under its name");
}
on_both_backends!(tokens_are_shown_once_scoped_to_domains_and_revocable);

#[tokio::test]
async fn an_expired_token_is_refused() {
    let app = spawn_app(Backend::Sqlite, false).await;
    let body = json!({ "name": "short", "scopes": ["read"], "expires_in": "1h" });
    let (_, created) = app.send_as(Some(&app.admin_cookie), Method::POST, "/api/v1/tokens", Some(&body)).await;
    let secret = serde_json::from_str::<serde_json::Value>(&created).expect("JSON")["token"]
        .as_str()
        .expect("secret")
        .to_owned();
    let read = || {
        app.anonymous
            .get(format!("{}/api/v1/trains?from=2026-11-01&to=2026-12-01", app.address))
            .bearer_auth(&secret)
            .send()
    };
    assert_eq!(read().await.expect("request").status(), 200);
    app.clock.advance(Duration::minutes(61));
    let response = read().await.expect("request");
    assert_eq!(response.status(), 401);
    assert!(response.text().await.expect("body").contains("revoked or expired"));
}

#[tokio::test]
async fn cross_site_writes_are_refused_on_every_mutating_route() {
    let app = spawn_app(Backend::Sqlite, false).await;
    let mutating: Vec<_> =
        server::routes::api_inventory().into_iter().filter(|route| route.method != Method::GET).collect();
    let server_fns = server::routes::server_fn_inventory();
    assert!(mutating.len() > 15 && !server_fns.is_empty());
    let paths = mutating
        .iter()
        .map(|route| {
            (route.method.clone(), route.path.replace("{id}", "x").replace("{name}", "admin").replace("{key}", "k"))
        })
        .chain(server_fns.iter().map(|(path, method)| (method.clone(), (*path).to_owned())));
    for (method, path) in paths {
        for (header, value) in
            [("origin", "https://evil.example"), ("sec-fetch-site", "cross-site"), ("sec-fetch-site", "same-site")]
        {
            let response = app
                .anonymous
                .request(method.clone(), format!("{}{path}", app.address))
                .header(reqwest::header::COOKIE, &app.admin_cookie)
                .header(header, value)
                .json(&json!({}))
                .send()
                .await
                .expect("request");
            let status = response.status().as_u16();
            let body = response.text().await.expect("body");
            assert!(
                status == 403 && body.contains("cross-site"),
                "{method} {path} with {header}: {value} → {status} {body}"
            );
        }
    }
    // The same request from Railyard's own page goes through (to the handler's own answer).
    let own_origin = app.address.clone();
    let response = app
        .anonymous
        .post(format!("{}/api/v1/me/password", app.address))
        .header(reqwest::header::COOKIE, &app.admin_cookie)
        .header("origin", own_origin)
        .header("sec-fetch-site", "same-origin")
        .json(&json!({ "current": "x", "new": "y" }))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn every_response_carries_the_browser_security_headers() {
    let app = spawn_app(Backend::Sqlite, true).await;
    let page = app
        .anonymous
        .get(format!("{}/", app.address))
        .header(reqwest::header::COOKIE, &app.admin_cookie)
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"].to_str().expect("csp").to_owned();
    for directive in ["object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "script-src 'self' 'nonce-"] {
        assert!(csp.contains(directive), "{directive} in {csp}");
    }
    assert!(!csp.contains("'unsafe-inline'; ") || !csp.contains("script-src 'unsafe-inline'"), "{csp}");
    let nonce = csp.split("'nonce-").nth(1).and_then(|rest| rest.split('\'').next()).expect("nonce").to_owned();
    let html = page.text().await.expect("html");
    for script in html.split("<script").skip(1) {
        let tag = script.split('>').next().unwrap_or_default();
        assert!(tag.contains(&format!("nonce=\"{nonce}\"")), "every inline script carries the nonce: <script{tag}>");
    }
    let api = app
        .client
        .get(format!("{}/api/v1/trains?from=2026-11-01&to=2026-12-01", app.address))
        .send()
        .await
        .expect("api");
    for (header, value) in
        [("x-content-type-options", "nosniff"), ("referrer-policy", "strict-origin-when-cross-origin")]
    {
        assert_eq!(api.headers()[header], value);
    }
    assert!(api.headers()["content-security-policy"].to_str().expect("csp").contains("frame-ancestors 'none'"));
    assert!(!api.headers().contains_key("strict-transport-security"), "no HSTS over plain HTTP");
    let behind_tls = app
        .client
        .get(format!("{}/api/v1/trains?from=2026-11-01&to=2026-12-01", app.address))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .expect("api");
    assert_eq!(behind_tls.headers()["strict-transport-security"], "max-age=31536000", "HSTS once served over HTTPS");
}

mod embeds {
    use super::*;
    use server::auth::embed::{sign, Claims};

    async fn key(app: &crate::helpers::TestApp) -> Vec<u8> {
        let mut conn = app.db.acquire().await.expect("connection");
        let key: String = sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = 'embed_signing_key'")
            .fetch_one(&mut *conn)
            .await
            .expect("key");
        key.into_bytes()
    }

    async fn link(app: &crate::helpers::TestApp, cookie: &str, expires_in: &str) -> (u16, serde_json::Value) {
        let body = json!({ "panel": "calendar", "audience": "https://wiki.example.com", "expires_in": expires_in });
        let (status, text) = app.send_as(Some(cookie), Method::POST, "/api/v1/embed/links", Some(&body)).await;
        (status, serde_json::from_str(&text).unwrap_or_default())
    }

    #[tokio::test]
    async fn an_embed_link_shows_its_panel_to_the_allowed_wiki_only_while_valid() {
        let app = spawn_app(Backend::Sqlite, true).await;
        let admin = app.admin_cookie.clone();
        let (status, body) = link(&app, &admin, "1d").await;
        assert_eq!(status, 400, "the wiki must be on the allow-list first: {body}");
        let origin = json!({ "origin": "https://wiki.example.com" });
        assert_eq!(app.send_as(Some(&admin), Method::POST, "/api/v1/embed/origins", Some(&origin)).await.0, 201);
        let (status, body) = link(&app, &admin, "1d").await;
        assert_eq!(status, 201, "{body}");
        let path = body["path"].as_str().expect("path").to_owned();

        let response = app.anonymous.get(format!("{}{path}", app.address)).send().await.expect("embed");
        assert_eq!(response.status(), 200);
        let csp = response.headers()["content-security-policy"].to_str().expect("csp").to_owned();
        assert!(csp.contains("frame-ancestors https://wiki.example.com"), "{csp}");
        assert!(response.headers().get(reqwest::header::SET_COOKIE).is_none(), "an embed creates no session");
        let html = response.text().await.expect("html");
        assert!(
            html.contains("month-grid")
                && !html.contains("Sign out")
                && !html.contains("nav-previous")
                && !html.contains("href=\"/trains/"),
            "read-only panel that never navigates out"
        );

        let token = path.split("token=").nth(1).expect("token").to_owned();
        let other_panel = format!("{}/embed/budgets?token={token}", app.address);
        assert_eq!(app.anonymous.get(other_panel).send().await.expect("embed").status(), 403, "wrong panel");
        let mut tampered = token.clone();
        let last = tampered.pop().expect("char");
        tampered.push(if last == 'A' { 'B' } else { 'A' });
        let url = format!("{}/embed/calendar?token={tampered}", app.address);
        assert_eq!(app.anonymous.get(url).send().await.expect("embed").status(), 401, "tampered signature");

        let key = key(&app).await;
        let claims = Claims {
            panel: "calendar".into(),
            params: Default::default(),
            aud: "https://wiki.example.com".into(),
            exp: (Instant::from_utc(server::clock::Clock::now(&app.clock)) + 60_000).ms(),
            sub: "user:admin".into(),
            jti: "not-a-stored-link".into(),
        };
        let foreign = sign(&claims, b"some other server's key").expect("sign");
        let url = format!("{}/embed/calendar?token={foreign}", app.address);
        assert_eq!(app.anonymous.get(url).send().await.expect("embed").status(), 401, "signed elsewhere");
        let genuine = sign(&claims, &key).expect("sign");
        let parts: Vec<&str> = genuine.split('.').collect();
        use base64::Engine;
        let none = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"railyard-embed"}"#);
        let url = format!("{}/embed/calendar?token={none}.{}.", app.address, parts[1]);
        assert_eq!(app.anonymous.get(url).send().await.expect("embed").status(), 401, "alg swapped to none");
        let url = format!("{}/embed/calendar?token={none}.{}.{}", app.address, parts[1], parts[2]);
        assert_eq!(app.anonymous.get(url).send().await.expect("embed").status(), 401, "alg swapped, signature kept");

        app.clock.advance(Duration::days(2));
        let response = app.anonymous.get(format!("{}{path}", app.address)).send().await.expect("embed");
        assert_eq!(response.status(), 401, "expired");
        assert!(response.text().await.expect("body").contains("expired"));

        let admin = sign_in(&app.anonymous, &app.address, "admin", ADMIN_PASSWORD).await;
        let (status, body) = link(&app, &admin, "1d").await;
        assert_eq!(status, 201);
        let fresh = format!("{}{}", app.address, body["path"].as_str().expect("path"));
        assert_eq!(app.anonymous.get(&fresh).send().await.expect("embed").status(), 200);
        let remove = app
            .send_as(Some(&admin), Method::DELETE, "/api/v1/embed/origins?origin=https://wiki.example.com", None)
            .await;
        assert_eq!(remove.0, 204);
        assert_eq!(app.anonymous.get(&fresh).send().await.expect("embed").status(), 403, "origin taken off the list");
        let (status, body) = link(&app, &admin, "1d").await;
        assert_eq!(status, 400);
        assert!(body["error"].as_str().is_some_and(|e| e.contains("allow-list")), "{body}");
    }

    #[tokio::test]
    async fn a_budget_panel_link_shows_its_one_service() {
        let app = spawn_app(Backend::Sqlite, true).await;
        let admin = app.admin_cookie.clone();
        let origin = json!({ "origin": "https://wiki.example.com" });
        assert_eq!(app.send_as(Some(&admin), Method::POST, "/api/v1/embed/origins", Some(&origin)).await.0, 201);
        let request = |params: serde_json::Value| json!({ "panel": "budget", "params": params, "audience": "https://wiki.example.com", "expires_in": "1d" });
        for (params, error) in [
            (json!({}), "needs the parameter \"service\""),
            (json!({ "service": "checkout", "domain": "x" }), "takes no parameter \"domain\""),
            (json!({ "service": "check out" }), "must be a name of letters"),
        ] {
            let (status, text) =
                app.send_as(Some(&admin), Method::POST, "/api/v1/embed/links", Some(&request(params))).await;
            assert_eq!(status, 400, "{text}");
            let body: serde_json::Value = serde_json::from_str(&text).expect("json");
            assert!(body["error"].as_str().is_some_and(|e| e.contains(error)), "{text}");
        }
        let (status, text) = app
            .send_as(
                Some(&admin),
                Method::POST,
                "/api/v1/embed/links",
                Some(&request(json!({ "service": "checkout" }))),
            )
            .await;
        assert_eq!(status, 201, "{text}");
        let body: serde_json::Value = serde_json::from_str(&text).expect("json");
        let path = body["path"].as_str().expect("path");
        assert!(path.starts_with("/embed/budget?service=checkout&token="), "{path}");

        let response = app.anonymous.get(format!("{}{path}", app.address)).send().await.expect("embed");
        assert_eq!(response.status(), 200);
        let html = response.text().await.expect("html");
        assert!(html.contains("checkout: error budget left") && html.contains("<svg"), "the chart, server-rendered");
        assert!(!html.contains("href=\"/trains/") && !html.contains("Sign out"), "never navigates out");

        let other = path.replace("service=checkout", "service=ledger");
        let response = app.anonymous.get(format!("{}{other}", app.address)).send().await.expect("embed");
        assert_eq!(response.status(), 403, "the link shows its own service only");
    }

    #[tokio::test]
    async fn an_on_call_link_shows_the_board_read_only_without_leaving_the_wiki() {
        let app = spawn_app(Backend::Sqlite, true).await;
        let admin = app.admin_cookie.clone();
        let origin = json!({ "origin": "https://wiki.example.com" });
        assert_eq!(app.send_as(Some(&admin), Method::POST, "/api/v1/embed/origins", Some(&origin)).await.0, 201);
        // An open incident, so the board has something to show.
        let incident = json!({ "service": "ledger", "severity": "high", "started_at": "2026-11-27T11:00:00Z", "title": "ledger slow" });
        assert_eq!(app.post_json("/api/v1/incidents", &incident).await.0, 201);
        let request =
            json!({ "panel": "oncall", "params": {}, "audience": "https://wiki.example.com", "expires_in": "1d" });
        let (status, text) = app.send_as(Some(&admin), Method::POST, "/api/v1/embed/links", Some(&request)).await;
        assert_eq!(status, 201, "{text}");
        let body: serde_json::Value = serde_json::from_str(&text).expect("json");
        let path = body["path"].as_str().expect("path");
        assert!(path.starts_with("/embed/oncall?token="), "{path}");
        let response = app.anonymous.get(format!("{}{path}", app.address)).send().await.expect("embed");
        assert_eq!(response.status(), 200);
        let html = response.text().await.expect("html");
        assert!(html.contains("embed-oncall") && html.contains("ledger slow"), "the board, server-rendered");
        assert!(!html.contains("href=\"/trains/") && !html.contains("Sign out"), "never navigates out");
        assert!(!html.contains("Report an incident") && !html.contains(">Resolve<"), "read-only");
        let other = path.replace("/embed/oncall", "/embed/calendar");
        let response = app.anonymous.get(format!("{}{other}", app.address)).send().await.expect("embed");
        assert_eq!(response.status(), 403, "the link shows its own panel only");
    }

    #[tokio::test]
    async fn train_card_and_countdown_links_show_their_one_train() {
        // The demo's past has the completed train the card shows.
        let app = spawn_app_with(Backend::Sqlite, true, |s| s.demo_history = true).await;
        server::scheduler::tick(
            &app.db,
            crate::helpers::lead(&app.db).await,
            crate::helpers::test_now(),
            &server::scheduler::SchedulerConfig::default(),
        )
        .await
        .expect("tick");
        let admin = app.admin_cookie.clone();
        let origin = json!({ "origin": "https://wiki.example.com" });
        assert_eq!(app.send_as(Some(&admin), Method::POST, "/api/v1/embed/origins", Some(&origin)).await.0, 201);
        let link = |panel: &'static str, params: serde_json::Value| {
            let body =
                json!({ "panel": panel, "params": params, "audience": "https://wiki.example.com", "expires_in": "1d" });
            let admin = admin.clone();
            let app = &app;
            async move {
                let (status, text) = app.send_as(Some(&admin), Method::POST, "/api/v1/embed/links", Some(&body)).await;
                assert_eq!(status, 201, "{text}");
                let body: serde_json::Value = serde_json::from_str(&text).expect("json");
                body["path"].as_str().expect("path").to_owned()
            }
        };
        let fetch = |path: String| {
            let app = &app;
            async move {
                let response = app.anonymous.get(format!("{}{path}", app.address)).send().await.expect("embed");
                (response.status().as_u16(), response.text().await.expect("html"))
            }
        };

        let path = link("countdown", json!({ "definition": "payments-weekly" })).await;
        let (status, html) = fetch(path.clone()).await;
        assert_eq!(status, 200, "{html}");
        assert!(html.contains("payments-weekly · payments") && html.contains("class=\"countdown-big countdown\""));
        assert!(html.contains(">in "), "a countdown, server-rendered: {html}");
        assert_eq!(fetch(path.replace("payments-weekly", "search-biweekly")).await.0, 403, "its own definition only");

        let mut conn = app.db.acquire().await.expect("connection");
        let (train,): (String,) = sqlx::query_as("SELECT id FROM trains WHERE state = 'completed' LIMIT 1")
            .fetch_one(&mut *conn)
            .await
            .expect("a past train");
        drop(conn);
        let path = link("train", json!({ "id": train })).await;
        let (status, html) = fetch(path.clone()).await;
        assert_eq!(status, 200, "{html}");
        assert!(
            html.contains("class=\"embed-train phase-completed\"") && html.contains("candidates on board"),
            "{html}"
        );
        assert!(!html.contains("href=\"/trains/") && !html.contains("Sign out"), "never navigates out");
        for private in ["release_notes", "approvals", "audit", "Release notes:", "author"] {
            assert!(!html.contains(private), "the wiki's iframe receives only what the card shows, not {private}");
        }
        let other = path.replace(&train, "00000000-0000-0000-0000-000000000000");
        assert_eq!(fetch(other).await.0, 403, "its own train only");
    }
}

#[tokio::test]
async fn a_new_user_must_choose_a_password_before_their_roles_apply() {
    let app = spawn_app(Backend::Sqlite, false).await;
    let body = json!({ "name": "nina", "password": "initial password 1", "roles": [{ "role": "viewer" }] });
    assert_eq!(app.send_as(Some(&app.admin_cookie), Method::POST, "/api/v1/users", Some(&body)).await.0, 201);
    let nina = sign_in(&app.anonymous, &app.address, "nina", "initial password 1").await;
    let (status, body) =
        app.send_as(Some(&nina), Method::GET, "/api/v1/trains?from=2026-11-01&to=2026-12-01", None).await;
    assert_eq!(status, 403);
    assert!(body.contains("choose your own password first"), "{body}");
    let (_, me) = app.send_as(Some(&nina), Method::GET, "/api/v1/me", None).await;
    assert!(me.contains("\"must_change_password\":true"), "{me}");
    let change = json!({ "current": "initial password 1", "new": "nina's own passphrase" });
    assert_eq!(app.send_as(Some(&nina), Method::POST, "/api/v1/me/password", Some(&change)).await.0, 204);
    let (status, _) = app.send_as(Some(&nina), Method::GET, "/api/v1/trains?from=2026-11-01&to=2026-12-01", None).await;
    assert_eq!(status, 200);
}

async fn a_domain_limited_read_token_reads_only_its_domains(backend: Backend) {
    let app = spawn_app(backend, true).await;
    let config = server::scheduler::SchedulerConfig { horizon: Duration::days(14), ..Default::default() };
    server::scheduler::tick(&app.db, crate::helpers::lead(&app.db).await, crate::helpers::test_now(), &config)
        .await
        .expect("the demo fleet's trains are planned");
    let body = json!({ "name": "payments-reader", "scopes": ["read", "feed:read"], "domains": ["payments"] });
    let (status, created) = app.send_as(Some(&app.admin_cookie), Method::POST, "/api/v1/tokens", Some(&body)).await;
    assert_eq!(status, 201, "{created}");
    let created: serde_json::Value = serde_json::from_str(&created).expect("json");
    let token = created["token"].as_str().expect("secret").to_owned();
    let get = |path: String| {
        let (client, token) = (app.anonymous.clone(), token.clone());
        async move {
            let response = client.get(path).bearer_auth(token).send().await.expect("request");
            (response.status().as_u16(), response.text().await.expect("body"))
        }
    };
    let range = "from=2026-11-01&to=2027-01-01";
    let (status, everything) = app.get(&format!("/api/v1/trains?{range}")).await;
    assert_eq!(status, 200);
    let all: serde_json::Value = serde_json::from_str(&everything).expect("json");
    let domains_of = |list: &serde_json::Value| -> Vec<String> {
        let mut names: Vec<String> = list["trains"]
            .as_array()
            .expect("trains")
            .iter()
            .map(|t| t["domain"].as_str().expect("domain").to_owned())
            .collect();
        names.sort();
        names.dedup();
        names
    };
    assert!(domains_of(&all).len() > 1, "the demo has trains in several domains");

    let (status, mine) = get(format!("{}/api/v1/trains?{range}", app.address)).await;
    assert_eq!(status, 200, "{mine}");
    let mine: serde_json::Value = serde_json::from_str(&mine).expect("json");
    assert_eq!(domains_of(&mine), vec!["payments".to_owned()], "only its own domain's trains");
    let (status, _) = get(format!("{}/api/v1/trains?{range}&domain=search", app.address)).await;
    assert_eq!(status, 403, "asking for another domain is refused");

    let other = all["trains"].as_array().expect("trains").iter().find(|t| t["domain"] != "payments").expect("a train");
    let own = mine["trains"].as_array().expect("trains").first().expect("a payments train");
    let (status, _) = get(format!("{}/api/v1/trains/{}", app.address, own["id"].as_str().expect("id"))).await;
    assert_eq!(status, 200);
    let (status, body) = get(format!("{}/api/v1/trains/{}", app.address, other["id"].as_str().expect("id"))).await;
    assert_eq!(status, 403, "{body}");
    let (status, body) =
        get(format!("{}/api/v1/trains/{}/release-notes", app.address, other["id"].as_str().expect("id"))).await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = get(format!("{}/metrics", app.address)).await;
    assert_eq!(status, 403, "a view of every domain is closed to it: {body}");
    assert!(body.contains("limited to domain payments"), "{body}");
    let (status, feed) = get(format!("{}/calendar.ics", app.address)).await;
    assert_eq!(status, 200, "{feed}");
    assert!(feed.contains("payments") && !feed.contains(other["definition"].as_str().expect("name")), "{feed}");
}
on_both_backends!(a_domain_limited_read_token_reads_only_its_domains);

async fn embed_links_default_to_ninety_days_and_are_listed_and_revoked_one_by_one(backend: Backend) {
    let app = spawn_app(backend, true).await;
    let admin = app.admin_cookie.clone();
    let origin = json!({ "origin": "https://wiki.example.com" });
    assert_eq!(app.send_as(Some(&admin), Method::POST, "/api/v1/embed/origins", Some(&origin)).await.0, 201);
    let rita = app.user_with_roles("rita", &[("release_manager", None)]).await;
    let rob = app.user_with_roles("rob", &[("release_manager", None)]).await;
    let create = |cookie: String| {
        let app = &app;
        async move {
            let body = json!({ "panel": "calendar", "audience": "https://wiki.example.com" });
            let (status, text) = app.send_as(Some(&cookie), Method::POST, "/api/v1/embed/links", Some(&body)).await;
            assert_eq!(status, 201, "{text}");
            serde_json::from_str::<serde_json::Value>(&text).expect("json")
        }
    };
    let first = create(rita.clone()).await;
    let second = create(rita.clone()).await;
    let expires = chrono::DateTime::parse_from_rfc3339(first["expires_at"].as_str().expect("expiry")).expect("instant");
    let lifetime = expires.with_timezone(&chrono::Utc) - crate::helpers::test_now();
    assert!((lifetime - Duration::days(90)).num_minutes().abs() < 5, "90 days by default, not {lifetime}");

    let list = |cookie: String| {
        let app = &app;
        async move {
            let (status, text) = app.send_as(Some(&cookie), Method::GET, "/api/v1/embed/links", None).await;
            assert_eq!(status, 200, "{text}");
            serde_json::from_str::<Vec<serde_json::Value>>(&text).expect("json")
        }
    };
    assert_eq!(list(rita.clone()).await.len(), 2, "rita sees her own links");
    assert!(list(rob.clone()).await.is_empty(), "rob sees none of hers");
    assert_eq!(list(admin.clone()).await.len(), 2, "an admin sees every link");
    assert!(!list(admin.clone()).await[0].to_string().contains("token"), "a listing never shows a token");

    let embed = |link: &serde_json::Value| format!("{}{}", app.address, link["path"].as_str().expect("path"));
    let status = |url: String| {
        let client = app.anonymous.clone();
        async move { client.get(url).send().await.expect("embed").status().as_u16() }
    };
    assert_eq!(status(embed(&first)).await, 200);
    let revoke = format!("/api/v1/embed/links/{}", first["id"].as_str().expect("id"));
    assert_eq!(app.send_as(Some(&rob), Method::DELETE, &revoke, None).await.0, 403, "not rob's link");
    assert_eq!(app.send_as(Some(&rita), Method::DELETE, &revoke, None).await.0, 204);
    assert_eq!(app.send_as(Some(&rita), Method::DELETE, &revoke, None).await.0, 409, "already revoked");
    let response = app.anonymous.get(embed(&first)).send().await.expect("embed");
    assert_eq!(response.status().as_u16(), 401);
    assert!(response.text().await.expect("body").contains("revoked"));
    assert_eq!(status(embed(&second)).await, 200, "the other link still works");
    let statuses: Vec<String> =
        list(rita).await.iter().map(|l| l["status"].as_str().expect("status").to_owned()).collect();
    assert_eq!(statuses, vec!["active".to_owned(), "revoked".to_owned()]);
}
on_both_backends!(embed_links_default_to_ninety_days_and_are_listed_and_revoked_one_by_one);
