//! iCalendar (RFC 5545) rendering for calendar subscriptions, through the
//! `icalendar` crate (escaping, line folding, CRLF): every event carries a
//! stable UID, so Outlook and Google Calendar update an event when a train
//! moves instead of adding a second one. Recurring events carry their zone's
//! `VTIMEZONE`. Pure.

mod timezone;

use std::collections::BTreeSet;
use std::str::FromStr;

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use chrono_tz::Tz;
use icalendar::{Calendar, CalendarDateTime, Component, EventLike, EventStatus, Property};
use railyard_domain::cadence::{resolve_local, IcalRecurrence, IcalTime};
use railyard_domain::time::Instant;

pub use timezone::{observances, vtimezone, Observance};

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

/// One event repeating on a cadence, in the cadence's zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecurringEvent {
    pub uid: String,
    /// An IANA zone name; the feed carries its `VTIMEZONE`.
    pub zone: String,
    pub recurrence: IcalRecurrence,
    /// How long each occurrence lasts.
    pub duration_ms: i64,
    pub summary: String,
    pub description: String,
    pub categories: Vec<String>,
    /// Occurrences that differ from the rest (moved, or with a note).
    pub changed: Vec<ChangedOccurrence>,
}

/// One occurrence of a recurring event shown differently: `RECURRENCE-ID`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedOccurrence {
    /// The occurrence as the recurrence names it.
    pub original: IcalTime,
    /// Epoch milliseconds.
    pub start: i64,
    pub end: i64,
    pub summary: String,
    pub description: String,
}

/// How often calendar apps should fetch the feed again.
const REFRESH: &str = "PT15M";

/// The feed called `name` holding `events` and `recurring`, stamped at `now`.
pub fn render(name: &str, events: &[CalendarEvent], recurring: &[RecurringEvent], now: Instant) -> String {
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
    for event in recurring {
        push_recurring(&mut calendar, event, now);
    }
    let text = calendar.to_string();
    let zones = time_zones(recurring);
    // The zones go before the first event, where calendar apps expect them.
    let at = text.find("BEGIN:VEVENT\r\n").unwrap_or_else(|| text.len() - "END:VCALENDAR\r\n".len());
    format!("{}{zones}{}", &text[..at], &text[at..])
}

/// A recurring event and its changed occurrences (same UID, `RECURRENCE-ID`).
fn push_recurring(calendar: &mut Calendar, event: &RecurringEvent, now: Instant) {
    let local = |at: NaiveDateTime| CalendarDateTime::WithTimezone { date_time: at, tzid: event.zone.clone() };
    let in_zone = |name: &str, at: NaiveDateTime| {
        Property::new(name, at.format("%Y%m%dT%H%M%S").to_string()).add_parameter("TZID", &event.zone).done()
    };
    let mut entry = icalendar::Event::new();
    entry
        .uid(&event.uid)
        .timestamp(instant(now.ms()))
        .starts(local(event.recurrence.first))
        .add_property("DURATION", duration(event.duration_ms).as_str())
        .add_property("RRULE", event.recurrence.rule.as_str())
        .summary(&plain(&event.summary))
        .status(EventStatus::Tentative)
        .add_property("TRANSP", "TRANSPARENT");
    for excluded in &event.recurrence.excluded {
        entry.append_multi_property(in_zone("EXDATE", *excluded));
    }
    for added in &event.recurrence.added {
        entry.append_multi_property(Property::new("RDATE", utc_text(*added)));
    }
    if !event.description.is_empty() {
        entry.description(&plain(&event.description));
    }
    if !event.categories.is_empty() {
        entry.categories(event.categories.iter().map(|c| plain(c)));
    }
    calendar.push(entry.done());
    for changed in &event.changed {
        let mut entry = icalendar::Event::new();
        entry
            .uid(&event.uid)
            .timestamp(instant(now.ms()))
            .append_property(match changed.original {
                IcalTime::Local(at) => in_zone("RECURRENCE-ID", at),
                IcalTime::Utc(at) => Property::new("RECURRENCE-ID", utc_text(at)),
            })
            .starts(instant(changed.start))
            .ends(instant(changed.end.max(changed.start + 60_000)))
            .summary(&plain(&changed.summary))
            .status(EventStatus::Tentative)
            .add_property("TRANSP", "TRANSPARENT");
        if !changed.description.is_empty() {
            entry.description(&plain(&changed.description));
        }
        calendar.push(entry.done());
    }
}

