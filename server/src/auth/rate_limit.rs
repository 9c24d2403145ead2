//! Sign-in attempt limits per account and per client address (governor's
//! GCRA limiters), so guessing passwords is slow for one account and for
//! one machine trying many accounts.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Attempts per account: a burst of 5, then one every 12 s.
const PER_ACCOUNT_BURST: u32 = 5;
/// Attempts per address: a burst of 20, then one every 3 s.
const PER_ADDRESS_BURST: u32 = 20;

/// The two limiters, shared by every request.
#[derive(Clone)]
pub struct LoginLimits {
    accounts: Arc<DefaultKeyedRateLimiter<String>>,
    addresses: Arc<DefaultKeyedRateLimiter<IpAddr>>,
}

impl Default for LoginLimits {
    fn default() -> Self {
        let quota = |burst: u32, per_minute: u32| {
            let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
            let rate = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
            Quota::per_minute(rate).allow_burst(burst)
        };
        Self {
            accounts: Arc::new(RateLimiter::keyed(quota(PER_ACCOUNT_BURST, 5))),
            addresses: Arc::new(RateLimiter::keyed(quota(PER_ADDRESS_BURST, 20))),
        }
    }
}

impl std::fmt::Debug for LoginLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LoginLimits")
    }
}

impl LoginLimits {
    /// Counts an attempt; `Err` says which limit was hit.
    pub fn attempt(&self, account: &str, address: IpAddr) -> Result<(), &'static str> {
        if self.addresses.check_key(&address).is_err() {
            return Err("too many sign-in attempts from this address; wait a minute and try again");
        }
        if self.accounts.check_key(&account.to_lowercase()).is_err() {
            return Err("too many sign-in attempts for this account; wait a minute and try again");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_is_limited_after_its_burst_while_others_are_not() {
        let limits = LoginLimits::default();
        let address: IpAddr = [127, 0, 0, 1].into();
        for _ in 0..PER_ACCOUNT_BURST {
            assert!(limits.attempt("ada", address).is_ok());
        }
        assert!(limits.attempt("ADA", address).expect_err("limited").contains("account"));
        assert!(limits.attempt("grace", address).is_ok());
    }
}
