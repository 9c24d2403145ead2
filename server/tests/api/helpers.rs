//! Spawning the app and making fresh databases for tests.

use server::time::Instant;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use server::auth::AuthSettings;
use server::clock::ManualClock;
use server::config::Settings;
use server::scheduler::SchedulerConfig;
use server::startup::Application;
use server::store::Db;

/// Which store a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh, empty database that lives as long as this value.
pub struct TestDatabase {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

#[path = "../common/postgres.rs"]
pub mod postgres;

/// Creates an empty database on `backend`.
pub async fn fresh_database(backend: Backend) -> TestDatabase {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}", dir.path().join("railyard.db").display());
            TestDatabase { url, _dir: Some(dir) }
        }
        Backend::Postgres => TestDatabase { url: postgres::fresh_database("railyard_test").await, _dir: None },
    }
}

/// A migrated store on a fresh database.
pub async fn fresh_store(backend: Backend) -> (Db, TestDatabase) {
    let database = fresh_database(backend).await;
    let db = Db::connect(&database.url).await.expect("connect");
    db.migrate().await.expect("migrate");
    (db, database)
}

/// Noon UTC on Friday 2026-11-27, the day these tests pretend it is.
pub fn test_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).single().expect("valid instant")
}

/// The first admin's password in every test app.
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

/// A running app and what tests need to poke it.
pub struct TestApp {
    pub address: String,
    /// Sends a CI token with every scope (`read`, `artifacts:write`, `checks:write`, `incidents:write`).
    pub client: reqwest::Client,
    /// Sends no credentials.
    pub anonymous: reqwest::Client,
    /// The `Cookie` header of the first admin's session.
    pub admin_cookie: String,
    pub db: Db,
    /// The app's simulated clock.
    pub clock: ManualClock,
    _database: TestDatabase,
}

/// Starts the real app on port 0 against a fresh database, optionally with
/// the demo fleet, on a simulated clock. The scheduler is driven by tests.
pub async fn spawn_app(backend: Backend, demo: bool) -> TestApp {
    spawn_app_with(backend, demo, |_| {}).await
}

/// [`spawn_app`] with settings changed by `adjust`.
pub async fn spawn_app_with(backend: Backend, demo: bool, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let database = fresh_database(backend).await;
    let clock = ManualClock::starting_at(test_now());
    let settings = Settings {
        addr: "127.0.0.1:0".parse().expect("address"),
        database_url: database.url.clone(),
        demo,
        // The demo's past takes seconds to replay; its own test asks for it.
        demo_history: false,
        site_root: std::env::temp_dir(),
        scheduler: SchedulerConfig::default(),
        run_workers: false,
        auth: AuthSettings { admin_password: Some(ADMIN_PASSWORD.into()), ..AuthSettings::default() },
        ..Settings::default()
    };
    let mut settings = settings;
    adjust(&mut settings);
    let app = Application::build(settings, Arc::new(clock.clone())).await.expect("app builds");
    let address = format!("http://{}", app.address());
    let db = app.db().clone();
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    let anonymous = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let admin_cookie = sign_in(&anonymous, &address, "admin", ADMIN_PASSWORD).await;
    let token = create_token(
        &anonymous,
        &address,
        &admin_cookie,
        &["read", "artifacts:write", "checks:write", "incidents:write"],
    )
    .await;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {token}").parse().expect("header"));
    let client =
        reqwest::Client::builder().timeout(Duration::from_secs(30)).default_headers(headers).build().expect("client");
    TestApp { address, client, anonymous, admin_cookie, db, clock, _database: database }
}

impl TestApp {
    /// Starts a second replica on this app's database and clock (with
    /// settings changed by `adjust`); answers its base address.
    pub async fn replica(&self, adjust: impl FnOnce(&mut Settings)) -> String {
        let mut settings = Settings {
            addr: "127.0.0.1:0".parse().expect("address"),
            database_url: self._database.url.clone(),
            site_root: std::env::temp_dir(),
            run_workers: false,
            ..Settings::default()
        };
        adjust(&mut settings);
        let app = Application::build(settings, Arc::new(self.clock.clone())).await.expect("replica builds");
        let address = format!("http://{}", app.address());
        tokio::spawn(app.run_until_stopped(std::future::pending()));
        address
    }
}

/// Signs in over the JSON API and returns the `Cookie` header value of the new session.
pub async fn sign_in(client: &reqwest::Client, address: &str, name: &str, password: &str) -> String {
    let response = client
        .post(format!("{address}/api/v1/session"))
        .json(&serde_json::json!({ "name": name, "password": password }))
        .send()
        .await
        .expect("sign-in request");
    assert_eq!(response.status(), 200, "signing in as {name}: {}", response.text().await.unwrap_or_default());
    let set_cookie =
        response.headers().get(reqwest::header::SET_COOKIE).expect("a session cookie").to_str().expect("text");
    set_cookie.split(';').next().expect("name=value").to_owned()
}