/// The `VTIMEZONE` of every zone the recurring events use, over the span they cover.
fn time_zones(recurring: &[RecurringEvent]) -> String {
    let zones: BTreeSet<&str> = recurring.iter().map(|e| e.zone.as_str()).collect();
    let mut text = String::new();
    for name in zones {
        let Ok(zone) = Tz::from_str(name) else { continue };
        let mut instants = Vec::new();
        for event in recurring.iter().filter(|e| e.zone == name) {
            let recurrence = &event.recurrence;
            instants.push(resolve_local(zone, recurrence.first));
            instants.extend(recurrence.added.iter().copied());
            if let Some(until) = recurrence
                .rule
                .rsplit_once("UNTIL=")
                .and_then(|(_, u)| NaiveDateTime::parse_from_str(u, "%Y%m%dT%H%M%SZ").ok())
            {
                instants.push(until.and_utc());
            }
            instants.extend(event.changed.iter().map(|c| instant(c.end)));
        }
        let (Some(from), Some(to)) = (instants.iter().min(), instants.iter().max()) else { continue };
        text.push_str(&vtimezone(zone, *from - Duration::days(1), *to + Duration::days(1)));
    }
    text
}

/// A UTC date-time value, e.g. `20270328T013000Z`.
fn utc_text(at: DateTime<Utc>) -> String {
    at.format("%Y%m%dT%H%M%SZ").to_string()
}

/// An iCalendar duration, e.g. `PT2H`, `PT1H30M`, `P1DT2H`.
fn duration(ms: i64) -> String {
    let seconds = (ms / 1000).max(60);
    let (days, hours, minutes, rest) = (seconds / 86_400, seconds % 86_400 / 3600, seconds % 3600 / 60, seconds % 60);
    let mut text = String::from("P");
    if days > 0 {
        text.push_str(&format!("{days}D"));
    }
    if hours + minutes + rest > 0 {
        text.push('T');
        for (amount, unit) in [(hours, 'H'), (minutes, 'M'), (rest, 'S')] {
            if amount > 0 {
                text.push_str(&format!("{amount}{unit}"));
            }
        }
    }
    text
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
        let feed = render("Railyard", &[event("payments-weekly cutover")], &[], Instant::from_ms(1_797_000_000_000));
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
        let feed = render("Railyard", &[event(&summary)], &[], Instant::from_ms(0));
        for line in feed.split("\r\n") {
            assert!(line.len() <= 75, "{} octets: {line}", line.len());
        }
        let unfolded = feed.replace("\r\n ", "");
        assert!(unfolded.contains(&format!("SUMMARY:{summary}\r\n")));
    }

    #[test]
    fn a_recurring_event_carries_its_rule_exceptions_zone_and_changed_occurrences() {
        let local = |d: u32, h: u32| {
            chrono::NaiveDate::from_ymd_opt(2027, 3, d).and_then(|day| day.and_hms_opt(h, 30, 0)).expect("valid")
        };
        let at = |d: u32, h: u32| local(d, h).and_utc();
        let recurring = RecurringEvent {
            uid: "cadence-def@railyard".into(),
            zone: "Europe/Berlin".into(),
            recurrence: IcalRecurrence {
                first: local(21, 2),
                rule: "FREQ=WEEKLY;BYDAY=SU;BYHOUR=2;BYMINUTE=30;UNTIL=20270404T003000Z".into(),
                excluded: vec![local(28, 2)],
                added: vec![at(28, 1)],
                pinned: Vec::new(),
            },
            duration_ms: 90 * 60_000,
            summary: "weekly cutover (payments), projected".into(),
            description: String::new(),
            categories: vec!["payments".into()],
            changed: vec![ChangedOccurrence {
                original: IcalTime::Local(local(21, 2)),
                start: at(22, 5).timestamp_millis(),
                end: at(22, 7).timestamp_millis(),
                summary: "moved".into(),
                description: String::new(),
            }],
        };
        let feed = render("Railyard", &[], &[recurring], Instant::from_ms(1_797_000_000_000));
        let unfolded = feed.replace("\r\n ", "");
        for line in [
            "DTSTART;TZID=Europe/Berlin:20270321T023000",
            "RRULE:FREQ=WEEKLY;BYDAY=SU;BYHOUR=2;BYMINUTE=30;UNTIL=20270404T003000Z",
            "EXDATE;TZID=Europe/Berlin:20270328T023000",
            "RDATE:20270328T013000Z",
            "DURATION:PT1H30M",
            "RECURRENCE-ID;TZID=Europe/Berlin:20270321T023000",
            "DTSTART:20270322T053000Z",
            "STATUS:TENTATIVE",
        ] {
            assert!(unfolded.contains(&format!("\r\n{line}\r\n")), "{line} in {feed}");
        }
        let zone = feed.find("BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n").expect("the zone");
        assert!(zone < feed.find("BEGIN:VEVENT").expect("an event"), "zones come before events");
        assert!(
            feed.contains("BEGIN:DAYLIGHT\r\nDTSTART:20270328T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\n")
        );
    }

    #[test]
    fn durations_are_written_in_days_hours_and_minutes() {
        assert_eq!(duration(2 * 3_600_000), "PT2H");
        assert_eq!(duration(90 * 60_000), "PT1H30M");
        assert_eq!(duration(26 * 3_600_000), "P1DT2H");
        assert_eq!(duration(86_400_000), "P1D");
    }
}
