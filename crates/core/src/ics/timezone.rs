//! `VTIMEZONE` components written from the IANA database (chrono-tz has no
//! rule export): one observance per offset change within the span the feed
//! covers, so a calendar app without the zone still places every time right.

use std::fmt::Write;

use chrono::{DateTime, Duration, Offset, TimeZone, Utc};
use chrono_tz::{OffsetComponents, OffsetName, Tz};

/// One stretch of a zone's time: from `onset` (UTC) on, clocks read `offset`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observance {
    pub onset: DateTime<Utc>,
    /// The offset in force just before `onset`, seconds east of UTC.
    pub offset_from: i32,
    /// The offset from `onset` on, seconds east of UTC.
    pub offset_to: i32,
    /// Summer time (`DAYLIGHT`) rather than standard time (`STANDARD`).
    pub daylight: bool,
    /// The abbreviation, e.g. `CEST`.
    pub name: String,
}

/// How a zone reads one instant: offset, summer time, abbreviation.
fn reading(zone: Tz, at: DateTime<Utc>) -> (i32, bool, String) {
    let offset = zone.offset_from_utc_datetime(&at.naive_utc());
    let name = offset.abbreviation().unwrap_or_default().to_owned();
    (offset.fix().local_minus_utc(), !offset.dst_offset().is_zero(), name)
}

fn seconds(epoch: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(epoch, 0).unwrap_or_default()
}

/// The observances of `zone` over `[from, to]`: the one in force at `from`,
/// then one per change of offset, summer time or abbreviation.
pub fn observances(zone: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Observance> {
    let (offset, daylight, name) = reading(zone, from);
    let mut found = vec![Observance { onset: from, offset_from: offset, offset_to: offset, daylight, name }];
    let step = Duration::hours(12);
    let mut at = from;
    while at < to {
        let next = (at + step).min(to);
        let before = reading(zone, at);
        if reading(zone, next) != before {
            // Changes happen on whole seconds: halve the step, in seconds, down to one.
            let (mut low, mut high) = (at.timestamp(), next.timestamp());
            while high - low > 1 {
                let middle = low + (high - low) / 2;
                if reading(zone, seconds(middle)) == before {
                    low = middle;
                } else {
                    high = middle;
                }
            }
            let high = seconds(high);
            let (offset_to, daylight, name) = reading(zone, high);
            found.push(Observance { onset: high, offset_from: before.0, offset_to, daylight, name });
        }
        at = next;
    }
    found
}

/// The `VTIMEZONE` component (CRLF line ends) for `zone` over `[from, to]`.
pub fn vtimezone(zone: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let mut text = format!("BEGIN:VTIMEZONE\r\nTZID:{}\r\n", zone.name());
    for observance in observances(zone, from, to) {
        let kind = if observance.daylight { "DAYLIGHT" } else { "STANDARD" };
        // An observance's start is written in the wall-clock time of the offset before it.
        let onset = observance.onset + Duration::seconds(i64::from(observance.offset_from));
        let _ = write!(
            text,
            "BEGIN:{kind}\r\nDTSTART:{}\r\nTZOFFSETFROM:{}\r\nTZOFFSETTO:{}\r\n",
            onset.naive_utc().format("%Y%m%dT%H%M%S"),
            utc_offset(observance.offset_from),
            utc_offset(observance.offset_to),
        );
        if !observance.name.is_empty() {
            let _ = write!(text, "TZNAME:{}\r\n", observance.name);
        }
        let _ = write!(text, "END:{kind}\r\n");
    }
    text.push_str("END:VTIMEZONE\r\n");
    text
}

/// `+0100`, `-0330`, or with seconds when a historical offset has them.
fn utc_offset(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let magnitude = seconds.unsigned_abs();
    let (hours, minutes, rest) = (magnitude / 3600, magnitude % 3600 / 60, magnitude % 60);
    if rest == 0 {
        format!("{sign}{hours:02}{minutes:02}")
    } else {
        format!("{sign}{hours:02}{minutes:02}{rest:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn utc(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        NaiveDate::from_ymd_opt(y, m, d).and_then(|d| d.and_hms_opt(h, 0, 0)).expect("valid").and_utc()
    }

    #[test]
    fn berlin_changes_clocks_twice_a_year_at_one_utc() {
        let found = observances(chrono_tz::Europe::Berlin, utc(2027, 1, 1, 0), utc(2027, 12, 31, 0));
        let changes: Vec<_> =
            found.iter().skip(1).map(|o| (o.onset, o.offset_to, o.daylight, o.name.as_str())).collect();
        assert_eq!(
            changes,
            vec![(utc(2027, 3, 28, 1), 7200, true, "CEST"), (utc(2027, 10, 31, 1), 3600, false, "CET")]
        );
        assert_eq!((found[0].offset_to, found[0].daylight), (3600, false));
    }

    #[test]
    fn a_zone_without_summer_time_has_one_observance() {
        let found = observances(chrono_tz::Asia::Tokyo, utc(2027, 1, 1, 0), utc(2028, 1, 1, 0));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].offset_to, 9 * 3600);
    }

    #[test]
    fn the_component_writes_onsets_in_the_previous_wall_clock_time() {
        let text = vtimezone(chrono_tz::America::New_York, utc(2027, 1, 1, 0), utc(2027, 12, 31, 0));
        assert!(text.starts_with("BEGIN:VTIMEZONE\r\nTZID:America/New_York\r\n"), "{text}");
        // 2027-03-14 02:00 EST, 2027-11-07 02:00 EDT.
        assert!(
            text.contains(
                "BEGIN:DAYLIGHT\r\nDTSTART:20270314T020000\r\nTZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\nTZNAME:EDT\r\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("BEGIN:STANDARD\r\nDTSTART:20271107T020000\r\nTZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\n")
        );
        assert!(text.ends_with("END:VTIMEZONE\r\n"));
    }

    #[test]
    fn offsets_with_half_hours_and_seconds_are_written_in_full() {
        assert_eq!(utc_offset(-12_600), "-0330");
        assert_eq!(utc_offset(19_800), "+0530");
        assert_eq!(utc_offset(-1_125), "-001845");
    }
}
