//! Turning a wall-clock time in a time zone into an instant, across DST.

use chrono::{DateTime, Duration, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

/// The instant a person in `tz` means by the wall-clock time `local`.
///
/// On a fall-back day a time that happens twice means its first occurrence.
/// On a spring-forward day a time that never happens (02:30 when clocks jump
/// from 02:00 to 03:00) is read with the offset in force before the jump, so
/// it lands as far after the jump as it was after 02:00 (03:30).
pub fn resolve_local(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        chrono::LocalResult::Single(at) => at.with_timezone(&Utc),
        chrono::LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        chrono::LocalResult::None => {
            // Gaps are at most a few hours long; a day earlier is safely before it.
            let before = local - Duration::days(1);
            let offset = tz.offset_from_local_datetime(&before).earliest().map_or(0, |o| o.fix().local_minus_utc());
            (local - Duration::seconds(i64::from(offset))).and_utc()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d).and_then(|d| d.and_hms_opt(h, min, 0)).expect("valid date")
    }

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        local(y, m, d, h, min).and_utc()
    }

    #[test]
    fn a_time_in_the_spring_forward_gap_moves_past_the_jump() {
        // Berlin, 2026-03-29: 02:00 CET becomes 03:00 CEST.
        assert_eq!(resolve_local(chrono_tz::Europe::Berlin, local(2026, 3, 29, 2, 30)), utc(2026, 3, 29, 1, 30));
    }

    #[test]
    fn a_repeated_time_on_the_fall_back_day_means_its_first_occurrence() {
        // New York, 2026-11-01: 02:00 EDT becomes 01:00 EST, so 01:30 happens twice.
        assert_eq!(resolve_local(chrono_tz::America::New_York, local(2026, 11, 1, 1, 30)), utc(2026, 11, 1, 5, 30));
    }
}
