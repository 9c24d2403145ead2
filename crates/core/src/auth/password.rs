//! Password hashing with argon2id at explicit parameters (OWASP's first
//! recommendation: 46 MiB, one pass, one lane), so an upgrade of the crate
//! cannot silently weaken them. Hashes are PHC strings and carry their own
//! parameters, so raising these later still verifies old hashes.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::time::Duration;
use tokio::sync::Semaphore;

/// Memory per hash in KiB (46 MiB).
pub const MEMORY_KIB: u32 = 47_104;
/// Passes over the memory.
pub const ITERATIONS: u32 = 1;
/// Lanes.
pub const PARALLELISM: u32 = 1;
/// Shortest password accepted.
pub const MIN_LENGTH: usize = 12;

/// At most this many hashes run at once, whatever the load: each holds
/// `MEMORY_KIB` while it runs, so sign-ins cannot exhaust memory.
pub const CONCURRENT_HASHES: usize = 2;
/// How long a hash waits for its turn before the request is told to retry.
pub const QUEUE_WAIT: Duration = Duration::from_secs(3);

/// Why a hash did not run.
#[derive(Debug, thiserror::Error)]
pub enum HashRefusal {
    /// Every hasher stayed busy for `QUEUE_WAIT`.
    #[error("too many sign-ins at once; nothing was changed, try again in a few seconds")]
    Busy,
    #[error("the password hasher stopped: {0}")]
    Failed(String),
}

/// The hashers' turns, shared by every request of the process.
static HASHERS: Semaphore = Semaphore::const_new(CONCURRENT_HASHES);

/// Runs `work` (which hashes or verifies) on a blocking thread once one of
/// the `CONCURRENT_HASHES` hashers is free, waiting at most `QUEUE_WAIT`.
pub async fn bounded<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, HashRefusal> {
    let permit = tokio::time::timeout(QUEUE_WAIT, HASHERS.acquire())
        .await
        .map_err(|_| HashRefusal::Busy)?
        .map_err(|e| HashRefusal::Failed(e.to_string()))?;
    let done = tokio::task::spawn_blocking(work).await.map_err(|e| HashRefusal::Failed(e.to_string()));
    drop(permit);
    done
}

fn hasher() -> Argon2<'static> {
    let params =
        Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).expect("the constant argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Passwords printed in Railyard's own samples and docs (the shipped
/// Kubernetes secret, the deployment guide, the demo): known to everyone, so
/// never accepted as a real password.
const SAMPLE_PASSWORDS: [&str; 5] = ["change-me-too", "change-me", "railyard-demo", "changeme", "password1234"];

/// Whether `password` is acceptable; the message says what is wrong.
pub fn check_strength(password: &str) -> Result<(), String> {
    if SAMPLE_PASSWORDS.iter().any(|sample| password.trim().eq_ignore_ascii_case(sample)) {
        return Err("that password is printed in Railyard's samples and docs; choose one of your own".into());
    }
    if password.chars().count() < MIN_LENGTH {
        return Err(format!("a password needs at least {MIN_LENGTH} characters"));
    }
    Ok(())
}

/// The PHC string of `password` with a fresh random salt. Slow by design:
/// call it on a blocking thread.
pub fn hash(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
}

/// Whether `password` matches the PHC string `stored`. Slow by design.
pub fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|parsed| hasher().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// A hash of a random password, verified against when the account does not
/// exist so that unknown names take as long as wrong passwords.
pub fn decoy() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash(&super::secret::random_token(16)).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn no_more_than_the_bound_of_hashes_run_at_once() {
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (running, most) = (running.clone(), most.clone());
                tokio::spawn(bounded(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(50));
                    running.fetch_sub(1, Ordering::SeqCst);
                }))
            })
            .collect();
        for task in tasks {
            task.await.expect("joined").expect("ran within the wait");
        }
        assert!(most.load(Ordering::SeqCst) <= CONCURRENT_HASHES, "at most {CONCURRENT_HASHES} at once");
    }

    #[tokio::test(start_paused = true)]
    async fn a_hash_that_waits_too_long_is_refused_as_busy() {
        // Every hasher is busy; the clock is paused, so the wait runs out at once.
        let busy = HASHERS.acquire_many(CONCURRENT_HASHES as u32).await.expect("open");
        let waiter = bounded(|| ()).await;
        assert!(matches!(waiter, Err(HashRefusal::Busy)), "{waiter:?}");
        drop(busy);
        assert!(bounded(|| ()).await.is_ok(), "a free hasher runs it");
    }

    #[test]
    fn hashes_are_argon2id_at_the_stated_cost_and_verify() {
        let stored = hash("correct horse battery").expect("hash");
        assert!(stored.starts_with("$argon2id$v=19$m=47104,t=1,p=1$"), "{stored}");
        assert!(verify("correct horse battery", &stored));
        assert!(!verify("correct horse batterY", &stored));
        assert_ne!(stored, hash("correct horse battery").expect("hash"), "salts differ");
    }

    #[test]
    fn short_passwords_are_refused_with_the_rule() {
        assert_eq!(check_strength("hunter2"), Err("a password needs at least 12 characters".into()));
        assert!(check_strength("twelve chars").is_ok());
    }

    #[test]
    fn the_shipped_sample_passwords_are_refused() {
        let secret = include_str!("../../../../deploy/kubernetes/secret.yaml");
        let sample = secret
            .lines()
            .find_map(|line| line.trim().strip_prefix("RAILYARD_ADMIN_PASSWORD: "))
            .expect("the sample secret names an admin password")
            .trim_matches('"');
        let refused = check_strength(sample).expect_err("the sample secret's password");
        assert!(refused.contains("samples"), "{refused}");
        assert!(check_strength("Railyard-Demo").is_err(), "whatever the case");
    }
}
