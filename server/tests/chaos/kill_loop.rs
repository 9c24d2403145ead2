//! Twenty trains deploying through the webhook deployer, and five through the
//! gitops deployer waiting for (a double of) Argo CD, while the server is
//! SIGKILLed at fifty random moments and restarted each time.

use std::sync::PoisonError;
use std::time::Duration;

use server::store::Db;

use crate::gitops::{self, SharedArgoCd};
use crate::support::{self, Replica, SharedDeployer};

const TRAINS: usize = 20;
const GITOPS_TRAINS: usize = 5;
const KILLS: usize = 50;

/// A small deterministic generator (the seed is printed, so a failing run can be replayed).
struct Moments(u64);

impl Moments {
    fn next_ms(&mut self, low: u64, high: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        low + (self.0 >> 33) % (high - low)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_fifty_times_every_train_still_finishes_with_a_whole_timeline_and_each_deployment_applied_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("railyard.db").display());
    let seen = SharedDeployer::default();
    let deployer = support::start_deployer(seen.clone()).await;
    let repo = gitops::repository(&dir.path().join("gitops"));
    let argo = SharedArgoCd::default();
    let argo_url = gitops::start_argo_cd(&repo, argo.clone()).await;
    let fleet = format!("{}{}", support::fleet(&deployer), gitops::definition(&repo, &argo_url));
    support::apply_fleet_text(&url, dir.path(), &fleet);
    let log = dir.path().join("railyard.log");
    let port = support::free_port();
    let client = support::client();
    // The default lease: a restarted process reclaims its own seat's lease at
    // once instead of waiting 15 s for it to expire.
    let lease = ("15s", "5s");

    let mut replica = Replica::start("railyard", &url, port, &log, lease);
    replica.until_up(&client).await;
    let (cookie, artifacts) = support::release_manager_and_builds(&client, &replica.address, TRAINS).await;
    let admin = support::sign_in(&client, &replica.address, "admin", support::ADMIN_PASSWORD).await;
    let vault_builds = support::builds(&client, &replica.address, &admin, &[gitops::SERVICE; GITOPS_TRAINS]).await;
    let mut gitops_trains = Vec::new();
    let db = Db::connect(&url).await.expect("store");

    // Trains start two in every five kills, so kills keep landing on trains in flight.
    let mut trains = Vec::new();
    let mut kills_in_flight = 0;
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(7, |d| d.as_nanos() as u64);
    eprintln!("kill moments seed: {seed}");
    let mut moments = Moments(seed);
    for kill in 0..KILLS {
        if kill % 5 < 2 {
            let artifact = &artifacts[trains.len()..=trains.len()];
            trains.extend(support::emergency_trains(&client, &replica.address, &cookie, artifact).await);
        }
        if kill % 10 == 3 {
            let build = &vault_builds[gitops_trains.len()..=gitops_trains.len()];
            let started = support::emergency_trains_of(&client, &replica.address, &cookie, "vault-daily", build).await;
            gitops_trains.extend(started);
        }
        tokio::time::sleep(Duration::from_millis(moments.next_ms(100, 2_500))).await;
        let in_flight = [&trains[..], &gitops_trains[..]].concat();
        if support::states(&db, &in_flight).await.iter().any(|s| s != "completed") {
            kills_in_flight += 1;
        }
        replica.kill();
        replica = Replica::start("railyard", &url, port, &log, lease);
        replica.until_up(&client).await;
        let mut term = None;
        for _ in 0..40 {
            term = replica.leading(&client).await;
            if term.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(term.is_some(), "restart {kill}: the process leads again within 2 s, not after the lease's 15 s");
    }

    assert_eq!(trains.len(), TRAINS);
    assert!(kills_in_flight >= KILLS / 2, "only {kills_in_flight} kills hit a train in flight");
    let states = support::until_final(&db, &trains, Duration::from_secs(180)).await;
    assert!(
        states.iter().all(|s| s == "completed"),
        "every train finished (simulated metrics pass every canary): {states:?}; log in {}",
        log.display()
    );
    assert_eq!(gitops_trains.len(), GITOPS_TRAINS);
    let states = support::until_final(&db, &gitops_trains, Duration::from_secs(120)).await;
    assert!(
        states.iter().all(|s| s == "completed"),
        "every gitops train finished: {states:?}; log in {}",
        log.display()
    );
    support::assert_timelines_whole(&db, &[&trains[..], &gitops_trains[..]].concat()).await;
    gitops::assert_committed_once_and_awaited(&repo, &db).await;
    let argo_polls = argo.lock().unwrap_or_else(PoisonError::into_inner).polls;
    let unsettled = support::unsettled_effects(&db).await;
    assert!(unsettled.is_empty(), "every effect settled: {unsettled:?}");
    let seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
    support::assert_applied_once(&seen, &trains);
    let repeated = seen.calls.len() - seen.applied.len();
    eprintln!(
        "{kills_in_flight} of {KILLS} kills hit trains in flight; {} deploy calls, {} applied, {repeated} repeated; \
         {} gitops commits, {argo_polls} Argo CD polls",
        seen.calls.len(),
        seen.applied.len(),
        gitops::committed_keys(&repo).len()
    );
    drop(replica);
    let _ = std::fs::copy(&log, std::env::temp_dir().join("railyard-chaos-kill-loop.log"));
}
