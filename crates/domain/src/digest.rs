//! Image digests as people compare them.

/// `sha256:` and the first twelve hex digits; anything else (a tag, `git:<commit>`) as it is.
pub fn short_digest(digest: &str) -> String {
    match digest.strip_prefix("sha256:") {
        Some(hex) => format!("sha256:{}", hex.get(..12).unwrap_or(hex)),
        None => digest.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_is_cut_to_twelve_hex_digits_and_other_references_are_kept() {
        assert_eq!(short_digest(&format!("sha256:{}", "ab".repeat(32))), "sha256:abababababab");
        assert_eq!(short_digest("sha256:abc"), "sha256:abc");
        assert_eq!(short_digest("git:731f7ea"), "git:731f7ea");
    }
}
