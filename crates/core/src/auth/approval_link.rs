//! The signature on an approval link: `<link id>.<HMAC-SHA256 over the id,
//! the train, the candidate and the expiry>`, under a key the server keeps
//! in the store. A link whose stored record was changed, or a made-up id,
//! does not verify. The link alone grants nothing: the person opening it
//! must be signed in and an eligible approver.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::store::approval_links::ApprovalLink;

/// The name of the signing key in the store.
pub const KEY_NAME: &str = "approval_link_key";

fn mac(key: &[u8], link: &ApprovalLink) -> Hmac<Sha256> {
    // HMAC accepts keys of any length; this cannot fail.
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    let signed =
        format!("railyard-approval\n{}\n{}\n{}\n{}", link.id, link.train_id, link.artifact_id, link.expires_at.ms());
    mac.update(signed.as_bytes());
    mac
}

/// The token the link's URL carries.
pub fn token(key: &[u8], link: &ApprovalLink) -> String {
    format!("{}.{}", link.id, URL_SAFE_NO_PAD.encode(mac(key, link).finalize().into_bytes()))
}

/// The link id a token names (before its signature is checked).
pub fn link_id(token: &str) -> Option<&str> {
    token.split_once('.').map(|(id, _)| id).filter(|id| !id.is_empty() && id.len() <= 64)
}

/// Whether `token` is the signed token of the stored `link`.
pub fn verifies(key: &[u8], link: &ApprovalLink, token: &str) -> bool {
    let Some((id, signature)) = token.split_once('.') else { return false };
    let Ok(signature) = URL_SAFE_NO_PAD.decode(signature) else { return false };
    id == link.id && mac(key, link).verify_slice(&signature).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use railyard_domain::time::Instant;

    fn link() -> ApprovalLink {
        ApprovalLink {
            id: "l1".into(),
            train_id: "t1".into(),
            artifact_id: "a1".into(),
            expires_at: Instant::from_ms(1_000),
            created_at: Instant::from_ms(0),
            used_at: None,
            used_by: None,
        }
    }

    #[test]
    fn a_token_verifies_only_for_its_own_link_under_its_own_key() {
        let token = token(b"key", &link());
        assert_eq!(link_id(&token), Some("l1"));
        assert!(verifies(b"key", &link(), &token));
        assert!(!verifies(b"other key", &link(), &token), "another server's key");
        let moved = ApprovalLink { artifact_id: "a2".into(), ..link() };
        assert!(!verifies(b"key", &moved, &token), "a stored link pointed at another candidate");
        let later = ApprovalLink { expires_at: Instant::from_ms(9_999), ..link() };
        assert!(!verifies(b"key", &later, &token), "an extended expiry");
        assert!(!verifies(b"key", &link(), "l1.AAAA"), "a forged signature");
        assert!(!verifies(b"key", &link(), "l1"), "no signature");
        assert_eq!(link_id("nodot"), None);
    }
}
