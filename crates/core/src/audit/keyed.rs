//! Checkpoints signed with the audit key (`RAILYARD_AUDIT_KEY`), which the
//! servers hold outside the database: the log can vouch for its own past
//! even against someone who rewrote every record and recomputed every hash.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Shortest audit key accepted.
pub const MIN_KEY_LENGTH: usize = 32;

/// The signature of "record `count` carries `head`" under `key` (hex).
pub fn sign(key: &[u8], count: i64, head: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(format!("railyard-audit-checkpoint\n{count}\n{head}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Whether `signature` signs "record `count` carries `head`" under `key`; constant-time.
pub fn verify(key: &[u8], count: i64, head: &str, signature: &str) -> bool {
    let Ok(expected) = hex::decode(signature) else { return false };
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(format!("railyard-audit-checkpoint\n{count}\n{head}").as_bytes());
    mac.verify_slice(&expected).is_ok()
}

/// Refuses a key too short to resist guessing.
pub fn check_key(key: &str) -> Result<(), String> {
    if key.chars().count() < MIN_KEY_LENGTH {
        return Err(format!("RAILYARD_AUDIT_KEY must be at least {MIN_KEY_LENGTH} characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_vouches_for_exactly_its_count_and_head_under_its_key() {
        let key = b"an audit key of at least 32 chars";
        let signature = sign(key, 42, "9f86d0");
        assert!(verify(key, 42, "9f86d0", &signature));
        assert!(!verify(key, 43, "9f86d0", &signature), "another count");
        assert!(!verify(key, 42, "9f86d1", &signature), "another head");
        assert!(!verify(b"someone else's key, 32 characters", 42, "9f86d0", &signature), "another key");
        assert!(check_key("short").is_err());
    }
}
