//! A cadence written as an iCalendar recurrence that calendar apps expand
//! themselves: a first start in the zone's wall-clock time, the cadence's own
//! rule ending at the last wanted cutover, and the `EXDATE`s and `RDATE`s that
//! make its expansion exactly the cutovers asked for.

use std::collections::BTreeSet;
use std::str::FromStr;

use chrono::{DateTime, Duration, LocalResult, NaiveDateTime, TimeZone, Utc};
use rrule::{RRule, Unvalidated};

use super::{resolve_local, Cadence};

/// A recurring event's timing, every date-time in the cadence's zone unless said.
///
/// Calendar apps disagree on wall-clock times that do not exist (a spring-forward
/// gap) or happen twice (fall-back), so such occurrences are `pinned`: the feed
/// overrides each (`RECURRENCE-ID`) with its start in UTC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IcalRecurrence {
    /// `DTSTART` (wall-clock): the first wanted cutover whose wall-clock time is unambiguous.
    pub first: NaiveDateTime,
    /// The `RRULE` value: the cadence's rule without `COUNT`, ending with an
    /// `UNTIL` (UTC) at the last wanted cutover.
    pub rule: String,
    /// Occurrences of the rule that are not wanted (a train exists, or the rule
    /// and the cadence part ways): `EXDATE` (wall-clock).
    pub excluded: Vec<NaiveDateTime>,
    /// Wanted cutovers the rule does not produce: `RDATE` (UTC).
    pub added: Vec<DateTime<Utc>>,
    /// Wanted occurrences whose wall-clock name is ambiguous, with the instant meant.
    pub pinned: Vec<(NaiveDateTime, DateTime<Utc>)>,
}

/// How a calendar names one occurrence (`RECURRENCE-ID`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IcalTime {
    /// Wall-clock time in the event's zone.
    Local(NaiveDateTime),
    Utc(DateTime<Utc>),
}

impl Cadence {
    /// The recurrence whose expansion (RFC 5545: wall-clock times in the zone,
    /// a time in a spring-forward gap read with the offset before it, a
    /// repeated time meaning its first occurrence; the same reading as
    /// [`resolve_local`]) is exactly `wanted`. `None` when nothing is wanted.
    pub fn ical(&self, wanted: &[DateTime<Utc>]) -> Option<IcalRecurrence> {
        let wanted: BTreeSet<DateTime<Utc>> = wanted.iter().copied().collect();
        let last = *wanted.last()?;
        let zone = self.time_zone();
        let unambiguous = |local: &NaiveDateTime| matches!(zone.from_local_datetime(local), LocalResult::Single(_));
        let first = wanted
            .iter()
            .map(|at| self.wall_clock_of(*at))
            .find(unambiguous)
            .unwrap_or_else(|| self.wall_clock_of(*wanted.first().unwrap_or(&last)));
        let body: Vec<&str> = self
            .rule()
            .split(';')
            .map(str::trim)
            .filter(|part| {
                let key = part.split('=').next().unwrap_or_default().to_ascii_uppercase();
                !part.is_empty() && key != "COUNT" && key != "UNTIL"
            })
            .collect();
        let body = body.join(";").to_ascii_uppercase();
        let (kept, excluded): (Vec<_>, Vec<_>) =
            rebased(&body, first, zone, last).into_iter().partition(|(_, at)| wanted.contains(at));
        let produced: BTreeSet<DateTime<Utc>> = kept.iter().map(|(_, at)| *at).collect();
        Some(IcalRecurrence {
            first,
            rule: format!("{body};UNTIL={}", last.format("%Y%m%dT%H%M%SZ")),
            excluded: excluded.into_iter().map(|(local, _)| local).collect(),
            added: wanted.into_iter().filter(|at| !produced.contains(at)).collect(),
            pinned: kept.into_iter().filter(|(local, _)| !unambiguous(local)).collect(),
        })
    }

    /// How `recurrence` (made by [`Cadence::ical`]) names its occurrence at `at`.
    pub fn ical_time(&self, recurrence: &IcalRecurrence, at: DateTime<Utc>) -> IcalTime {
        if recurrence.added.contains(&at) {
            IcalTime::Utc(at)
        } else {
            IcalTime::Local(self.wall_clock_of(at))
        }
    }

