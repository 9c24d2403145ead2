//! Leadership among replicas: one lease holder at a time, a new term on
//! every take-over, workers started and stopped with the term; and the
//! replica-level protections (load shedding, readiness, role in metrics).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use server::leadership::{self, Fence, LeaseConfig, Role};
use server::store::{self, Db, DbError};
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::helpers::{fresh_store, spawn_app, spawn_app_with, Backend};
use crate::on_both_backends;

const LEASE: &str = leadership::LEASE;

async fn a_lease_has_one_holder_until_it_expires_and_each_take_over_gets_the_next_term(backend: Backend) {
    let (db, _database) = fresh_store(backend).await;
    let mut conn = db.acquire().await.expect("connection");
    let ttl = 15_000;
    let a = store::leases::try_acquire(&mut conn, LEASE, "a", server::time::Instant::from_ms(1_000), ttl)
        .await
        .expect("query");
    assert_eq!(a, Some(1), "the first holder gets term 1");
    assert_eq!(
        store::leases::try_acquire(&mut conn, LEASE, "b", server::time::Instant::from_ms(2_000), ttl)
            .await
            .expect("query"),
        None
    );
    assert!(store::leases::renew(&mut conn, LEASE, "a", 1, server::time::Instant::from_ms(10_000), ttl)
        .await
        .expect("renew"));
    assert_eq!(
        store::leases::try_acquire(&mut conn, LEASE, "b", server::time::Instant::from_ms(20_000), ttl)
            .await
            .expect("query"),
        None,
        "renewed at 10 s, so held until 25 s"
    );
    let b = store::leases::try_acquire(&mut conn, LEASE, "b", server::time::Instant::from_ms(25_000), ttl)
        .await
        .expect("query");
    assert_eq!(b, Some(2), "expired: b takes over with the next term");
    assert!(
        !store::leases::renew(&mut conn, LEASE, "a", 1, server::time::Instant::from_ms(26_000), ttl)
            .await
            .expect("renew"),
        "a lost it"
    );
    let refused = store::leases::hold(&mut conn, LEASE, 1).await.expect_err("term 1 is over");
    assert!(matches!(refused, DbError::StaleTerm(1)), "{refused:?}");
    store::leases::hold(&mut conn, LEASE, 2).await.expect("term 2 leads");
    assert!(store::leases::release(&mut conn, LEASE, "b", 2).await.expect("release"));
    let a_again = store::leases::try_acquire(&mut conn, LEASE, "a", server::time::Instant::from_ms(26_000), ttl)
        .await
        .expect("query");
    assert_eq!(a_again, Some(3), "a released lease is free at once, under a new term");
    let lease = store::leases::get(&mut conn, LEASE).await.expect("query").expect("stored");
    assert_eq!(
        (lease.holder.as_str(), lease.term, lease.expires_at),
        ("a", 3, server::time::Instant::from_ms(26_000 + ttl))
    );
}
on_both_backends!(a_lease_has_one_holder_until_it_expires_and_each_take_over_gets_the_next_term);

/// Each replica's starts and stops of its workers, as "name:term:started|stopped".
type Log = Arc<Mutex<Vec<String>>>;

fn replica(db: &Db, name: &str, config: LeaseConfig, log: &Log) -> (Arc<Role>, watch::Sender<bool>, JoinHandle<()>) {
    let role = Arc::new(Role::new(name));
    let (stop, stopped) = watch::channel(false);
    let (name, log) = (name.to_owned(), log.clone());
    let start = move |fence: Fence, mut stopped: watch::Receiver<bool>| {
        let entry = format!("{name}:{}", fence.term());
        log.lock().unwrap_or_else(PoisonError::into_inner).push(format!("{entry}:started"));
        let log = log.clone();
        vec![tokio::spawn(async move {
            let _ = stopped.wait_for(|stop| *stop).await;
            log.lock().unwrap_or_else(PoisonError::into_inner).push(format!("{entry}:stopped"));
        })]
    };
    let task = tokio::spawn(leadership::run(db.clone(), config, role.clone(), start, stopped));
    (role, stop, task)
}