/// Creates an API token with `scopes` as the admin whose session is `cookie`; returns its secret.
pub async fn create_token(client: &reqwest::Client, address: &str, cookie: &str, scopes: &[&str]) -> String {
    let response = client
        .post(format!("{address}/api/v1/tokens"))
        .header(reqwest::header::COOKIE, cookie)
        .json(&serde_json::json!({ "name": format!("test-{}", scopes.join("-")), "scopes": scopes }))
        .send()
        .await
        .expect("token request");
    assert_eq!(response.status(), 201);
    let body: serde_json::Value = response.json().await.expect("token JSON");
    body["token"].as_str().expect("token secret").to_owned()
}

impl TestApp {
    /// POST `body` as JSON to `path` and return status and parsed body.
    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
        let response = self.client.post(format!("{}{path}", self.address)).json(body).send().await.expect("request");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON body expected, got {text}")))
    }

    /// GET `path` and return status and body.
    pub async fn get(&self, path: &str) -> (u16, String) {
        let response = self.client.get(format!("{}{path}", self.address)).send().await.expect("request");
        (response.status().as_u16(), response.text().await.expect("body"))
    }
}

/// Runs the async test `$sentence` once per backend, as two tests named
/// after it (`applying_the_same_file_twice_changes_nothing::on_sqlite`), so
/// a failure prints the sentence.
#[macro_export]
macro_rules! on_both_backends {
    ($sentence:ident) => {
        mod $sentence {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_sqlite() {
                super::$sentence($crate::helpers::Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_postgres() {
                super::$sentence($crate::helpers::Backend::Postgres).await;
            }
        }
    };
}

/// Every row of every configuration and train table, as text, for "nothing changed" checks.
pub async fn snapshot(db: &Db) -> Vec<String> {
    let queries = [
        "SELECT id || '|' || name || '|' || description || '|' || colour || '|' || updated_at FROM domains ORDER BY id",
        "SELECT id || '|' || name || '|' || domain_id || '|' || owner || '|' || runbook_url || '|' || updated_at FROM services ORDER BY id",
        "SELECT id || '|' || name || '|' || cadence || '|' || time_zone || '|' || starts_on || '|' || planning_window_ms || '|' || cutover_window_ms || '|' || updated_at FROM train_definitions ORDER BY id",
        "SELECT definition_id || '|' || service_id FROM train_definition_services ORDER BY definition_id, service_id",
        "SELECT id || '|' || name || '|' || COALESCE(domain_id, '-') || '|' || COALESCE(cadence, '-') || '|' || starts_at || '|' || duration_ms || '|' || updated_at FROM freezes ORDER BY id",
        "SELECT id || '|' || state || '|' || cutover_at FROM trains ORDER BY id",
    ];
    let mut conn = db.acquire().await.expect("connection");
    let mut rows = Vec::new();
    for query in queries {
        let found: Vec<(String,)> = sqlx::query_as(query).fetch_all(&mut *conn).await.expect("snapshot query");
        rows.extend(found.into_iter().map(|(row,)| row));
    }
    rows
}

/// Makes the test the leader (taking over from any earlier term), as the
/// runtime and scheduler need a fence for their writes.
pub async fn lead(db: &Db) -> server::leadership::Fence {
    server::leadership::take_over(db, "tests", server::leadership::LeaseConfig::default()).await.expect("lease")
}

/// Works the runtime minute by minute from `from` until the train is final
/// (or a day passes); returns the simulated instant it stopped at.
pub async fn drive_train(
    db: &Db,
    integrations: &dyn server::runtime::Integrations,
    train_id: &str,
    from: Instant,
) -> Instant {
    let mut now = from;
    let fence = lead(db).await;
    for _ in 0..24 * 60 {
        server::runtime::sync_freezes(db, fence, now).await.expect("freezes");
        while server::runtime::work(db, fence, integrations, now, 100).await.expect("work") > 0 {}
        if server::runtime::load(db, train_id).await.expect("state").phase.is_final() {
            break;
        }
        now += 60_000;
    }
    now
}

/// Opens the train whose planning window opens on day `day` after the test's
/// day (at `test_now() + day days + 1 h`) and drives it to its end with
/// `metrics`; returns its id. Needs exactly one train to open then.
pub async fn run_day(app: &TestApp, day: i64, metrics: server::integrations::SimulatedMetrics) -> String {
    let opened = test_now() + chrono::Duration::days(day) + chrono::Duration::hours(1);
    server::scheduler::tick(&app.db, lead(&app.db).await, opened, &SchedulerConfig::default()).await.expect("tick");
    let clock = Arc::new(app.clock.clone());
    let integrations =
        server::integrations::FleetIntegrations::new(app.db.clone(), clock, metrics).expect("integrations");
    let train_id = train_in_state(&app.db, "planning").await;
    drive_train(&app.db, &integrations, &train_id, Instant::from_utc(opened)).await;
    train_id
}

/// The id of the one train in `state`.
pub async fn train_in_state(db: &Db, state: &str) -> String {
    let mut conn = db.acquire().await.expect("connection");
    let (id,): (String,) = sqlx::query_as("SELECT id FROM trains WHERE state = $1")
        .bind(state)
        .fetch_one(&mut *conn)
        .await
        .unwrap_or_else(|e| panic!("one train in state {state}: {e}"));
    id
}

/// Registers a build of `service` the way CI does: the artifact, a passing
/// test run, and a SARIF scan whose one finding has CVSS `scan_severity`
/// (7 or more blocks). Returns the artifact id.
pub async fn register_build(app: &TestApp, service: &str, version: &str, digit: char, scan_severity: &str) -> String {
    let (status, artifact) = app
        .post_json(
            "/api/v1/artifacts",
            &serde_json::json!({
                "service": service,
                "version": version,
                "digest": format!("sha256:{}", digit.to_string().repeat(64)),
                "commit": "1234567",
                "author": "bob",
                "changes": [{ "title": format!("{service}: faster"), "kind": "feature" }]
            }),
        )
        .await;
    assert_eq!(status, 201, "{artifact}");
    let id = artifact["id"].as_str().expect("id").to_owned();
    let tests = serde_json::json!({ "kind": "tests", "name": "unit", "status": "passed" });
    assert_eq!(app.post_json(&format!("/api/v1/artifacts/{id}/checks"), &tests).await.0, 201);
    let sarif = serde_json::json!({ "version": "2.1.0", "runs": [{
        "tool": { "driver": { "name": "trivy", "rules": [{ "id": "CVE-1", "properties": { "security-severity": scan_severity } }] } },
        "results": [{ "ruleId": "CVE-1", "level": "warning" }]
    }] });
    assert_eq!(app.post_json(&format!("/api/v1/artifacts/{id}/sarif?name=trivy"), &sarif).await.0, 201);
    id
}

/// A one-service fleet: domain `payments`, service `ledger`, and a daily
/// 14:00 UTC train `payments-daily` (planning opens an hour before, closes
/// 30 minutes before), with extra lines for the domain and the train, and
/// rollout steps as (name, environment, weight, soak).
pub fn ledger_fleet(domain_extra: &str, train_extra: &str, steps: &[(&str, &str, u8, &str)]) -> String {
    let mut file = format!(
        "[[domain]]\nname = \"payments\"\n{domain_extra}\n\n[[service]]\nname = \"ledger\"\ndomain = \"payments\"\n\n\
         [[train]]\nname = \"payments-daily\"\ndomain = \"payments\"\nservices = [\"ledger\"]\n\
         cadence = \"FREQ=DAILY;BYHOUR=14\"\ntime_zone = \"UTC\"\nstarts = \"2026-01-01\"\n\
         planning_window = \"1h\"\ncutover_window = \"2h\"\npreflight = \"30m\"\n{train_extra}\n"
    );
    for (name, environment, weight, soak) in steps {
        file.push_str(&format!(
            "\n[[train.step]]\nname = \"{name}\"\nenvironment = \"{environment}\"\nweight = {weight}\nsoak = \"{soak}\"\n"
        ));
    }
    file
}

impl TestApp {
    /// Sends `method path` with `cookie` (if any) and an optional JSON body; returns status and body text.
    pub async fn send_as(
        &self,
        cookie: Option<&str>,
        method: reqwest::Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> (u16, String) {
        let mut request = self.anonymous.request(method, format!("{}{path}", self.address));
        if let Some(cookie) = cookie {
            request = request.header(reqwest::header::COOKIE, cookie);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("request");
        (response.status().as_u16(), response.text().await.expect("body"))
    }

    /// Calls server function `endpoint` as the console's form would (form-encoded) with `cookie`;
    /// returns status and body text.
    pub async fn call_rpc(&self, cookie: &str, endpoint: &str, form: &str) -> (u16, String) {
        let response = self
            .anonymous
            .post(format!("{}/rpc/{endpoint}", self.address))
            .header(reqwest::header::COOKIE, cookie)
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form.to_owned())
            .send()
            .await
            .expect("request");
        (response.status().as_u16(), response.text().await.expect("body"))
    }

    /// Creates a user with `roles` (e.g. `[("release_manager", Some("payments"))]`) and returns their session cookie.
    pub async fn user_with_roles(&self, name: &str, roles: &[(&str, Option<&str>)]) -> String {
        let roles: Vec<serde_json::Value> =
            roles.iter().map(|(role, domain)| serde_json::json!({ "role": role, "domain": domain })).collect();
        let body = serde_json::json!({ "name": name, "password": "initial password 1", "roles": roles });
        let (status, text) =
            self.send_as(Some(&self.admin_cookie), reqwest::Method::POST, "/api/v1/users", Some(&body)).await;
        assert_eq!(status, 201, "creating {name}: {text}");
        let cookie = sign_in(&self.anonymous, &self.address, name, "initial password 1").await;
        // A new user's roles are in force once they chose their own password.
        let change = serde_json::json!({ "current": "initial password 1", "new": "their own password" });
        let (status, text) =
            self.send_as(Some(&cookie), reqwest::Method::POST, "/api/v1/me/password", Some(&change)).await;
        assert_eq!(status, 204, "{name} changing the initial password: {text}");
        cookie
    }
}
