//! A cadence: an RFC 5545 RRULE read as wall-clock times in an IANA time zone.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use rrule::{Frequency, RRule, RRuleSet, Unvalidated};

use super::resolve_local;

/// Upper bound on occurrences produced by one expansion (about 7 years of hourly trains).
const MAX_OCCURRENCES: u16 = u16::MAX;

/// Why a cadence was refused; the message is meant for the person who wrote it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CadenceError {
    /// The RRULE text does not parse or is not allowed.
    #[error("{0}")]
    Rule(String),
    /// The time zone is not an IANA name.
    #[error("\"{0}\" is not an IANA time zone name like \"Europe/Berlin\"")]
    TimeZone(String),
}

/// A validated recurrence. The rule is expanded in "floating" wall-clock time
/// and each occurrence is then placed in the zone by [`resolve_local`], so a
/// 03:00 train stays at 03:00 local time on both sides of a DST change.
#[derive(Clone)]
pub struct Cadence {
    rule: String,
    time_zone: Tz,
    starts_on: NaiveDate,
    set: RRuleSet,
}

impl fmt::Debug for Cadence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cadence({} in {} from {})", self.rule, self.time_zone, self.starts_on)
    }
}

impl Cadence {
    /// Parses `rule` (e.g. `FREQ=WEEKLY;BYDAY=TU;BYHOUR=3`), counted from
    /// midnight of `starts_on` in `time_zone`. Minutes and seconds default to 0.
    pub fn parse(rule: &str, time_zone: &str, starts_on: NaiveDate) -> Result<Self, CadenceError> {
        let time_zone = Tz::from_str(time_zone.trim()).map_err(|_| CadenceError::TimeZone(time_zone.to_owned()))?;
        let rule = rule.trim();
        let body = rule.strip_prefix("RRULE:").unwrap_or(rule);
        if body.is_empty() {
            return Err(CadenceError::Rule(
                "is empty; expected an RRULE like \"FREQ=WEEKLY;BYDAY=TU;BYHOUR=3\"".into(),
            ));
        }
        if body.to_ascii_uppercase().contains("DTSTART") {
            return Err(CadenceError::Rule("must not contain DTSTART; use the `starts` field".into()));
        }
        let parsed = RRule::<Unvalidated>::from_str(body)
            .map_err(|e| CadenceError::Rule(format!("\"{body}\" is not a valid RRULE: {e}")))?;
        if matches!(parsed.get_freq(), Frequency::Minutely | Frequency::Secondly) {
            return Err(CadenceError::Rule(format!(
                "\"{body}\" repeats more often than hourly; a release train runs at most hourly"
            )));
        }
        let floating_start = rrule::Tz::UTC.from_utc_datetime(&starts_on.and_hms_opt(0, 0, 0).unwrap_or_default());
        let set = parsed
            .build(floating_start)
            .map_err(|e| CadenceError::Rule(format!("\"{body}\" is not a valid RRULE: {e}")))?;
        Ok(Self { rule: body.to_owned(), time_zone, starts_on, set })
    }

    /// The RRULE text as written (without an `RRULE:` prefix).
    pub fn rule(&self) -> &str {
        &self.rule
    }

    /// The IANA time zone the rule's wall-clock times are in.
    pub fn time_zone(&self) -> Tz {
        self.time_zone
    }

    /// The day the rule counts from (anchors `INTERVAL=2` and the like).
    pub fn starts_on(&self) -> NaiveDate {
        self.starts_on
    }

    /// Every occurrence at or after `from` and before `to`, in order.
    pub fn occurrences(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        if from >= to {
            return Vec::new();
        }
        // Expand in floating time with a margin wider than any UTC offset, then place each in the zone.
        let margin = Duration::days(2);
        self.floating(from - margin, to + margin)
            .into_iter()
            .map(|occurrence| resolve_local(self.time_zone, occurrence))
            .filter(|at| *at >= from && *at < to)
            .collect()
    }

