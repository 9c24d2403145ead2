//! Text people typed (change titles, reasons, comments), made safe to put in
//! the Markdown Railyard writes (release notes, postmortems) and in Slack
//! messages: it reads as typed and cannot add links, images, HTML, mentions
//! or new lines of structure.

/// `text` as inline Markdown: links, images, code spans, HTML and table
/// cells cannot be opened from it, and line breaks become spaces.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '[' | ']' | '`' | '|' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// `url` if it is safe to link to from Markdown (http or https, no spaces,
/// no parentheses or angle brackets that would end the link early).
pub fn safe_link(url: &str) -> Option<&str> {
    let url = url.trim();
    let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
    let clean = !url.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '(' | ')' | '<' | '>' | '"'));
    (scheme_ok && clean).then_some(url)
}

/// `text` for a Slack `mrkdwn` field: `&`, `<` and `>` escaped as Slack asks,
/// so `<!channel>`, `<@U123>` and `<https://evil|label>` stay plain text.
pub fn escape_slack(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// `text` as HTML element content or a quoted attribute value.
pub fn escape_html(text: &str) -> String {
    escape_slack(text).replace('"', "&quot;").replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_text_cannot_open_links_images_html_or_new_lines() {
        let hostile = "ok [click](https://evil.example) ![x](https://t.example/p.png) <img src=x onerror=alert(1)>\n# Owned | cell `code`";
        let escaped = escape(hostile);
        assert_eq!(
            escaped,
            "ok \\[click\\](https://evil.example) !\\[x\\](https://t.example/p.png) &lt;img src=x onerror=alert(1)&gt; # Owned \\| cell \\`code\\`"
        );
        assert_eq!(
            escape("ledger: faster payouts (v2.1)"),
            "ledger: faster payouts (v2.1)",
            "ordinary text reads as typed"
        );
    }

    #[test]
    fn only_plain_web_links_are_linked() {
        assert_eq!(safe_link("https://ci.example.com/run/7"), Some("https://ci.example.com/run/7"));
        assert_eq!(safe_link("javascript:alert(1)"), None);
        assert_eq!(safe_link("https://x.example/a) [b](https://evil"), None);
    }

    #[test]
    fn slack_mentions_and_links_stay_text() {
        assert_eq!(
            escape_slack("<!channel> see <https://evil|docs> & more"),
            "&lt;!channel&gt; see &lt;https://evil|docs&gt; &amp; more"
        );
    }
}
