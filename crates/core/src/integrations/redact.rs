//! Secrets out of messages: webhook URLs carry tokens in their path or
//! query (Slack's do) and Git remotes carry credentials, so errors, logs and
//! timelines name only the scheme and host.

use url::Url;

/// `https://hooks.example.com/…`: the scheme and host of `url`, with `/…`
/// standing for any path, query or credentials; `(a URL)` if it does not parse.
pub fn url_for_display(url: &str) -> String {
    let Ok(parsed) = Url::parse(url.trim()) else { return "(a URL)".to_owned() };
    let host = parsed.host_str().unwrap_or_default();
    let port = parsed.port().map(|p| format!(":{p}")).unwrap_or_default();
    let more = parsed.path().trim_matches('/').is_empty() && parsed.query().is_none() && parsed.username().is_empty();
    let tail = if more { "" } else { "/…" };
    if host.is_empty() {
        format!("{}:{tail}", parsed.scheme())
    } else {
        format!("{}://{host}{port}{tail}", parsed.scheme())
    }
}

/// `text` with every occurrence of the `urls` replaced by [`url_for_display`],
/// and any other `scheme://user:password@` credentials masked.
pub fn scrub(text: &str, urls: &[&str]) -> String {
    let mut out = text.to_owned();
    for url in urls.iter().filter(|u| !u.trim().is_empty()) {
        out = out.replace(url.trim(), &url_for_display(url));
    }
    let mut scrubbed = String::with_capacity(out.len());
    let mut rest = out.as_str();
    while let Some(start) = rest.find("://") {
        let (before, after) = rest.split_at(start + 3);
        scrubbed.push_str(before);
        let end = after.find(|c: char| c.is_whitespace() || matches!(c, '\'' | '"' | '/' | ')')).unwrap_or(after.len());
        match after[..end].rfind('@') {
            Some(at) => {
                scrubbed.push_str("***");
                scrubbed.push_str(&after[at..end]);
            }
            None => scrubbed.push_str(&after[..end]),
        }
        rest = &after[end..];
    }
    scrubbed.push_str(rest);
    scrubbed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_keep_their_host_and_lose_tokens() {
        assert_eq!(
            url_for_display("https://hooks.slack.com/services/T000/B000/XXXXSECRET"),
            "https://hooks.slack.com/…"
        );
        assert_eq!(
            url_for_display("https://deploy.example.com:8443/hook?token=abc"),
            "https://deploy.example.com:8443/…"
        );
        assert_eq!(url_for_display("https://deploy.example.com/"), "https://deploy.example.com");
        assert_eq!(url_for_display("not a url"), "(a URL)");
    }

    #[test]
    fn messages_lose_the_urls_they_quote_and_any_credentials() {
        let hook = "https://hooks.slack.com/services/T000/B000/XXXXSECRET";
        let message = format!("the notification webhook at {hook} answered 404");
        assert_eq!(scrub(&message, &[hook]), "the notification webhook at https://hooks.slack.com/… answered 404");
        let git = "fatal: unable to access 'https://bot:ghp_token123@git.example.com/deploy.git/': 403";
        let scrubbed = scrub(git, &[]);
        assert!(!scrubbed.contains("ghp_token123") && !scrubbed.contains("bot:"), "{scrubbed}");
        assert!(scrubbed.contains("https://***@git.example.com/deploy.git/"), "{scrubbed}");
    }
}
