//! Links people give Railyard (runbooks, CI runs, tickets): only web links
//! are accepted, so a page never renders a `javascript:` URL.

/// Whether `text` is an `http://` or `https://` URL.
pub fn is_web_link(text: &str) -> bool {
    text.starts_with("https://") || text.starts_with("http://")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_web_links_are_links() {
        assert!(is_web_link("https://wiki.example.com/runbook"));
        assert!(!is_web_link("javascript:alert(1)"));
        assert!(!is_web_link("ftp://example.com"));
    }
}
