//! Sign-in attempt limits. Every attempt counts against the client address
//! (governor's GCRA limiter: a burst, then a steady rate). Failed attempts
//! back off, never lock out: per account *and* client (steeply: a guesser
//! from one machine soon waits minutes) and per account across every client
//! (gently, capped at a minute, so spreading guesses over many machines does
//! not help while the real person waits at most that long). The per-account
//! state lives in the store, so replicas share it; the rest is per process
//! and pruned as it ages. Refusals are counted, not audited one by one.

use railyard_domain::time::Instant;
use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Attempts per address: a burst of 20, then one every 3 s.
const ADDRESS_ATTEMPTS: (u32, u32) = (20, 20);
/// Failures of one account from one address before it backs off, and the longest wait.
pub const PAIR_BACKOFF: Backoff = Backoff { free: 5, cap_ms: 15 * 60_000 };
/// Failures of one account from everywhere before it backs off, and the longest wait.
pub const ACCOUNT_BACKOFF: Backoff = Backoff { free: 20, cap_ms: 60_000 };
/// Per-process entries untouched this long are forgotten.
const FORGET_AFTER_MS: i64 = 60 * 60_000;
/// How often the per-process maps are pruned.
const PRUNE_EVERY_MS: i64 = 60_000;
/// One audit row per client at most this often for refused attempts.
pub const REFUSALS_AUDITED_EVERY_MS: i64 = 60_000;

pub use crate::store::sign_in_backoff::Backoff;

/// Why an attempt was refused, and when the client may try again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub message: &'static str,
    pub retry_after_s: u64,
}

impl Refused {
    /// The account backs off for `wait_ms` more, whoever is trying.
    pub fn account(wait_ms: i64) -> Self {
        Self::new(ACCOUNT_BACKING_OFF, wait_ms)
    }

    fn new(message: &'static str, wait_ms: i64) -> Self {
        Self { message, retry_after_s: u64::try_from((wait_ms.max(1000) + 999) / 1000).unwrap_or(1) }
    }
}

const ADDRESS_LIMITED: &str = "too many sign-in attempts from this address; wait a minute and try again";
const PAIR_BACKING_OFF: &str = "too many failed sign-ins for this account from here; wait and try again";
const ACCOUNT_BACKING_OFF: &str = "too many failed sign-ins for this account; wait a little and try again";

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    next_at: Instant,
    touched: Instant,
}

#[derive(Debug, Clone, Copy)]
struct Refusals {
    /// Refusals since the last audit row.
    count: u64,
    audited_at: Instant,
}

/// The per-process limiters, shared by every request.
#[derive(Clone)]
pub struct LoginLimits {
    addresses: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    pairs: Arc<Mutex<HashMap<(String, IpAddr), Failures>>>,
    refusals: Arc<Mutex<HashMap<IpAddr, Refusals>>>,
    pruned_at: Arc<Mutex<Instant>>,
}

impl Default for LoginLimits {
    fn default() -> Self {
        let (burst, per_minute) = ADDRESS_ATTEMPTS;
        let quota = Quota::per_minute(NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN));
        Self {
            addresses: Arc::new(RateLimiter::keyed(quota)),
            pairs: Arc::default(),
            refusals: Arc::default(),
            pruned_at: Arc::default(),
        }
    }
}

impl std::fmt::Debug for LoginLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LoginLimits")
    }
}

