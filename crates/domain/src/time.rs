//! Instants as Railyard keeps them: UTC epoch milliseconds, typed as
//! [`Instant`] so a moment is never confused with a span or a count. Spans
//! stay plain milliseconds (`*_ms: i64`).

use std::ops::{Add, AddAssign, Sub};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A moment in UTC, to the millisecond. Reads and writes as the number of
/// milliseconds since the Unix epoch (in JSON and in SQL). It has no
/// `Display`: text says which form it wants ([`Instant::ms`] or
/// [`Instant::rfc3339`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Instant(i64);

impl Instant {
    /// The Unix epoch.
    pub const EPOCH: Self = Self(0);

    /// The instant `ms` milliseconds after the Unix epoch.
    pub const fn from_ms(ms: i64) -> Self {
        Self(ms)
    }

    /// Milliseconds since the Unix epoch.
    pub const fn ms(self) -> i64 {
        self.0
    }

    /// The instant `at` names.
    pub fn from_utc(at: DateTime<Utc>) -> Self {
        Self(at.timestamp_millis())
    }

    /// This instant as a chrono date-time (clamped to chrono's range).
    pub fn to_utc(self) -> DateTime<Utc> {
        from_ms(self.0)
    }

    /// An RFC 3339 rendering with second precision and a `Z` suffix.
    pub fn rfc3339(self) -> String {
        rfc3339(self.0)
    }
}

impl From<i64> for Instant {
    fn from(ms: i64) -> Self {
        Self(ms)
    }
}

/// An instant `span_ms` milliseconds later (saturating).
impl Add<i64> for Instant {
    type Output = Self;

    fn add(self, span_ms: i64) -> Self {
        Self(self.0.saturating_add(span_ms))
    }
}

impl AddAssign<i64> for Instant {
    fn add_assign(&mut self, span_ms: i64) {
        *self = *self + span_ms;
    }
}

/// An instant `span_ms` milliseconds earlier (saturating).
impl Sub<i64> for Instant {
    type Output = Self;

    fn sub(self, span_ms: i64) -> Self {
        Self(self.0.saturating_sub(span_ms))
    }
}

/// The span in milliseconds from `earlier` to `self` (negative if `earlier` is later).
impl Sub for Instant {
    type Output = i64;

    fn sub(self, earlier: Self) -> i64 {
        self.0.saturating_sub(earlier.0)
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Instant {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        <i64 as utoipa::PartialSchema>::schema()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Instant {}

/// Milliseconds since the Unix epoch, the store's representation of an instant.
pub fn to_ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

/// The instant `ms` milliseconds after the Unix epoch (clamped to chrono's range).
pub fn from_ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// An RFC 3339 rendering with second precision and a `Z` suffix.
pub fn rfc3339(ms: i64) -> String {
    from_ms(ms).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A span in words: "28 days", or hours when it is not whole days.
pub fn span_words(ms: i64) -> String {
    const MINUTE: i64 = 60_000;
    const HOUR: i64 = 60 * MINUTE;
    const DAY: i64 = 24 * HOUR;
    let plural = |n: i64, unit: &str| if n == 1 { format!("1 {unit}") } else { format!("{n} {unit}s") };
    if ms >= DAY && ms % DAY == 0 {
        plural(ms / DAY, "day")
    } else if ms >= HOUR && ms % HOUR == 0 {
        plural(ms / HOUR, "hour")
    } else if ms >= HOUR {
        format!("{} h {} min", ms / HOUR, (ms % HOUR) / MINUTE)
    } else if ms >= MINUTE {
        plural(ms / MINUTE, "minute")
    } else {
        plural(ms / 1000, "second")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_in_the_largest_whole_unit() {
        assert_eq!(span_words(28 * 86_400_000), "28 days");
        assert_eq!(span_words(3_600_000), "1 hour");
        assert_eq!(span_words(6 * 3_600_000), "6 hours");
        assert_eq!(span_words(5 * 60_000), "5 minutes");
        assert_eq!(span_words(95 * 60_000), "1 h 35 min");
        assert_eq!(span_words(60_000), "1 minute");
        assert_eq!(span_words(5_000), "5 seconds");
    }

    #[test]
    fn an_instant_reads_and_writes_as_epoch_milliseconds() {
        let at = Instant::from_ms(1_700_000_000_123);
        assert_eq!(serde_json::to_string(&at).expect("json"), "1700000000123");
        assert_eq!(serde_json::from_str::<Instant>("1700000000123").expect("json"), at);
        assert_eq!(at.rfc3339(), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn spans_move_instants_and_instants_differ_by_spans() {
        let at = Instant::from_ms(10_000);
        assert_eq!((at + 5_000).ms(), 15_000);
        assert_eq!((at - 5_000).ms(), 5_000);
        assert_eq!(Instant::from_ms(15_000) - at, 5_000);
        assert_eq!(Instant::from_ms(i64::MAX) + 1, Instant::from_ms(i64::MAX));
    }
}