    /// The rule's wall-clock occurrences whose wall-clock time, read as if it
    /// were UTC, lies within `[from, to]`, before they are placed in the zone.
    pub(super) fn floating(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<NaiveDateTime> {
        let floating = |at: DateTime<Utc>| rrule::Tz::UTC.from_utc_datetime(&at.naive_utc());
        self.set
            .clone()
            .after(floating(from))
            .before(floating(to))
            .all(MAX_OCCURRENCES)
            .dates
            .into_iter()
            .map(|occurrence| occurrence.naive_utc())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    fn utc(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        date(y, m, d).and_hms_opt(h, 0, 0).expect("valid time").and_utc()
    }

    fn cadence(rule: &str, tz: &str) -> Cadence {
        Cadence::parse(rule, tz, date(2026, 1, 1)).expect("valid cadence")
    }

    #[test]
    fn a_weekly_train_runs_every_week_at_its_local_hour() {
        let weekly = cadence("FREQ=WEEKLY;BYDAY=TU;BYHOUR=3", "Europe/Berlin");
        let found = weekly.occurrences(utc(2026, 6, 1, 0), utc(2026, 6, 30, 0));
        // June is summer time in Berlin (UTC+2): 03:00 local is 01:00 UTC.
        assert_eq!(found, vec![utc(2026, 6, 2, 1), utc(2026, 6, 9, 1), utc(2026, 6, 16, 1), utc(2026, 6, 23, 1)]);
    }

    #[test]
    fn a_biweekly_train_skips_every_other_week_counting_from_its_start() {
        let anchored = Cadence::parse("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;BYHOUR=9", "America/New_York", date(2026, 1, 5))
            .expect("valid cadence");
        let found = anchored.occurrences(utc(2026, 1, 1, 0), utc(2026, 2, 10, 0));
        // 09:00 EST is 14:00 UTC.
        assert_eq!(found, vec![utc(2026, 1, 5, 14), utc(2026, 1, 19, 14), utc(2026, 2, 2, 14)]);
    }

    #[test]
    fn a_0300_cutover_stays_at_0300_local_across_berlins_clock_changes() {
        let daily = cadence("FREQ=DAILY;BYHOUR=3", "Europe/Berlin");
        // Spring forward on 2026-03-29 (02:00 CET -> 03:00 CEST).
        let spring = daily.occurrences(utc(2026, 3, 28, 0), utc(2026, 3, 31, 0));
        assert_eq!(spring, vec![utc(2026, 3, 28, 2), utc(2026, 3, 29, 1), utc(2026, 3, 30, 1)]);
        // Fall back on 2026-10-25 (03:00 CEST -> 02:00 CET).
        let autumn = daily.occurrences(utc(2026, 10, 24, 0), utc(2026, 10, 27, 0));
        assert_eq!(autumn, vec![utc(2026, 10, 24, 1), utc(2026, 10, 25, 2), utc(2026, 10, 26, 2)]);
    }

    #[test]
    fn a_0300_cutover_stays_at_0300_local_across_new_yorks_clock_changes() {
        let daily = cadence("FREQ=DAILY;BYHOUR=3", "America/New_York");
        // Spring forward on 2026-03-08 (02:00 EST -> 03:00 EDT).
        let spring = daily.occurrences(utc(2026, 3, 7, 0), utc(2026, 3, 10, 0));
        assert_eq!(spring, vec![utc(2026, 3, 7, 8), utc(2026, 3, 8, 7), utc(2026, 3, 9, 7)]);
        // Fall back on 2026-11-01 (02:00 EDT -> 01:00 EST).
        let autumn = daily.occurrences(utc(2026, 10, 31, 0), utc(2026, 11, 3, 0));
        assert_eq!(autumn, vec![utc(2026, 10, 31, 7), utc(2026, 11, 1, 8), utc(2026, 11, 2, 8)]);
    }

    #[test]
    fn a_cutover_inside_the_spring_gap_happens_once_just_after_the_jump() {
        let daily = cadence("FREQ=DAILY;BYHOUR=2;BYMINUTE=30", "Europe/Berlin");
        let found = daily.occurrences(utc(2026, 3, 29, 0), utc(2026, 3, 30, 0));
        assert_eq!(found, vec![date(2026, 3, 29).and_hms_opt(1, 30, 0).expect("time").and_utc()]);
    }

    #[test]
    fn bad_rules_and_zones_are_refused_with_a_reason() {
        let start = date(2026, 1, 1);
        assert!(matches!(Cadence::parse("FREQ=SOMETIMES", "UTC", start), Err(CadenceError::Rule(_))));
        assert!(matches!(Cadence::parse("FREQ=WEEKLY;BYDAY=XX", "UTC", start), Err(CadenceError::Rule(_))));
        assert!(matches!(Cadence::parse("FREQ=MINUTELY", "UTC", start), Err(CadenceError::Rule(_))));
        assert!(matches!(Cadence::parse("", "UTC", start), Err(CadenceError::Rule(_))));
        assert_eq!(
            Cadence::parse("FREQ=WEEKLY", "Mars/Olympus", start).expect_err("bad zone"),
            CadenceError::TimeZone("Mars/Olympus".into())
        );
    }
}
