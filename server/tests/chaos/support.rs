//! Running the real `railyard` binary as separate processes, a webhook
//! deployer that honours idempotency keys, and the checks every chaos test
//! ends with.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};

use axum::Router;
use serde_json::{json, Value};
use server::store::{self, Db};

pub const ADMIN_PASSWORD: &str = "chaos admin password 1";
const SECRET_ENV: &str = "RAILYARD_CHAOS_WEBHOOK_SECRET";
pub const SERVICES: [&str; 4] = ["ledger", "wallet", "checkout", "refunds"];

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("address").port()
}

/// One `railyard serve` process; SIGKILLed on drop.
pub struct Replica {
    pub name: String,
    pub address: String,
    child: Child,
    pub log: PathBuf,
}

impl Replica {
    /// Starts `railyard serve` on `port` against `database_url`, appending its log to `log`.
    pub fn start(name: &str, database_url: &str, port: u16, log: &Path, lease: (&str, &str)) -> Self {
        Self::start_logging(name, database_url, port, log, lease, "info,sqlx=warn")
    }

    /// [`Self::start`] with `RUST_LOG` set to `filter`.
    pub fn start_logging(
        name: &str,
        database_url: &str,
        port: u16,
        log: &Path,
        lease: (&str, &str),
        filter: &str,
    ) -> Self {
        let out = OpenOptions::new().create(true).append(true).open(log).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_railyard"))
            .args(["serve", "--addr", &format!("127.0.0.1:{port}"), "--database-url", database_url])
            .args(["--lease-ttl", lease.0, "--lease-renew", lease.1, "--scheduler-interval", "1s"])
            .env("RAILYARD_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env(SECRET_ENV, "chaos-secret")
            .env(crate::gitops::TOKEN_ENV, crate::gitops::TOKEN)
            .env("RAILYARD_GITOPS_POLL", "200ms")
            .env("RUST_LOG", filter)
            .env("NO_COLOR", "1")
            .stdout(out.try_clone().expect("log"))
            .stderr(out)
            .stdin(Stdio::null())
            .spawn()
            .expect("the railyard binary starts");
        Self { name: name.to_owned(), address: format!("http://127.0.0.1:{port}"), child, log: log.to_owned() }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no shutdown, no lease release.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends `signal` (e.g. "STOP", "CONT") to the process.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill").arg(format!("-{signal}")).arg(self.pid().to_string()).status();
        assert!(status.is_ok_and(|s| s.success()), "kill -{signal} {}", self.pid());
    }

    /// Waits (bounded) until the process answers `/healthz`.
    pub async fn until_up(&self, client: &reqwest::Client) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if client.get(format!("{}/healthz", self.address)).send().await.is_ok_and(|r| r.status() == 200) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let log = self.log_text();
        let tail: Vec<&str> = log.lines().rev().take(30).collect::<Vec<_>>().into_iter().rev().collect();
        panic!("{} did not come up within 60 s; the end of its log:\n{}", self.name, tail.join("\n"));
    }

