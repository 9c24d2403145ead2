//! Three replicas on one PostgreSQL database: exactly one leads; a killed
//! leader is replaced within the lease TTL; a leader paused past its lease
//! loses it, and when it wakes its term is over — trains go on, none opened twice.

use std::sync::PoisonError;
use std::time::{Duration, Instant};

use server::store::Db;

use crate::support::{self, Replica, SharedDeployer};

const TTL: Duration = Duration::from_secs(3);

/// The replicas that say they lead, with their terms.
async fn leaders(replicas: &[Replica], client: &reqwest::Client) -> Vec<(usize, i64)> {
    let mut found = Vec::new();
    for (index, replica) in replicas.iter().enumerate() {
        if let Some(term) = replica.leading(client).await {
            found.push((index, term));
        }
    }
    found
}

/// Waits (bounded) for a leader among `candidates`; returns it, its term and the wait.
async fn new_leader(replicas: &[Replica], candidates: &[usize], client: &reqwest::Client) -> (usize, i64, Duration) {
    let started = Instant::now();
    while started.elapsed() < TTL * 4 {
        for &index in candidates {
            if let Some(term) = replicas[index].leading(client).await {
                return (index, term, started.elapsed());
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no replica among {candidates:?} took over within {:?}", TTL * 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_or_paused_leader_is_replaced_within_the_lease_and_trains_go_on() {
    let url = crate::postgres::fresh_database("railyard_chaos").await;
    let dir = tempfile::tempdir().expect("temp dir");
    let seen = SharedDeployer::default();
    let deployer = support::start_deployer(seen.clone()).await;
    support::apply_fleet(&url, dir.path(), &deployer);
    let client = support::client();
    let lease = ("3s", "500ms");
    // Started together: each migrates at start, under PostgreSQL's advisory lock.
    let mut replicas: Vec<Replica> = ["a", "b", "c"]
        .iter()
        .map(|name| {
            let log = dir.path().join(format!("{name}.log"));
            Replica::start(name, &url, support::free_port(), &log, lease)
        })
        .collect();
    for replica in &replicas {
        replica.until_up(&client).await;
    }
    let (cookie, artifacts) = support::release_manager_and_builds(&client, &replicas[1].address, 8).await;
    let trains = support::emergency_trains(&client, &replicas[2].address, &cookie, &artifacts).await;

    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let leading = leaders(&replicas, &client).await;
    assert_eq!(leading.len(), 1, "exactly one replica leads: {leading:?}");
    let (first, first_term) = leading[0];

    // The leader is killed: another takes over within the TTL.
    replicas[first].kill();
    let others: Vec<usize> = (0..3).filter(|&i| i != first).collect();
    let (second, second_term, waited) = new_leader(&replicas, &others, &client).await;
    assert!(second_term > first_term, "a new term: {second_term} after {first_term}");
    assert!(waited <= TTL + Duration::from_secs(1), "took over within the lease TTL: {waited:?}");

    // The new leader is paused past its lease; the last replica takes over.
    tokio::time::sleep(Duration::from_millis(700)).await;
    replicas[second].signal("STOP");
    let last: Vec<usize> = others.iter().copied().filter(|&i| i != second).collect();
    let (third, third_term, _) = new_leader(&replicas, &last, &client).await;
    assert!(third_term > second_term);
    tokio::time::sleep(Duration::from_secs(1)).await;
    replicas[second].signal("CONT");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(replicas[second].leading(&client).await, None, "the paused leader woke up as a follower");
    let woke = replicas[second].log_text();
    assert!(
        woke.contains("lease taken over by another replica") || woke.contains("has ended"),
        "the paused leader learnt its term was over before writing: {woke}"
    );
    assert_eq!(leaders(&replicas, &client).await, vec![(third, third_term)], "one leader again");

    let db = Db::connect(&url).await.expect("store");
    let states = support::until_final(&db, &trains, Duration::from_secs(120)).await;
    assert!(states.iter().all(|s| s == "completed"), "every train finished: {states:?}");
    support::assert_timelines_whole(&db, &trains).await;
    let mut conn = db.acquire().await.expect("connection");
    let scheduled: Vec<(String,)> =
        sqlx::query_as("SELECT id FROM trains").fetch_all(&mut *conn).await.expect("trains");
    drop(conn);
    let all: Vec<String> = scheduled.into_iter().map(|(id,)| id).filter(|id| !trains.contains(id)).collect();
    assert!(!all.is_empty(), "the leaders' schedulers created the regular trains too");
    let opened: Vec<String> = {
        let states = support::states(&db, &all).await;
        all.iter().zip(states).filter(|(_, s)| s != "scheduled").map(|(id, _)| id.clone()).collect()
    };
    support::assert_timelines_whole(&db, &opened).await;
    let unsettled = support::unsettled_effects(&db).await;
    assert!(unsettled.is_empty(), "every effect settled: {unsettled:?}");
    let seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
    support::assert_applied_once(&seen, &trains);
}
