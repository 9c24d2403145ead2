//! The demo's moving parts (`--demo` only, and labelled as such): a CI
//! stand-in that registers a fresh build with passing checks whenever a
//! service has none waiting, and live trains started again whenever the
//! previous one has finished: one for identity with a rollout measured in
//! seconds, one for payments that stays open for planning a while, so the
//! console always has something to operate.

use std::sync::Arc;
use std::time::Duration;

use chrono::Duration as Span;
use tokio::sync::watch;

use crate::clock::Clock;
use crate::engine::{Environment, RolloutStep};
use crate::service;
use crate::store::{self, artifacts::Artifact, artifacts::Check, trains::NewTrain, Db};
use crate::time::Instant;
use crate::train_kind::TrainKind;
use crate::train_state::TrainState;

/// The demo definition whose trains are driven live.
pub const LIVE_DEFINITION: &str = "identity-live-demo";
/// The demo definitions the driver keeps in flight, with how long after
/// opening each closes planning and cuts over (milliseconds).
const LIVE_TRAINS: [(&str, i64, i64); 2] =
    [(LIVE_DEFINITION, 5_000, 40_000), ("payments-live-demo", 18 * 60_000, 20 * 60_000)];
/// How often the driver looks.
const INTERVAL: Duration = Duration::from_secs(5);

/// How often the live trains check their error-budget burn. A crash-looping
/// service crosses the fast-burn rule (1 h window at 14.4×) after about 52 s.
const LIVE_BURN_CHECK_MS: i64 = 15_000;

/// The live train's plan: region by region (eu-west's canary, all of
/// eu-west, then us-east), in seconds instead of minutes; the canary soaks
/// long enough for the fast-burn rule to catch a crash loop.
fn live_rollout() -> Vec<RolloutStep> {
    const SECOND: i64 = 1000;
    let in_region = |name: &str, weight: u8, soak_ms: i64, region: &str| RolloutStep {
        region: Some(region.to_owned()),
        ..RolloutStep::new(name, Environment::Production, weight, soak_ms)
    };
    vec![
        RolloutStep::new("staging", Environment::Staging, 100, 10 * SECOND),
        in_region("eu-west canary", 10, 75 * SECOND, "eu-west"),
        in_region("eu-west", 100, 10 * SECOND, "eu-west"),
        in_region("us-east", 100, 0, "us-east"),
    ]
}

