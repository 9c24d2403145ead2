//! iCalendar (RFC 5545) rendering for calendar subscriptions: every event
//! carries a stable UID, so Outlook and Google Calendar update an event
//! when a train moves instead of adding a second one. Pure.

use chrono::{DateTime, Utc};

/// One event of the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarEvent {
    /// Stable across fetches, e.g. `train-<id>@railyard`.
    pub uid: String,
    /// Epoch milliseconds.
    pub start: i64,
    pub end: i64,
    pub summary: String,
    pub description: String,
    pub categories: Vec<String>,
    /// The train was skipped or aborted: clients show it struck through.
    pub cancelled: bool,
}

/// The feed called `name` holding `events`, stamped at `now`.
pub fn render(name: &str, events: &[CalendarEvent], now: i64) -> String {
    let mut out = String::new();
    let mut line = |text: String| fold(&mut out, &text);
    line("BEGIN:VCALENDAR".into());
    line("VERSION:2.0".into());
    line("PRODID:-//Railyard//Release trains//EN".into());
    line("CALSCALE:GREGORIAN".into());
    line("METHOD:PUBLISH".into());
    line(format!("X-WR-CALNAME:{}", escape(name)));
    line("REFRESH-INTERVAL;VALUE=DURATION:PT15M".into());
    for event in events {
        line("BEGIN:VEVENT".into());
        line(format!("UID:{}", escape(&event.uid)));
        line(format!("DTSTAMP:{}", stamp(now)));
        line(format!("DTSTART:{}", stamp(event.start)));
        line(format!("DTEND:{}", stamp(event.end.max(event.start + 60_000))));
        line(format!("SUMMARY:{}", escape(&event.summary)));
        if !event.description.is_empty() {
            line(format!("DESCRIPTION:{}", escape(&event.description)));
        }
        if !event.categories.is_empty() {
            let categories: Vec<String> = event.categories.iter().map(|c| escape(c)).collect();
            line(format!("CATEGORIES:{}", categories.join(",")));
        }
        line(format!("STATUS:{}", if event.cancelled { "CANCELLED" } else { "CONFIRMED" }));
        line("TRANSP:TRANSPARENT".into());
        line("END:VEVENT".into());
    }
    line("END:VCALENDAR".into());
    out
}

/// `ms` as an iCalendar UTC date-time.
fn stamp(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default().format("%Y%m%dT%H%M%SZ").to_string()
}

/// Escapes a TEXT value.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends `text` as content lines of at most 75 octets, never splitting a character, ending in CRLF.
fn fold(out: &mut String, text: &str) {
    let mut width = 0;
    for c in text.chars() {
        if width + c.len_utf8() > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += c.len_utf8();
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(summary: &str) -> CalendarEvent {
        CalendarEvent {
            uid: "train-1@railyard".into(),
            start: 1_798_000_000_000,
            end: 1_798_007_200_000,
            summary: summary.into(),
            description: "line one\nline two; with, commas".into(),
            categories: vec!["payments".into()],
            cancelled: false,
        }
    }

    #[test]
    fn events_carry_stable_uids_utc_times_and_escaped_text() {
        let feed = render("Railyard", &[event("payments-weekly cutover")], 1_797_000_000_000);
        assert!(feed.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"));
        assert!(feed.ends_with("END:VCALENDAR\r\n"));
        assert!(feed.contains("\r\nUID:train-1@railyard\r\n"));
        assert!(feed.contains("\r\nDTSTART:20261223T042640Z\r\n"), "{feed}");
        assert!(feed.contains("\r\nDESCRIPTION:line one\\nline two\\; with\\, commas\r\n"), "{feed}");
        assert!(!feed.replace("\r\n", "").contains('\n'), "only CRLF line ends");
    }

    #[test]
    fn long_lines_fold_at_75_octets_without_splitting_characters() {
        let summary = "ü".repeat(100);
        let feed = render("Railyard", &[event(&summary)], 0);
        for line in feed.split("\r\n") {
            assert!(line.len() <= 75, "{} octets: {line}", line.len());
        }
        let unfolded = feed.replace("\r\n ", "");
        assert!(unfolded.contains(&format!("SUMMARY:{summary}\r\n")));
    }
}
