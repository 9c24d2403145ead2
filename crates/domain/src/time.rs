//! Instants as the store keeps them: UTC epoch milliseconds.

use chrono::{DateTime, Utc};

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
    const DAY: i64 = 86_400_000;
    if ms % DAY == 0 {
        format!("{} days", ms / DAY)
    } else {
        format!("{} hours", ms / 3_600_000)
    }
}
