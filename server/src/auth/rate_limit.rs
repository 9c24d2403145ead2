//! Sign-in attempt limits (governor's GCRA limiters): every attempt counts
//! against the client address, and failed attempts count against the
//! account, which is then locked for a while. Guessing is slow for one
//! account and for one machine trying many accounts, while people signing
//! in correctly, however often, are never locked out.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Failed attempts per account: a burst of 5, then one every 12 s.
const ACCOUNT_FAILURES: (u32, u32) = (5, 5);
/// Attempts per address: a burst of 20, then one every 3 s.
const ADDRESS_ATTEMPTS: (u32, u32) = (20, 20);

/// The limiters, shared by every request.
#[derive(Clone)]
pub struct LoginLimits {
    failures: Arc<DefaultKeyedRateLimiter<String>>,
    addresses: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    locked_until: Arc<Mutex<HashMap<String, Instant>>>,
    clock: DefaultClock,
}

fn quota((burst, per_minute): (u32, u32)) -> Quota {
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    Quota::per_minute(NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN)).allow_burst(burst)
}

impl Default for LoginLimits {
    fn default() -> Self {
        Self {
            failures: Arc::new(RateLimiter::keyed(quota(ACCOUNT_FAILURES))),
            addresses: Arc::new(RateLimiter::keyed(quota(ADDRESS_ATTEMPTS))),
            locked_until: Arc::default(),
            clock: DefaultClock::default(),
        }
    }
}

impl std::fmt::Debug for LoginLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LoginLimits")
    }
}

const ADDRESS_LIMITED: &str = "too many sign-in attempts from this address; wait a minute and try again";
const ACCOUNT_LOCKED: &str = "too many failed sign-ins for this account; wait a minute and try again";

impl LoginLimits {
    /// Counts an attempt from `address` and refuses it while `account` is locked.
    pub fn admit(&self, account: &str, address: IpAddr) -> Result<(), &'static str> {
        if self.addresses.check_key(&address).is_err() {
            return Err(ADDRESS_LIMITED);
        }
        let mut locked = self.locked_until.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match locked.get(&account.to_lowercase()) {
            Some(until) if *until > Instant::now() => Err(ACCOUNT_LOCKED),
            Some(_) => {
                locked.remove(&account.to_lowercase());
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Counts a failed attempt; `Err` when this one locked the account.
    pub fn failed(&self, account: &str) -> Result<(), &'static str> {
        let key = account.to_lowercase();
        match self.failures.check_key(&key) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.clock.now());
                let mut locked = self.locked_until.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                locked.insert(key, Instant::now() + wait);
                Err(ACCOUNT_LOCKED)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_lock_an_account_while_successes_and_other_accounts_are_unaffected() {
        let limits = LoginLimits::default();
        let address: IpAddr = [127, 0, 0, 1].into();
        for _ in 0..10 {
            assert!(limits.admit("grace", address).is_ok(), "successful sign-ins never lock");
        }
        for _ in 0..ACCOUNT_FAILURES.0 {
            assert!(limits.admit("ada", address).is_ok());
            assert!(limits.failed("ada").is_ok());
        }
        assert!(limits.failed("ADA").expect_err("locked").contains("account"));
        assert!(limits.admit("ada", address).expect_err("locked").contains("account"));
        assert!(limits.admit("grace", address).is_ok());
    }

    #[test]
    fn one_address_trying_many_accounts_is_slowed() {
        let limits = LoginLimits::default();
        let address: IpAddr = [10, 0, 0, 7].into();
        let admitted = (0..30).filter(|n| limits.admit(&format!("user{n}"), address).is_ok()).count();
        assert_eq!(admitted, usize::try_from(ADDRESS_ATTEMPTS.0).unwrap_or_default());
    }
}
