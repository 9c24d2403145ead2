//! A short-lived cache for the expensive reads many people make at once: the
//! calendar, the dashboard, train listings and API tokens. An entry serves while no write
//! transaction has begun on this replica since it was loaded, and for at
//! most [`TTL`] (by the wall clock and by the application's clock). So a
//! person's own change shows on their next read, and a change another replica
//! makes, or one committing while an entry loads, shows within the TTL.
//! Concurrent readers of a missing entry wait for one load.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

use crate::store::Db;

/// The longest an entry serves.
pub const TTL: Duration = Duration::from_secs(2);
/// Entries kept per cache; past that the stale ones go, then all.
const CAPACITY: usize = 256;

/// One cached value and when it was loaded.
struct Slot<V> {
    writes: u64,
    loaded: Instant,
    clock_ms: i64,
    value: Arc<OnceCell<Arc<V>>>,
}

impl<V> Slot<V> {
    fn fresh(&self, writes: u64, clock_ms: i64) -> bool {
        let ttl_ms = i64::try_from(TTL.as_millis()).unwrap_or(i64::MAX);
        self.writes == writes && self.loaded.elapsed() < TTL && (clock_ms - self.clock_ms).abs() < ttl_ms
    }
}

/// Values of one kind, by key.
pub struct ReadCache<V> {
    slots: Mutex<HashMap<String, Slot<V>>>,
}

impl<V> Default for ReadCache<V> {
    fn default() -> Self {
        Self { slots: Mutex::default() }
    }
}

impl<V> ReadCache<V> {
    /// The value under `key`, loaded by `load` when missing or stale. `clock_ms`
    /// is the application's time now (a test clock moved on makes entries stale).
    pub async fn get<E, F, Fut>(&self, db: &Db, key: String, clock_ms: i64, load: F) -> Result<Arc<V>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        let writes = db.writes();
        let cell = {
            let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
            match slots.get(&key) {
                Some(slot) if slot.fresh(writes, clock_ms) => slot.value.clone(),
                _ => {
                    if slots.len() >= CAPACITY {
                        slots.retain(|_, slot| slot.fresh(writes, clock_ms));
                        if slots.len() >= CAPACITY {
                            slots.clear();
                        }
                    }
                    let value = Arc::new(OnceCell::new());
                    let slot = Slot { writes, loaded: Instant::now(), clock_ms, value: value.clone() };
                    slots.insert(key, slot);
                    value
                }
            }
        };
        // A failed load leaves the cell empty: the next reader tries again.
        cell.get_or_try_init(|| async { load().await.map(Arc::new) }).await.cloned()
    }
}

/// The caches a replica keeps.
#[derive(Default)]
pub struct ReadCaches {
    /// Calendar months by month, domain and the day it is.
    pub calendar: ReadCache<app::calendar::CalendarMonth>,
    /// The dashboard by domain.
    pub dashboard: ReadCache<app::dashboard::Dashboard>,
    /// Verified API tokens (the caller and when the token expires) by digest.
    pub tokens: ReadCache<(crate::auth::Principal, Option<i64>)>,
    /// `GET /api/v1/trains` answers (JSON and its ETag) by query.
    pub train_lists: ReadCache<(axum::body::Bytes, String)>,
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    async fn counted(cache: &ReadCache<usize>, db: &Db, key: &str, clock_ms: i64, loads: &AtomicUsize) -> usize {
        let loaded =
            cache.get(db, key.to_owned(), clock_ms, || async { Ok::<_, ()>(loads.fetch_add(1, Ordering::SeqCst) + 1) });
        *loaded.await.expect("loads")
    }

    #[tokio::test]
    async fn a_write_or_a_clock_moved_past_the_ttl_loads_again_and_nothing_else_does() {
        let dir = tempfile::tempdir().expect("dir");
        let db = Db::connect(&format!("sqlite://{}", dir.path().join("c.db").display())).await.expect("db");
        let (cache, loads) = (ReadCache::default(), AtomicUsize::new(0));
        assert_eq!(counted(&cache, &db, "a", 0, &loads).await, 1);
        assert_eq!(counted(&cache, &db, "a", 1_000, &loads).await, 1, "served from the cache");
        assert_eq!(counted(&cache, &db, "b", 1_000, &loads).await, 2, "another key loads");
        db.note_write();
        assert_eq!(counted(&cache, &db, "a", 1_000, &loads).await, 3, "a write makes it stale");
        drop(db.begin().await.expect("transaction"));
        assert_eq!(counted(&cache, &db, "a", 1_000, &loads).await, 4, "so does a write transaction");
        assert_eq!(counted(&cache, &db, "a", 3_500, &loads).await, 5, "and the application's clock moving on");
        assert_eq!(counted(&cache, &db, "a", 3_600, &loads).await, 5);
    }

    #[tokio::test]
    async fn readers_of_a_missing_entry_share_one_load_and_a_failed_load_is_retried() {
        let dir = tempfile::tempdir().expect("dir");
        let db = Db::connect(&format!("sqlite://{}", dir.path().join("c.db").display())).await.expect("db");
        let cache: ReadCache<usize> = ReadCache::default();
        let loads = AtomicUsize::new(0);
        let slow = || async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok::<_, ()>(loads.fetch_add(1, Ordering::SeqCst))
        };
        let (a, b) = tokio::join!(cache.get(&db, "k".into(), 0, slow), cache.get(&db, "k".into(), 0, slow));
        assert_eq!((*a.expect("a"), *b.expect("b")), (0, 0));
        assert_eq!(loads.load(Ordering::SeqCst), 1, "one load for both");
        let failed = cache.get(&db, "f".into(), 0, || async { Err::<usize, _>("store down") }).await;
        assert_eq!(failed.err(), Some("store down"));
        let retried = cache.get(&db, "f".into(), 0, || async { Ok::<_, &str>(7) }).await;
        assert_eq!(retried.ok().map(|v| *v), Some(7));
    }
}