    /// The wall-clock time that names `at` in the zone: the floating occurrence
    /// the cadence placed there (so a time in a spring-forward gap keeps its
    /// name), otherwise the zone's local time.
    pub fn wall_clock_of(&self, at: DateTime<Utc>) -> NaiveDateTime {
        self.floating(at - Duration::days(2), at + Duration::days(2))
            .into_iter()
            .find(|local| resolve_local(self.time_zone(), *local) == at)
            .unwrap_or_else(|| at.with_timezone(&self.time_zone()).naive_local())
    }
}

/// What a calendar app expands `body` from `first` to: `first` itself (RFC
/// 5545 counts `DTSTART` as the first instance) and every later occurrence up
/// to `until`, each as (wall-clock, instant). A rule that no longer parses
/// produces just `first`.
fn rebased(
    body: &str,
    first: NaiveDateTime,
    zone: chrono_tz::Tz,
    until: DateTime<Utc>,
) -> Vec<(NaiveDateTime, DateTime<Utc>)> {
    let floating = |at: NaiveDateTime| rrule::Tz::UTC.from_utc_datetime(&at);
    let mut locals = vec![first];
    if let Ok(set) = RRule::<Unvalidated>::from_str(body).and_then(|rule| rule.build(floating(first))) {
        // Wall-clock times run at most a day ahead of UTC: two days' margin covers every zone.
        let horizon = until.naive_utc() + Duration::days(2);
        locals.extend(set.before(floating(horizon)).all(u16::MAX).dates.into_iter().map(|at| at.naive_utc()));
    }
    let mut seen = BTreeSet::new();
    locals
        .into_iter()
        .filter(|local| seen.insert(*local))
        .map(|local| (local, resolve_local(zone, local)))
        .filter(|(_, at)| *at <= until)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        date(y, m, d).and_hms_opt(h, min, 0).expect("valid time")
    }

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        local(y, m, d, h, min).and_utc()
    }

    /// Expands `recurrence` as a calendar app would, from its own parts.
    fn expand(recurrence: &IcalRecurrence, zone: chrono_tz::Tz) -> BTreeSet<DateTime<Utc>> {
        let (body, until) = recurrence.rule.rsplit_once(";UNTIL=").expect("rule ends with UNTIL");
        let until = NaiveDateTime::parse_from_str(until, "%Y%m%dT%H%M%SZ").expect("UNTIL in UTC").and_utc();
        let excluded: BTreeSet<_> = recurrence.excluded.iter().collect();
        let pinned = |local: NaiveDateTime, at| {
            recurrence.pinned.iter().find(|(name, _)| *name == local).map_or(at, |(_, meant)| *meant)
        };
        rebased(body, recurrence.first, zone, until)
            .into_iter()
            .filter(|(local, _)| !excluded.contains(local))
            .map(|(local, at)| pinned(local, at))
            .chain(recurrence.added.iter().copied())
            .collect()
    }

    #[test]
    fn a_weekly_cadence_becomes_its_own_rule_from_the_first_wanted_cutover() {
        let weekly = Cadence::parse("FREQ=WEEKLY;BYDAY=TU;BYHOUR=3", "Europe/Berlin", date(2026, 1, 1)).expect("ok");
        let wanted = weekly.occurrences(utc(2027, 1, 1, 0, 0), utc(2027, 12, 31, 0, 0));
        let recurrence = weekly.ical(&wanted).expect("something is wanted");
        assert_eq!(recurrence.first, local(2027, 1, 5, 3, 0));
        assert_eq!(recurrence.rule, "FREQ=WEEKLY;BYDAY=TU;BYHOUR=3;UNTIL=20271228T020000Z");
        assert!(recurrence.excluded.is_empty() && recurrence.added.is_empty(), "{recurrence:?}");
        assert!(recurrence.pinned.is_empty());
        assert_eq!(expand(&recurrence, chrono_tz::Europe::Berlin), wanted.into_iter().collect());
    }

    #[test]
    fn cutovers_that_are_not_wanted_are_excluded_by_their_wall_clock_time() {
        let daily = Cadence::parse("FREQ=DAILY;BYHOUR=2;BYMINUTE=30", "Europe/Berlin", date(2026, 1, 1)).expect("ok");
        let mut wanted = daily.occurrences(utc(2027, 3, 20, 0, 0), utc(2027, 4, 5, 0, 0));
        // A train already exists for the 24th: the feed shows that one instead.
        wanted.retain(|at| *at != utc(2027, 3, 24, 1, 30));
        let recurrence = daily.ical(&wanted).expect("something is wanted");
        assert_eq!(recurrence.excluded, vec![local(2027, 3, 24, 2, 30)]);
        // 2027-03-28 02:30 does not exist in Berlin: the cadence means 01:30 UTC, and says so.
        assert_eq!(recurrence.pinned, vec![(local(2027, 3, 28, 2, 30), utc(2027, 3, 28, 1, 30))]);
        assert_eq!(daily.ical_time(&recurrence, utc(2027, 3, 28, 1, 30)), IcalTime::Local(local(2027, 3, 28, 2, 30)));
        assert!(recurrence.added.is_empty());
        assert_eq!(expand(&recurrence, chrono_tz::Europe::Berlin), wanted.into_iter().collect());
    }

    #[test]
    fn a_time_that_happens_twice_is_pinned_to_its_first_instant() {
        let daily =
            Cadence::parse("FREQ=DAILY;BYHOUR=1;BYMINUTE=30", "America/New_York", date(2026, 1, 1)).expect("ok");
        let wanted = daily.occurrences(utc(2027, 11, 5, 0, 0), utc(2027, 11, 10, 0, 0));
        let recurrence = daily.ical(&wanted).expect("something is wanted");
        // 2027-11-07 01:30 happens at 05:30 (EDT) and 06:30 UTC (EST); the cadence means the first.
        assert_eq!(recurrence.pinned, vec![(local(2027, 11, 7, 1, 30), utc(2027, 11, 7, 5, 30))]);
        assert!(recurrence.excluded.is_empty() && recurrence.added.is_empty());
        assert_eq!(expand(&recurrence, chrono_tz::America::New_York), wanted.into_iter().collect());
    }

    #[test]
    fn a_counted_or_anchored_rule_still_expands_to_exactly_the_cadence() {
        // Every other Monday counted from 5 January, and a COUNT the feed's UNTIL replaces.
        let biweekly =
            Cadence::parse("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;BYHOUR=9;COUNT=40", "America/New_York", date(2026, 1, 5))
                .expect("ok");
        let wanted = biweekly.occurrences(utc(2026, 6, 1, 0, 0), utc(2027, 6, 1, 0, 0));
        let recurrence = biweekly.ical(&wanted).expect("something is wanted");
        assert!(!recurrence.rule.contains("COUNT"), "{}", recurrence.rule);
        assert_eq!(expand(&recurrence, chrono_tz::America::New_York), wanted.iter().copied().collect());
        // The 40th Monday was 2027-07-19 (beyond this span), so nothing had to be corrected.
        assert!(recurrence.excluded.is_empty() && recurrence.added.is_empty(), "{recurrence:?}");
    }

    #[test]
    fn wanted_times_the_rule_never_produces_are_added() {
        let weekly = Cadence::parse("FREQ=WEEKLY;BYDAY=TU;BYHOUR=3", "Australia/Sydney", date(2026, 1, 1)).expect("ok");
        let mut wanted = weekly.occurrences(utc(2027, 3, 1, 0, 0), utc(2027, 5, 1, 0, 0));
        wanted.push(utc(2027, 4, 8, 4, 0));
        let recurrence = weekly.ical(&wanted).expect("something is wanted");
        assert_eq!(recurrence.added, vec![utc(2027, 4, 8, 4, 0)]);
        assert_eq!(expand(&recurrence, chrono_tz::Australia::Sydney), wanted.into_iter().collect());
    }

    #[test]
    fn nothing_wanted_means_no_recurrence() {
        let weekly = Cadence::parse("FREQ=WEEKLY", "UTC", date(2026, 1, 1)).expect("ok");
        assert_eq!(weekly.ical(&[]), None);
    }
}