    /// This replica's leadership as `/readyz` reports it: the term it leads in, if any.
    pub async fn leading(&self, client: &reqwest::Client) -> Option<i64> {
        let response = client.get(format!("{}/readyz", self.address)).send().await.ok()?;
        let body: Value = response.json().await.ok()?;
        (body["leadership"]["role"] == "leader").then(|| body["leadership"]["term"].as_i64()).flatten()
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A daily hour twelve hours from now: the chaos runs on the wall clock, and a
/// scheduled train of its definitions must not reach preflight (whose full
/// gates the tests never report) while a run lasts.
pub fn quiet_hour() -> u32 {
    use chrono::Timelike;
    (chrono::Utc::now().hour() + 12) % 24
}

/// The fleet: four payments services on one definition whose trains deploy
/// through the webhook deployer at `deployer`, with soaks of a second.
pub fn fleet(deployer: &str) -> String {
    let mut file = String::from("[[domain]]\nname = \"payments\"\n");
    for service in SERVICES {
        file.push_str(&format!("\n[[service]]\nname = \"{service}\"\ndomain = \"payments\"\n"));
    }
    file.push_str(&format!(
        "\n[[train]]\nname = \"payments-daily\"\ndomain = \"payments\"\nservices = {services:?}\n\
         cadence = \"FREQ=DAILY;BYHOUR={hour}\"\ntime_zone = \"UTC\"\nstarts = \"2026-01-01\"\n\
         planning_window = \"1h\"\ncutover_window = \"2h\"\npreflight = \"30m\"\nmonitoring = \"1s\"\n\
         emergency_gates = [\"tests\"]\ndeployer = \"webhook\"\nwebhook_url = \"{deployer}/deploy\"\n\
         webhook_secret_env = \"{SECRET_ENV}\"\n",
        services = SERVICES,
        hour = quiet_hour()
    ));
    for (name, environment, weight) in
        [("staging", "staging", 100), ("canary 10%", "production", 10), ("100%", "production", 100)]
    {
        file.push_str(&format!(
            "\n[[train.step]]\nname = \"{name}\"\nenvironment = \"{environment}\"\nweight = {weight}\nsoak = \"1s\"\n"
        ));
    }
    file
}

/// Applies the fleet file with `railyard apply` (which also migrates).
pub fn apply_fleet(database_url: &str, dir: &Path, deployer: &str) {
    apply_fleet_text(database_url, dir, &fleet(deployer));
}

/// Applies `text` as the fleet file.
pub fn apply_fleet_text(database_url: &str, dir: &Path, text: &str) {
    let file = dir.join("fleet.toml");
    std::fs::write(&file, text).expect("fleet file");
    let output = Command::new(env!("CARGO_BIN_EXE_railyard"))
        .args(["apply", &file.display().to_string(), "--database-url", database_url])
        .output()
        .expect("railyard apply runs");
    assert!(output.status.success(), "apply: {}", String::from_utf8_lossy(&output.stderr));
}

/// What the deployer received: per idempotency key, the calls and whether it was applied.
#[derive(Default)]
pub struct Deployer {
    /// Every call: (key, action, step).
    pub calls: Vec<(String, String, u64)>,
    /// Keys applied, in order; a key seen again is acknowledged, not applied again.
    pub applied: Vec<String>,
    /// Each effect (train, action, step) with every key it arrived under.
    pub keys_by_effect: BTreeMap<(String, String, u64), BTreeSet<String>>,
}

pub type SharedDeployer = Arc<Mutex<Deployer>>;

async fn deploy(State(seen): State<SharedDeployer>, headers: HeaderMap, body: Bytes) -> (StatusCode, String) {
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let payload: Value = serde_json::from_slice(&body).unwrap_or_default();
    let action = payload["action"].as_str().unwrap_or_default().to_owned();
    let step = payload["step"]["index"].as_u64().unwrap_or(99);
    let train = payload["train_id"].as_str().unwrap_or_default().to_owned();
    // A deployment takes a moment, so that kills land mid-call too.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
    seen.calls.push((key.clone(), action.clone(), step));
    seen.keys_by_effect.entry((train, action, step)).or_default().insert(key.clone());
    if !seen.applied.contains(&key) {
        seen.applied.push(key);
    }
    let running: Vec<Value> = payload["artifacts"]
        .as_array()
        .map(|artifacts| artifacts.iter().map(|a| json!({ "service": a["service"], "digest": a["digest"] })).collect())
        .unwrap_or_default();
    (StatusCode::ACCEPTED, json!({ "running": running }).to_string())
}

/// Starts the deployer on a loopback port; returns its base URL.
pub async fn start_deployer(seen: SharedDeployer) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let routes = Router::new().route("/deploy", axum::routing::post(deploy)).with_state(seen);
    tokio::spawn(async move { axum::serve(listener, routes).await });
    format!("http://{address}")
}

/// An HTTP client that sends no credentials by itself.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(20)).build().expect("client")
}

