//! Short-lived caches for the expensive reads many people make at once: the
//! calendar, the dashboard, train listings and API tokens (moka underneath:
//! one load per missing entry however many readers wait, a failed load is
//! not kept). An entry serves for at most [`TTL`] of wall time and within one
//! [`TTL`]-long span of the application's clock (a test clock moved on reads
//! afresh). Whatever changes what these show says so: the use cases commit
//! through [`crate::service::Ctx::commit`], and the background workers call
//! [`ReadCaches::changed`] after a pass that changed something. So a person's
//! own change shows on their next read; a change another replica makes shows
//! within the TTL.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use moka::future::Cache;

use crate::time::Instant;

/// The longest an entry serves.
pub const TTL: Duration = Duration::from_secs(2);
/// Entries kept per cache.
const CAPACITY: u64 = 256;

/// Values of one kind, by key.
pub struct ReadCache<V> {
    entries: Cache<(String, i64), Arc<V>>,
}

impl<V: Send + Sync + 'static> Default for ReadCache<V> {
    fn default() -> Self {
        Self { entries: Cache::builder().max_capacity(CAPACITY).time_to_live(TTL).build() }
    }
}

impl<V: Send + Sync + 'static> ReadCache<V> {
    /// The value under `key`, loaded by `load` when missing. `now` is the
    /// application's time now. Readers waiting on one load share its failure.
    pub async fn get<E, F, Fut>(&self, key: String, now: Instant, load: F) -> Result<Arc<V>, Arc<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
        E: Send + Sync + 'static,
    {
        let span = i64::try_from(TTL.as_millis()).unwrap_or(i64::MAX);
        self.entries.try_get_with((key, now.ms().div_euclid(span)), async { load().await.map(Arc::new) }).await
    }

    /// Forgets every entry.
    pub fn clear(&self) {
        self.entries.invalidate_all();
    }
}

/// The caches a replica keeps.
#[derive(Default)]
pub struct ReadCaches {
    /// Calendar months by month, domain and the day it is.
    pub calendar: ReadCache<railyard_views::calendar::CalendarMonth>,
    /// The dashboard by domain.
    pub dashboard: ReadCache<railyard_views::dashboard::Dashboard>,
    /// Verified API tokens (the caller and when the token expires) by digest.
    pub tokens: ReadCache<(crate::auth::Principal, Option<Instant>)>,
    /// `GET /api/v1/trains` answers (JSON and its ETag) by query.
    pub train_lists: ReadCache<(bytes::Bytes, String)>,
}

impl ReadCaches {
    /// Something people read has changed: every cached read loads afresh.
    pub fn changed(&self) {
        self.calendar.clear();
        self.dashboard.clear();
        self.tokens.clear();
        self.train_lists.clear();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    async fn counted(cache: &ReadCache<usize>, key: &str, clock_ms: i64, loads: &AtomicUsize) -> usize {
        let loaded = cache.get(key.to_owned(), Instant::from_ms(clock_ms), || async {
            Ok::<_, ()>(loads.fetch_add(1, Ordering::SeqCst) + 1)
        });
        *loaded.await.expect("loads")
    }

    #[tokio::test]
    async fn a_change_or_the_clock_moving_on_loads_again_and_nothing_else_does() {
        let (cache, loads) = (ReadCache::default(), AtomicUsize::new(0));
        assert_eq!(counted(&cache, "a", 0, &loads).await, 1);
        assert_eq!(counted(&cache, "a", 1_000, &loads).await, 1, "served from the cache");
        assert_eq!(counted(&cache, "b", 1_000, &loads).await, 2, "another key loads");
        cache.clear();
        assert_eq!(counted(&cache, "a", 1_000, &loads).await, 3, "a change loads afresh");
        assert_eq!(counted(&cache, "a", 2_500, &loads).await, 4, "and so does the application's clock moving on");
        assert_eq!(counted(&cache, "a", 3_600, &loads).await, 4);
    }

    #[tokio::test]
    async fn a_change_reported_to_the_caches_empties_every_one() {
        let caches = ReadCaches::default();
        let loads = AtomicUsize::new(0);
        let list = || async { Ok::<_, ()>((bytes::Bytes::new(), loads.fetch_add(1, Ordering::SeqCst).to_string())) };
        assert_eq!(caches.train_lists.get("all".into(), Instant::from_ms(0), list).await.expect("list").1, "0");
        assert_eq!(
            caches.train_lists.get("all".into(), Instant::from_ms(0), list).await.expect("list").1,
            "0",
            "cached"
        );
        caches.changed();
        assert_eq!(
            caches.train_lists.get("all".into(), Instant::from_ms(0), list).await.expect("list").1,
            "1",
            "loaded afresh"
        );
    }

    #[tokio::test]
    async fn readers_of_a_missing_entry_share_one_load_and_a_failed_load_is_retried() {
        let cache: ReadCache<usize> = ReadCache::default();
        let loads = AtomicUsize::new(0);
        let slow = || async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok::<_, ()>(loads.fetch_add(1, Ordering::SeqCst))
        };
        let (a, b) = tokio::join!(
            cache.get("k".into(), Instant::from_ms(0), slow),
            cache.get("k".into(), Instant::from_ms(0), slow)
        );
        assert_eq!((*a.expect("a"), *b.expect("b")), (0, 0));
        assert_eq!(loads.load(Ordering::SeqCst), 1, "one load for both");
        let failed = cache.get("f".into(), Instant::from_ms(0), || async { Err::<usize, _>("store down") }).await;
        assert_eq!(failed.err().as_deref(), Some(&"store down"));
        let retried = cache.get("f".into(), Instant::from_ms(0), || async { Ok::<_, &str>(7) }).await;
        assert_eq!(retried.ok().map(|v| *v), Some(7));
    }
}
