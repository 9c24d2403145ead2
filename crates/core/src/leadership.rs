//! Leadership among replicas. Every replica serves pages and the API; the one
//! holding the orchestrator lease also runs the scheduler, the runtime and the
//! other background workers. Each take-over bumps the lease's term, and the
//! leader's engine writes re-check their [`Fence`] inside their own
//! transaction, so a leader that was paused or cut off past its lease cannot
//! write once another replica leads.
//!
//! Lease times are wall-clock (not the application's [`crate::clock::Clock`]):
//! replicas' clocks must agree to well within the lease TTL.

use railyard_domain::time::Instant;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::store::{self, Conn, Db, DbError};

/// The lease the orchestrating replica holds.
pub const LEASE: &str = "orchestrator";
/// How long stopping workers may take after leadership ends before they are aborted.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// Proof of leadership for one term, checked by every write the leader makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fence {
    term: i64,
}

impl Fence {
    /// The term this fence belongs to.
    pub fn term(self) -> i64 {
        self.term
    }

    /// Fails with [`DbError::StaleTerm`] unless this term still leads; call it
    /// in the transaction whose writes it guards, just before committing.
    pub async fn hold(self, conn: &mut Conn) -> Result<(), DbError> {
        store::leases::hold(conn, LEASE, self.term).await
    }
}

/// Lease timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseConfig {
    /// How long a lease lasts without renewal; a follower takes over after that.
    pub ttl: Duration,
    /// How often the leader renews, and followers try to take over.
    pub renew_every: Duration,
}

impl Default for LeaseConfig {
    fn default() -> Self {
        Self { ttl: Duration::from_secs(15), renew_every: Duration::from_secs(5) }
    }
}

impl LeaseConfig {
    fn ttl_ms(self) -> i64 {
        i64::try_from(self.ttl.as_millis()).unwrap_or(i64::MAX / 4)
    }
}

/// This replica's own view of its role, for probes and metrics.
#[derive(Debug)]
pub struct Role {
    /// Who this replica is in the lease table.
    pub holder: String,
    /// The term held, or 0 while following.
    term: AtomicI64,
}

impl Role {
    /// A follower called `holder`.
    pub fn new(holder: impl Into<String>) -> Self {
        Self { holder: holder.into(), term: AtomicI64::new(0) }
    }

    /// The term this replica leads in, if it leads.
    pub fn leading(&self) -> Option<i64> {
        Some(self.term.load(Ordering::Relaxed)).filter(|term| *term > 0)
    }

    fn set(&self, term: Option<i64>) {
        self.term.store(term.unwrap_or(0), Ordering::Relaxed);
    }
}

/// A name for this process that is unique among replicas: its seat (host
/// and listening address, see [`seat`]), then the process id and a nonce.
pub fn holder_name(listening: SocketAddr) -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "railyard".to_owned());
    let mut nonce = [0_u8; 4];
    let _ = getrandom::fill(&mut nonce);
    format!("{host}@{listening}#{}-{}", std::process::id(), u32::from_be_bytes(nonce))
}

/// The host and address part of a holder name. Two live processes cannot
/// share a seat (the second could not bind the address), so a lease held
/// from this process's seat by another process belongs to a dead predecessor.
pub fn seat(holder: &str) -> &str {
    holder.split_once('#').map_or(holder, |(seat, _)| seat)
}

/// The machine's clock (leases are wall-clock, whatever clock the scheduler runs on).
fn wall_clock() -> Instant {
    Instant::from_utc(chrono::Utc::now())
}

/// Takes the lease once if it is free; the fence for the new term, if taken.
pub async fn acquire(db: &Db, holder: &str, config: LeaseConfig) -> Result<Option<Fence>, DbError> {
    let mut conn = db.acquire().await?;
    let term = store::leases::try_acquire(&mut conn, LEASE, holder, wall_clock(), config.ttl_ms()).await?;
    Ok(term.map(|term| Fence { term }))
}

/// Takes the lease now even if another replica holds it (the operator's
/// `railyard lease take-over`, and tests). The previous holder is fenced off.
pub async fn take_over(db: &Db, holder: &str, config: LeaseConfig) -> Result<Fence, DbError> {
    let mut conn = db.acquire().await?;
    let term = store::leases::take_over(&mut conn, LEASE, holder, wall_clock(), config.ttl_ms()).await?;
    Ok(Fence { term })
}