/// One pass: fresh builds where needed, and a live train if none is in flight.
pub async fn tick(db: &Db, now: Instant) -> anyhow::Result<()> {
    let mut tx = db.begin().await?;
    for service in store::services::list(&mut tx).await? {
        if store::artifacts::newest_boardable(&mut tx, std::slice::from_ref(&service.id)).await?.is_empty() {
            register_build(&mut tx, &service, now, DemoTests::Passed).await?;
        }
    }
    for (name, planning_ms, lead_ms) in LIVE_TRAINS {
        if let Some(definition) = store::definitions::by_name(&mut tx, name).await? {
            keep_one_in_flight(&mut tx, &definition, (planning_ms, lead_ms), now).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Opens a train of `definition` (planning closing and cutover that long
/// from now) unless one is in flight.
async fn keep_one_in_flight(
    tx: &mut store::Conn,
    definition: &store::definitions::Definition,
    (planning_ms, lead_ms): (i64, i64),
    now: Instant,
) -> anyhow::Result<()> {
    let in_flight = store::trains::open_count(tx, &definition.id).await?;
    if in_flight == 0 {
        let cutover_at = now + lead_ms;
        let train = NewTrain {
            definition_id: definition.id.clone(),
            state: TrainState::Scheduled,
            planning_opens_at: now,
            cutover_at,
            cutover_closes_at: cutover_at + Span::minutes(10).num_milliseconds(),
        };
        if let Some(id) = store::trains::insert_if_absent(tx, &train, now).await? {
            let opening = service::trains::Opening {
                train_id: &id,
                definition,
                kind: TrainKind::Regular,
                cutover_at,
                planning_closes_at: now + planning_ms,
                actor: "demo",
                reason: "live demo train opened (rollout in seconds)",
                demo_pace: Some(service::trains::DemoPace {
                    rollout: live_rollout(),
                    monitoring_ms: 20_000,
                    burn_check_ms: LIVE_BURN_CHECK_MS,
                }),
            };
            service::trains::open(tx, opening, now).await?;
        }
    }
    Ok(())
}

/// How the stand-in CI's tests of a demo build came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DemoTests {
    Passed,
    /// A real failure: the build misses the train (seed F1).
    Failed,
    /// The runner broke; a rerun passes later (a flaky gate).
    Errored,
}

impl DemoTests {
    fn status_and_summary(self) -> (&'static str, &'static str) {
        match self {
            Self::Passed => ("passed", "simulated by the demo CI"),
            Self::Failed => ("failed", "2 of 318 tests failed (simulated by the demo CI)"),
            Self::Errored => ("errored", "the test runner lost its database (simulated by the demo CI)"),
        }
    }
}

/// Registers a demo build of `service` at `now` (committed a few hours
/// earlier) with its scan passed and its tests as `tests`; its id, unless
/// the same build was registered before.
pub(crate) async fn register_build(
    conn: &mut store::Conn,
    service: &store::services::Service,
    now: Instant,
    tests: DemoTests,
) -> anyhow::Result<Option<String>> {
    let seed = format!("{}:{}", service.name, now.ms());
    let digest: String =
        (0..4_u64).map(|i| format!("{:016x}", fnv(&seed) ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15))).collect();
    let id = store::new_id();
    let artifact = Artifact {
        id: id.clone().into(),
        service_id: service.id.clone(),
        service: service.name.clone(),
        version: format!("demo.{}", now.ms() / 1000),
        digest: format!("sha256:{digest}"),
        commit_sha: format!("{:016x}", fnv(&format!("commit:{seed}"))),
        author: "demo-ci".into(),
        changes: serde_json::json!([{ "title": format!("Demo build of {}", service.name), "kind": "chore" }])
            .to_string(),
        migrations: "[]".into(),
        contracts: demo_contracts(&service.name).to_string(),
        rejected_at: None,
        rejected_reason: None,
        created_at: now,
    };
    if !store::artifacts::insert_if_absent(conn, &artifact).await? {
        return Ok(None);
    }
    // Committed between one and thirty hours before the build (DORA's lead time).
    let lead_ms = Span::hours(1 + (fnv(&seed) % 30) as i64).num_milliseconds();
    store::artifacts::set_committed_at(conn, &artifact.id, now - lead_ms).await?;
    report_check(conn, &id, "security_scan", ("passed", "simulated by the demo CI"), now).await?;
    report_check(conn, &id, "tests", tests.status_and_summary(), now).await?;
    Ok(Some(id))
}

/// Reports one check of a demo build as the stand-in CI.
pub(crate) async fn report_check(
    conn: &mut store::Conn,
    artifact_id: &str,
    kind: &str,
    (status, summary): (&str, &str),
    now: Instant,
) -> anyhow::Result<()> {
    let check = Check {
        id: store::new_id(),
        artifact_id: artifact_id.to_owned(),
        kind: kind.into(),
        name: format!("demo {kind}"),
        status: status.into(),
        summary: summary.into(),
        url: String::new(),
        details: "{}".into(),
        reported_at: now,
        reported_by: "demo:simulated-ci".into(),
    };
    store::artifacts::insert_check(conn, &check).await?;
    Ok(())
}

/// The API contracts demo builds declare: payments' services agree on the ledger API.
fn demo_contracts(service: &str) -> serde_json::Value {
    match service {
        "ledger" => serde_json::json!({ "provides": ["ledger-api@1", "ledger-api@2"], "requires": [] }),
        "billing" | "checkout" => serde_json::json!({ "provides": [], "requires": ["ledger-api@2"] }),
        _ => serde_json::json!({}),
    }
}

/// The newest train of the demo's live definition, which the demo guide links to.
pub async fn live_train(db: &Db) -> Option<String> {
    let mut conn = db.acquire().await.ok()?;
    match store::trains::latest_of(&mut conn, LIVE_DEFINITION).await {
        Ok(id) => id,
        Err(error) => {
            tracing::warn!(%error, "cannot find the demo's live train");
            None
        }
    }
}

pub(crate) fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// Runs [`tick`] every few seconds until `shutdown` turns true.
pub async fn run(
    db: Db,
    caches: Arc<crate::read_cache::ReadCaches>,
    clock: Arc<dyn Clock>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        match tick(&db, clock.instant()).await {
            Ok(()) => caches.changed(),
            Err(error) => tracing::error!(error = format!("{error:#}"), "demo driver pass failed; retrying"),
        }
        tokio::select! {
            () = tokio::time::sleep(INTERVAL) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            break;
        }
    }
}
