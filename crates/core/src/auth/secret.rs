//! Random secrets (session ids, API tokens, keys) and how they are stored:
//! only their SHA-256, so a copy of the database cannot be used to sign in.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

/// `bytes` random bytes from the operating system, URL-safe base64.
pub fn random_token(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    // The OS RNG failing means the machine cannot make secrets at all; stopping is the only safe answer.
    getrandom::fill(&mut buffer).unwrap_or_else(|e| panic!("the operating system's random source failed: {e}"));
    URL_SAFE_NO_PAD.encode(buffer)
}

/// The hex SHA-256 of a secret, as stored.
pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_the_requested_entropy_and_differ() {
        let token = random_token(32);
        assert_eq!(URL_SAFE_NO_PAD.decode(&token).expect("base64").len(), 32);
        assert_ne!(token, random_token(32));
    }
}