/// At start-up, takes the lease at once if this process's seat held it: the
/// process restarted (after a crash or kill) and need not wait out its own
/// lease. Only once per process, so two processes misconfigured onto one
/// seat cannot keep taking the lease from each other.
async fn reclaim_own_seat(db: &Db, holder: &str, config: LeaseConfig) -> Result<Option<Fence>, DbError> {
    let mut conn = db.acquire().await?;
    let Some(lease) = store::leases::get(&mut conn, LEASE).await? else {
        return Ok(None);
    };
    if lease.holder == holder || seat(&lease.holder) != seat(holder) || lease.expires_at <= wall_clock() {
        return Ok(None);
    }
    let term = store::leases::take_over(&mut conn, LEASE, holder, wall_clock(), config.ttl_ms()).await?;
    tracing::info!(term, previous = %lease.holder, "reclaimed the lease this seat held before a restart");
    Ok(Some(Fence { term }))
}

/// The workers running for one term, and how to stop them.
struct Term {
    fence: Fence,
    stop: watch::Sender<bool>,
    workers: Vec<JoinHandle<()>>,
    renewed_at: Instant,
}

impl Term {
    async fn end(self, role: &Role) {
        role.set(None);
        let _ = self.stop.send(true);
        for mut worker in self.workers {
            if tokio::time::timeout(STOP_GRACE, &mut worker).await.is_err() {
                tracing::warn!("a worker did not stop in time; aborting it");
                worker.abort();
            }
        }
    }
}

/// Competes for the lease until `shutdown`: while it holds the lease, the
/// workers `start` spawned for that term run; when the lease is lost (or
/// cannot be renewed for a whole TTL) they are stopped. On shutdown the
/// lease is released so another replica takes over at once.
pub async fn run<F>(db: Db, config: LeaseConfig, role: Arc<Role>, start: F, mut shutdown: watch::Receiver<bool>)
where
    F: Fn(Fence, watch::Receiver<bool>) -> Vec<JoinHandle<()>>,
{
    let mut current: Option<Term> = None;
    let mut starting = true;
    loop {
        let now = wall_clock();
        current = match current {
            None => {
                let taken = take(&db, &role.holder, config, starting).await;
                // Reclaiming happens on the first attempt that reaches the store.
                starting &= taken.is_err();
                match taken {
                    Ok(Some(fence)) => {
                        tracing::info!(term = fence.term, holder = %role.holder, "leading: starting the scheduler and runtime");
                        role.set(Some(fence.term));
                        let (stop, stopped) = watch::channel(false);
                        let workers = start(fence, stopped);
                        Some(Term { fence, stop, workers, renewed_at: now })
                    }
                    Ok(None) => None,
                    Err(error) => {
                        tracing::warn!(%error, "cannot reach the lease; will try again");
                        None
                    }
                }
            }
            Some(mut term) => match renew(&db, &role.holder, term.fence, config, now).await {
                Ok(true) => {
                    term.renewed_at = now;
                    Some(term)
                }
                Ok(false) => {
                    tracing::warn!(term = term.fence.term, "lease taken over by another replica; stopping workers");
                    term.end(&role).await;
                    None
                }
                Err(error) if now - term.renewed_at >= config.ttl_ms() => {
                    tracing::warn!(%error, term = term.fence.term, "lease not renewed for a whole TTL; stopping workers");
                    term.end(&role).await;
                    None
                }
                Err(error) => {
                    tracing::warn!(%error, "renewing the lease failed; will try again");
                    Some(term)
                }
            },
        };
        tokio::select! {
            () = tokio::time::sleep(config.renew_every) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            break;
        }
    }
    if let Some(term) = current {
        let fence = term.fence;
        term.end(&role).await;
        let released = async {
            let mut conn = db.acquire().await?;
            store::leases::release(&mut conn, LEASE, &role.holder, fence.term).await
        };
        match released.await {
            Ok(_) => tracing::info!(term = fence.term, "lease released"),
            Err(error) => tracing::warn!(%error, "could not release the lease; it will expire"),
        }
    }
}

/// The lease if free, or (at start-up) still held by this seat's previous process.
async fn take(db: &Db, holder: &str, config: LeaseConfig, starting: bool) -> Result<Option<Fence>, DbError> {
    if starting {
        if let Some(fence) = reclaim_own_seat(db, holder, config).await? {
            return Ok(Some(fence));
        }
    }
    acquire(db, holder, config).await
}

async fn renew(db: &Db, holder: &str, fence: Fence, config: LeaseConfig, now: Instant) -> Result<bool, DbError> {
    let mut conn = db.acquire().await?;
    store::leases::renew(&mut conn, LEASE, holder, fence.term, now, config.ttl_ms()).await
}

/// Whether `error` means this replica's term ended (its workers should stop).
pub fn is_stale(error: &DbError) -> bool {
    matches!(error, DbError::StaleTerm(_))
}