/// Signs in; returns the `Cookie` header value.
pub async fn sign_in(client: &reqwest::Client, address: &str, name: &str, password: &str) -> String {
    let response = client
        .post(format!("{address}/api/v1/session"))
        .json(&json!({ "name": name, "password": password }))
        .send()
        .await
        .expect("sign-in");
    assert_eq!(response.status(), 200, "signing in as {name}");
    let cookie = response.headers().get(reqwest::header::SET_COOKIE).expect("cookie").to_str().expect("text");
    cookie.split(';').next().expect("name=value").to_owned()
}

/// POSTs `body` with `cookie`; returns status and JSON body.
pub async fn post_json(client: &reqwest::Client, url: &str, cookie: &str, body: &Value) -> (u16, Value) {
    let response = client.post(url).header(reqwest::header::COOKIE, cookie).json(body).send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Creates a release manager for payments and registers `count` builds with
/// passing tests; returns the release manager's cookie and the artifact ids.
pub async fn release_manager_and_builds(
    client: &reqwest::Client,
    address: &str,
    count: usize,
) -> (String, Vec<String>) {
    let admin = sign_in(client, address, "admin", ADMIN_PASSWORD).await;
    let user = json!({ "name": "rita", "password": "initial password 1",
                       "roles": [{ "role": "release_manager", "domain": "payments" }] });
    assert_eq!(post_json(client, &format!("{address}/api/v1/users"), &admin, &user).await.0, 201);
    let rita = sign_in(client, address, "rita", "initial password 1").await;
    let change = json!({ "current": "initial password 1", "new": "rita's own password" });
    let response = client
        .post(format!("{address}/api/v1/me/password"))
        .header(reqwest::header::COOKIE, &rita)
        .json(&change)
        .send()
        .await
        .expect("password change");
    assert_eq!(response.status(), 204);
    let services: Vec<&str> = (0..count).map(|n| SERVICES[n % SERVICES.len()]).collect();
    (rita, builds(client, address, &admin, &services).await)
}

/// Registers one build with passing tests per entry of `services` (as CI, with a token `admin` makes);
/// returns the artifact ids.
pub async fn builds(client: &reqwest::Client, address: &str, admin: &str, services: &[&str]) -> Vec<String> {
    let name = format!("ci for {}", services.first().copied().unwrap_or("nothing"));
    let token_request = json!({ "name": name, "scopes": ["read", "artifacts:write", "checks:write"] });
    let (status, token) = post_json(client, &format!("{address}/api/v1/tokens"), admin, &token_request).await;
    assert_eq!(status, 201);
    let token = token["token"].as_str().expect("token").to_owned();
    let mut artifacts = Vec::new();
    for (n, service) in services.iter().enumerate() {
        let digest = format!("sha256:{:064x}", n + 1 + if *service == crate::gitops::SERVICE { 1000 } else { 0 });
        let body = json!({
            "service": service, "version": format!("1.0.{n}"), "digest": digest,
            "commit": "1234567", "author": "bob", "changes": [{ "title": format!("{service}: change {n}"), "kind": "fix" }]
        });
        let response = client
            .post(format!("{address}/api/v1/artifacts"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .expect("register");
        assert_eq!(response.status(), 201);
        let id = response.json::<Value>().await.expect("json")["id"].as_str().expect("id").to_owned();
        let check = json!({ "kind": "tests", "name": "unit", "status": "passed" });
        let response = client
            .post(format!("{address}/api/v1/artifacts/{id}/checks"))
            .bearer_auth(&token)
            .json(&check)
            .send()
            .await
            .expect("check");
        assert_eq!(response.status(), 201);
        artifacts.push(id);
    }
    artifacts
}

/// Starts one emergency train per artifact; returns the train ids.
pub async fn emergency_trains(
    client: &reqwest::Client,
    address: &str,
    cookie: &str,
    artifacts: &[String],
) -> Vec<String> {
    emergency_trains_of(client, address, cookie, "payments-daily", artifacts).await
}

/// Starts one emergency train of `definition` per artifact; returns the train ids.
pub async fn emergency_trains_of(
    client: &reqwest::Client,
    address: &str,
    cookie: &str,
    definition: &str,
    artifacts: &[String],
) -> Vec<String> {
    let mut trains = Vec::new();
    for artifact in artifacts {
        let body = json!({ "definition": definition, "artifacts": [artifact], "reason": "chaos test: ship it now" });
        let (status, train) = post_json(client, &format!("{address}/api/v1/trains/emergency"), cookie, &body).await;
        assert_eq!(status, 201, "{train}");
        trains.push(train["id"].as_str().expect("id").to_owned());
    }
    trains
}

/// Each train's state, read from the store.
pub async fn states(db: &Db, trains: &[String]) -> Vec<String> {
    let mut conn = db.acquire().await.expect("connection");
    let mut states = Vec::new();
    for id in trains {
        let train = store::trains::by_id(&mut conn, id).await.expect("query").expect("train");
        states.push(train.state.to_string());
    }
    states
}

/// Waits (bounded) until every train is final; returns their states.
pub async fn until_final(db: &Db, trains: &[String], within: Duration) -> Vec<String> {
    let deadline = Instant::now() + within;
    loop {
        let states = states(db, trains).await;
        let done = states.iter().all(|s| ["completed", "rolled_back", "aborted", "skipped"].contains(&s.as_str()));
        if done || Instant::now() > deadline {
            return states;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Every train's timeline is whole: numbered 1, 2, 3 … without gaps, each
/// state change starting where the previous one ended, from `scheduled` to
/// the train's final state, and the train opened exactly once.
pub async fn assert_timelines_whole(db: &Db, trains: &[String]) {
    let mut conn = db.acquire().await.expect("connection");
    for id in trains {
        let events = store::trains::events(&mut conn, id).await.expect("events");
        let numbers: Vec<i64> = events.iter().map(|e| e.seq).collect();
        let expected: Vec<i64> = (1..=events.len() as i64).collect();
        assert_eq!(numbers, expected, "train {id}: the timeline has a gap");
        let changes: Vec<_> = events.iter().filter(|e| e.from_state != e.to_state).collect();
        let mut at = "scheduled".to_owned();
        for change in &changes {
            assert_eq!(change.from_state.as_deref(), Some(at.as_str()), "train {id}: a state change is missing");
            at = change.to_state.clone().unwrap_or_default();
        }
        let train = store::trains::by_id(&mut conn, id).await.expect("query").expect("train");
        assert_eq!(at, train.state.to_string(), "train {id}: the timeline ends where the train is");
        let openings = changes.iter().filter(|e| e.to_state.as_deref() == Some("planning")).count();
        assert_eq!(openings, 1, "train {id} was opened {openings} times");
    }
}

/// The deployer applied each effect once, under one key: no restart or
/// take-over made Railyard ask for the same deployment under a new key.
pub fn assert_applied_once(seen: &Deployer, trains: &[String]) {
    for ((train, action, step), keys) in &seen.keys_by_effect {
        assert_eq!(keys.len(), 1, "{action} of step {step} of {train} arrived under several keys: {keys:?}");
    }
    let distinct: BTreeSet<&String> = seen.applied.iter().collect();
    assert_eq!(distinct.len(), seen.applied.len(), "a key was applied twice");
    for train in trains {
        assert!(
            seen.keys_by_effect.keys().any(|(t, action, _)| t == train && action == "deploy"),
            "train {train} never deployed"
        );
    }
}

/// Effects that failed for good, or are overdue and still pending, from the
/// store (a finished train may leave a timer due later; it fires harmlessly).
pub async fn unsettled_effects(db: &Db) -> Vec<(String, String, String, String)> {
    let mut conn = db.acquire().await.expect("connection");
    let now = server::time::Instant::from_utc(chrono::Utc::now()) - 5_000;
    sqlx::query_as(
        "SELECT effect_key, status, effect, last_error FROM outbox \
         WHERE status = 'failed' OR (status = 'pending' AND due_at <= $1) ORDER BY effect_key",
    )
    .bind(now.ms())
    .fetch_all(&mut *conn)
    .await
    .expect("outbox")
}