async fn until_leading(role: &Role, within: Duration) -> Option<(i64, Duration)> {
    let started = Instant::now();
    while started.elapsed() < within {
        if let Some(term) = role.leading() {
            return Some((term, started.elapsed()));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

async fn one_replica_leads_and_another_takes_over_within_the_ttl(backend: Backend) {
    let (db, _database) = fresh_store(backend).await;
    let log: Log = Arc::default();
    let config = LeaseConfig { ttl: Duration::from_millis(1_500), renew_every: Duration::from_millis(100) };
    let (a, _stop_a, task_a) = replica(&db, "a", config, &log);
    let (term_a, _) = until_leading(&a, Duration::from_secs(5)).await.expect("a leads");
    let (b, stop_b, task_b) = replica(&db, "b", config, &log);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(b.leading(), None, "b follows while a renews");
    assert_eq!(a.leading(), Some(term_a), "a keeps its term");

    // a crashes: nothing releases its lease, b waits for it to expire.
    task_a.abort();
    let (term_b, waited) = until_leading(&b, Duration::from_secs(5)).await.expect("b takes over");
    assert!(term_b > term_a, "a new term: {term_b} after {term_a}");
    assert!(waited <= config.ttl + Duration::from_millis(500), "took over within the TTL: {waited:?}");

    // b shuts down cleanly: it stops its workers and releases the lease, so c
    // takes over at once rather than after c's long TTL.
    let slow = LeaseConfig { ttl: Duration::from_secs(30), renew_every: Duration::from_millis(100) };
    let (c, _stop_c, _task_c) = replica(&db, "c", slow, &log);
    stop_b.send(true).expect("b listens");
    task_b.await.expect("b stops");
    let (term_c, waited) = until_leading(&c, Duration::from_secs(5)).await.expect("c takes over");
    assert!(term_c > term_b && waited < Duration::from_secs(2), "released lease taken at once: {waited:?}");
    let log = log.lock().unwrap_or_else(PoisonError::into_inner).clone();
    assert_eq!(
        log.iter().filter(|entry| entry.ends_with(":started")).count(),
        3,
        "one start per term, no replica started twice: {log:?}"
    );
    assert!(log.contains(&format!("b:{term_b}:stopped")), "b stopped its workers on shutdown: {log:?}");
    let b_stopped = log.iter().position(|e| e == &format!("b:{term_b}:stopped"));
    let c_started = log.iter().position(|e| e == &format!("c:{term_c}:started"));
    assert!(b_stopped < c_started, "b's workers stopped before c's started: {log:?}");
}
on_both_backends!(one_replica_leads_and_another_takes_over_within_the_ttl);

async fn a_process_restarted_on_its_seat_reclaims_the_lease_at_once(backend: Backend) {
    let (db, _database) = fresh_store(backend).await;
    let log: Log = Arc::default();
    // A long TTL: without reclaiming, a restart would wait 30 s.
    let config = LeaseConfig { ttl: Duration::from_secs(30), renew_every: Duration::from_millis(100) };
    let seat: std::net::SocketAddr = "127.0.0.1:3000".parse().expect("address");
    let first = leadership::holder_name(seat);
    let (a, _stop_a, task_a) = replica(&db, &first, config, &log);
    let (term_a, _) = until_leading(&a, Duration::from_secs(5)).await.expect("the first process leads");
    // Killed: its lease stays held for 30 s.
    task_a.abort();
    let elsewhere = leadership::holder_name("127.0.0.1:3001".parse().expect("address"));
    let (other, _stop_other, _task_other) = replica(&db, &elsewhere, config, &log);
    let restarted = leadership::holder_name(seat);
    assert_ne!(restarted, first, "each process has its own name");
    assert_eq!(leadership::seat(&restarted), leadership::seat(&first));
    let (b, _stop_b, _task_b) = replica(&db, &restarted, config, &log);
    let (term_b, waited) = until_leading(&b, Duration::from_secs(5)).await.expect("the restarted process leads");
    assert!(term_b > term_a && waited < Duration::from_secs(2), "reclaimed at once under a new term: {waited:?}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(other.leading(), None, "a replica on another seat still waits for the lease to expire");
    assert_eq!(b.leading(), Some(term_b), "and nobody takes it from the restarted process");
    let mut conn = db.acquire().await.expect("connection");
    let refused = store::leases::hold(&mut conn, LEASE, term_a).await.expect_err("the old term is fenced");
    assert!(matches!(refused, DbError::StaleTerm(_)), "{refused:?}");
}
on_both_backends!(a_process_restarted_on_its_seat_reclaims_the_lease_at_once);

#[tokio::test]
async fn a_follower_says_so_in_readiness_and_metrics() {
    let app = spawn_app(Backend::Sqlite, false).await;
    let (status, body) = app.get("/readyz").await;
    assert_eq!(status, 200, "followers serve traffic too");
    assert!(body.contains("\"role\":\"follower\""), "{body}");
    let (status, metrics) = app.get("/metrics").await;
    assert_eq!(status, 200);
    assert!(metrics.contains("railyard_leader 0"), "{metrics}");
    assert!(metrics.contains("railyard_stuck_trains 0"), "{metrics}");
}

/// Opens a request whose body never finishes arriving, holding a handler.
async fn hanging_request(address: &str) -> tokio::net::TcpStream {
    let host = address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.expect("connect");
    let head = format!(
        "POST /api/v1/artifacts HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"service\":"
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    stream
}

#[tokio::test]
async fn beyond_its_concurrency_limit_the_server_sheds_requests_with_503_but_keeps_answering_probes() {
    let app = spawn_app_with(Backend::Sqlite, false, |settings| settings.max_concurrent_requests = 2).await;
    let held = [hanging_request(&app.address).await, hanging_request(&app.address).await];
    tokio::time::sleep(Duration::from_millis(300)).await;
    let response = app
        .client
        .get(format!("{}/api/v1/trains?from=2026-11-01&to=2026-12-01", app.address))
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));
    let body = response.text().await.expect("body");
    assert!(body.contains("overloaded"), "{body}");
    assert_eq!(app.get("/healthz").await.0, 200, "liveness is never shed");
    assert_eq!(app.get("/readyz").await.0, 200, "readiness is never shed");
    drop(held);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        app.get("/api/v1/trains?from=2026-11-01&to=2026-12-01").await.0,
        200,
        "served again once the load is gone"
    );
}