/// The key an account is limited under: its name in lower case, at most 64 characters.
pub fn account_key(account: &str) -> String {
    account.trim().chars().take(64).collect::<String>().to_lowercase()
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl LoginLimits {
    /// Counts an attempt from `address` on `account` at `now` (epoch ms) and
    /// refuses it while the address is over its rate or the pair backs off.
    pub fn admit(&self, account: &str, address: IpAddr, now: Instant) -> Result<(), Refused> {
        self.admit_address(address)?;
        match lock(&self.pairs).get(&(account_key(account), address)) {
            Some(failures) if failures.next_at > now => Err(Refused::new(PAIR_BACKING_OFF, failures.next_at - now)),
            _ => Ok(()),
        }
    }

    /// Counts an attempt from `address` that names no account (a single
    /// sign-on started), refused while the address is over its rate.
    pub fn admit_address(&self, address: IpAddr) -> Result<(), Refused> {
        self.addresses.check_key(&address).map_err(|not_until| {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(&governor::clock::DefaultClock::default()));
            Refused::new(ADDRESS_LIMITED, i64::try_from(wait.as_millis()).unwrap_or(60_000))
        })
    }

    /// Counts a failed attempt of `account` from `address`.
    pub fn failed(&self, account: &str, address: IpAddr, now: Instant) {
        let mut pairs = lock(&self.pairs);
        let entry = pairs.entry((account_key(account), address)).or_insert(Failures {
            count: 0,
            next_at: Instant::EPOCH,
            touched: now,
        });
        entry.count = entry.count.saturating_add(1);
        entry.next_at = now + PAIR_BACKOFF.delay_ms(entry.count);
        entry.touched = now;
    }

    /// Forgets the failures of `account` from `address` after a successful sign-in.
    pub fn succeeded(&self, account: &str, address: IpAddr) {
        lock(&self.pairs).remove(&(account_key(account), address));
    }

    /// Counts a refused attempt from `address`; `Some(n)` when an audit row
    /// should be written now, covering the `n` refusals since the last one.
    pub fn refusal_to_audit(&self, address: IpAddr, now: Instant) -> Option<u64> {
        let mut refusals = lock(&self.refusals);
        let entry = refusals.entry(address).or_insert(Refusals { count: 0, audited_at: Instant::from_ms(i64::MIN) });
        entry.count += 1;
        if now - entry.audited_at >= REFUSALS_AUDITED_EVERY_MS {
            entry.audited_at = now;
            Some(std::mem::take(&mut entry.count))
        } else {
            None
        }
    }

    /// Entries the per-process maps hold (for tests and metrics).
    pub fn tracked(&self) -> usize {
        lock(&self.pairs).len() + lock(&self.refusals).len() + self.addresses.len()
    }

    /// Drops entries untouched for an hour, at most once a minute; true when it did.
    pub fn prune(&self, now: Instant) -> bool {
        {
            let mut pruned_at = lock(&self.pruned_at);
            if now - *pruned_at < PRUNE_EVERY_MS {
                return false;
            }
            *pruned_at = now;
        }
        lock(&self.pairs).retain(|_, failures| now - failures.touched < FORGET_AFTER_MS);
        lock(&self.refusals).retain(|_, refusals| now - refusals.audited_at < FORGET_AFTER_MS);
        self.addresses.retain_recent();
        self.addresses.shrink_to_fit();
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: i64 = 60_000;

    #[test]
    fn failures_back_off_per_account_and_address_without_locking_the_account_elsewhere() {
        let limits = LoginLimits::default();
        let (attacker, owner): (IpAddr, IpAddr) = ([10, 0, 0, 7].into(), [10, 0, 0, 8].into());
        let now = Instant::from_ms(1_000 * MINUTE);
        for _ in 0..PAIR_BACKOFF.free - 1 {
            assert!(limits.admit("ada", attacker, now).is_ok());
            limits.failed("ada", attacker, now);
        }
        assert!(limits.admit("ADA", attacker, now).is_ok(), "free failures cost nothing");
        limits.failed("ADA", attacker, now);
        let refused = limits.admit("ada", attacker, now).expect_err("backing off");
        assert_eq!(refused.retry_after_s, 1);
        assert!(refused.message.contains("from here"), "{refused:?}");
        assert!(limits.admit("ada", owner, now).is_ok(), "the owner on another machine is not locked out");
        assert!(limits.admit("grace", attacker, now).is_ok(), "other accounts are not affected");
        assert!(limits.admit("ada", attacker, now + 1_000).is_ok(), "the wait passes");
        limits.failed("ada", attacker, now + 1_000);
        assert_eq!(limits.admit("ada", attacker, now + 1_000).expect_err("doubled").retry_after_s, 2);
        limits.succeeded("ada", attacker);
        assert!(limits.admit("ada", attacker, now + 1_000).is_ok(), "a success forgets the failures");
    }

    #[test]
    fn waits_double_up_to_their_cap() {
        assert_eq!(PAIR_BACKOFF.delay_ms(5), 1_000);
        assert_eq!(PAIR_BACKOFF.delay_ms(8), 8_000);
        assert_eq!(PAIR_BACKOFF.delay_ms(40), 15 * MINUTE);
        assert_eq!(ACCOUNT_BACKOFF.delay_ms(19), 0);
        assert_eq!(ACCOUNT_BACKOFF.delay_ms(26), MINUTE, "a minute at most, whoever is guessing");
    }

    #[test]
    fn one_address_trying_many_accounts_is_slowed() {
        let limits = LoginLimits::default();
        let address: IpAddr = [10, 0, 0, 7].into();
        let admitted =
            (0..30).filter(|n| limits.admit(&format!("user{n}"), address, Instant::from_ms(0)).is_ok()).count();
        assert_eq!(admitted, usize::try_from(ADDRESS_ATTEMPTS.0).unwrap_or_default());
    }

    #[test]
    fn refusals_are_audited_once_a_minute_per_client_with_their_count() {
        let limits = LoginLimits::default();
        let address: IpAddr = [10, 0, 0, 9].into();
        assert_eq!(
            limits.refusal_to_audit(address, Instant::from_ms(0)),
            Some(1),
            "the first refusal is on record at once"
        );
        assert_eq!((1..500).filter_map(|n| limits.refusal_to_audit(address, Instant::from_ms(n))).count(), 0);
        assert_eq!(limits.refusal_to_audit(address, Instant::from_ms(MINUTE)), Some(500), "then one row for the rest");
    }

    #[test]
    fn entries_are_forgotten_after_an_hour() {
        let limits = LoginLimits::default();
        for n in 0..1_000u32 {
            let address = IpAddr::from(n.to_be_bytes());
            limits.failed(&format!("name-{n}"), address, Instant::from_ms(0));
            limits.refusal_to_audit(address, Instant::from_ms(0));
        }
        assert!(limits.tracked() >= 2_000);
        let _ = limits.admit("someone", [10, 1, 1, 1].into(), Instant::from_ms(2 * 60 * MINUTE));
        assert!(limits.prune(Instant::from_ms(2 * 60 * MINUTE)), "pruned");
        assert!(!limits.prune(Instant::from_ms(2 * 60 * MINUTE + 1)), "not again within the minute");
        assert!(limits.tracked() <= 1, "only the last attempt's address is left: {}", limits.tracked());
    }
}
