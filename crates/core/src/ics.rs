//! iCalendar (RFC 5545) rendering for calendar subscriptions, through the
//! `icalendar` crate (escaping, line folding, CRLF): every event carries a
//! stable UID, so Outlook and Google Calendar update an event when a train
//! moves instead of adding a second one. Pure.

use chrono::{DateTime, Utc};
use icalendar::{Calendar, Component, EventLike, EventStatus, Property};
use railyard_domain::time::Instant;

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

/// How often calendar apps should fetch the feed again.
const REFRESH: &str = "PT15M";

/// The feed called `name` holding `events`, stamped at `now`.
pub fn render(name: &str, events: &[CalendarEvent], now: Instant) -> String {
    let mut calendar = Calendar::empty();
    calendar
        .append_property(("VERSION", "2.0"))
        .append_property(("PRODID", "-//Railyard//Release trains//EN"))
        .append_property(("CALSCALE", "GREGORIAN"))
        .append_property(("METHOD", "PUBLISH"))
        .append_property(("X-WR-CALNAME", plain(name).as_str()))
        .append_property(Property::new("REFRESH-INTERVAL", REFRESH).add_parameter("VALUE", "DURATION").done());
    for event in events {
        let mut entry = icalendar::Event::new();
        entry
            .uid(&event.uid)
            .timestamp(instant(now.ms()))
            .starts(instant(event.start))
            .ends(instant(event.end.max(event.start + 60_000)))
            .summary(&plain(&event.summary))
            .status(if event.cancelled { EventStatus::Cancelled } else { EventStatus::Confirmed })
            .add_property("TRANSP", "TRANSPARENT");
        if !event.description.is_empty() {
            entry.description(&plain(&event.description));
        }
        if !event.categories.is_empty() {
            entry.categories(event.categories.iter().map(|c| plain(c)));
        }
        calendar.push(entry.done());
    }
    calendar.to_string()
}

fn instant(ms: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default()
}

/// `text` without carriage returns and other control characters (line feeds stay:
/// the crate escapes them), which would break a content line.
fn plain(text: &str) -> String {
    text.chars().filter(|c| *c == '\n' || !c.is_control()).collect()
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
            description: "line one\r\nline two; with, commas".into(),
            categories: vec!["payments".into(), "a, b".into()],
            cancelled: false,
        }
    }

    #[test]
    fn events_carry_stable_uids_utc_times_and_escaped_text() {
        let feed = render("Railyard", &[event("payments-weekly cutover")], Instant::from_ms(1_797_000_000_000));
        assert!(feed.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"), "{feed}");
        assert!(feed.ends_with("END:VCALENDAR\r\n"));
        assert!(feed.contains("\r\nUID:train-1@railyard\r\n"));
        assert!(feed.contains("\r\nDTSTART:20261223T042640Z\r\n"), "{feed}");
        assert!(feed.contains("\r\nDESCRIPTION:line one\\nline two\\; with\\, commas\r\n"), "{feed}");
        assert!(feed.contains("\r\nCATEGORIES:payments,a\\, b\r\n"), "{feed}");
        assert!(feed.contains("\r\nSTATUS:CONFIRMED\r\n"), "{feed}");
        assert!(!feed.replace("\r\n", "").contains(['\n', '\r']), "only CRLF line ends");
    }

    #[test]
    fn long_lines_fold_at_75_octets_without_splitting_characters() {
        let summary = "ü".repeat(100);
        let feed = render("Railyard", &[event(&summary)], Instant::from_ms(0));
        for line in feed.split("\r\n") {
            assert!(line.len() <= 75, "{} octets: {line}", line.len());
        }
        let unfolded = feed.replace("\r\n ", "");
        assert!(unfolded.contains(&format!("SUMMARY:{summary}\r\n")));
    }
}
