//! Memory under hostile load without signing in: 200 concurrent sign-ins
//! (each a 46 MiB argon2 hash if let through) from 200 loopback addresses,
//! and 50 concurrent 15 MiB JSON bodies. The server keeps answering
//! `/healthz` and its peak resident memory stays under 300 MB, well inside
//! the 512 MiB limit of the shipped Kubernetes manifest.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::{self, Replica};

/// The process's peak resident set size so far, in bytes (`VmHWM`).
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the process's status");
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/<pid>/status");
    kib * 1024
}

fn client_from(address: Ipv4Addr) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(address))
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crowd_of_sign_ins_and_huge_bodies_stays_under_300_mb_and_health_keeps_answering() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("railyard.db").display());
    // Every request logged (tower_http at debug), to check no query string reaches the log.
    let log = dir.path().join("railyard.log");
    let filter = "info,sqlx=warn,tower_http=debug";
    let replica = Replica::start_logging("memory", &url, support::free_port(), &log, ("15s", "5s"), filter);
    replica.until_up(&support::client()).await;
    let address = replica.address.clone();

    // /healthz is asked every 100 ms throughout; each answer must come within 2 s.
    let done = Arc::new(AtomicBool::new(false));
    let health = tokio::spawn({
        let (done, address) = (done.clone(), address.clone());
        async move {
            let client = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().expect("client");
            let (mut answered, mut slowest) = (0, Duration::ZERO);
            while !done.load(Ordering::SeqCst) {
                let asked = Instant::now();
                let response = client.get(format!("{address}/healthz")).send().await;
                assert!(response.is_ok_and(|r| r.status() == 200), "/healthz did not answer 200 within 2 s");
                slowest = slowest.max(asked.elapsed());
                answered += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            (answered, slowest)
        }
    });

    let sign_ins = (0..200u32).map(|n| {
        let client = client_from(Ipv4Addr::new(127, 0, 1 + (n / 250) as u8, (n % 250 + 2) as u8));
        let address = address.clone();
        tokio::spawn(async move {
            let body = json!({ "name": format!("nobody-{n}"), "password": "a wrong password" });
            let response = client.post(format!("{address}/api/v1/session")).json(&body).send().await.expect("sign-in");
            response.status().as_u16()
        })
    });
    let filler = "x".repeat(15 * 1024 * 1024);
    let bodies = (0..50u32).map(|n| {
        let client = client_from(Ipv4Addr::new(127, 0, 2, (n + 2) as u8));
        let (address, body) = (address.clone(), format!(r#"{{"service": "ledger", "version": "{filler}"}}"#));
        tokio::spawn(async move {
            let response = client
                .post(format!("{address}/api/v1/artifacts"))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .expect("post");
            response.status().as_u16()
        })
    });
    let sign_ins: Vec<_> = sign_ins.collect();
    let bodies: Vec<_> = bodies.collect();
    let mut statuses = Vec::new();
    for task in sign_ins.into_iter().chain(bodies) {
        statuses.push(task.await.expect("joined"));
    }
    done.store(true, Ordering::SeqCst);
    let (answered, slowest) = health.await.expect("health checks");

    let peak = peak_rss(replica.pid());
    eprintln!("memory: peak RSS {} MB; /healthz answered {answered} times, slowest {slowest:?}", peak / 1_000_000);
    let (sign_in_statuses, body_statuses) = statuses.split_at(200);
    assert!(
        sign_in_statuses.iter().all(|s| matches!(s, 401 | 429 | 503)),
        "every sign-in was refused as wrong, limited or busy: {sign_in_statuses:?}"
    );
    assert!(sign_in_statuses.contains(&401), "some sign-ins were actually checked");
    assert!(
        body_statuses.iter().all(|s| (400..500).contains(s) || *s == 503),
        "every huge body was refused or deferred, never a server error: {body_statuses:?}"
    );
    assert!(answered > 0, "the health probe ran");
    assert!(peak < 300_000_000, "peak RSS {peak} bytes is over 300 MB");
    // A token in a URL (here a made-up one) never reaches the log, though the request does.
    let feed = reqwest::get(format!("{address}/calendar.ics?token=ryd_NOTINTHELOG123")).await.expect("feed");
    assert_eq!(feed.status(), 401);
    let log = replica.log_text();
    assert!(!log.contains("panicked"), "no panic in the log");
    assert!(log.contains("/calendar.ics"), "requests are logged");
    assert!(!log.contains("NOTINTHELOG123"), "query strings are not");
}
