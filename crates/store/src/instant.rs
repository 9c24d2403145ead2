//! Instant columns: epoch milliseconds in SQL, [`Instant`] in rows.
//! A non-null column decodes with `#[sqlx(try_from = "i64")]`; a nullable
//! one with `#[sqlx(try_from = "MaybeInstant")]`.

use railyard_domain::time::Instant;

/// A nullable instant column as read (NULL reads as `None`).
#[derive(Debug, Clone, Copy, sqlx::Type)]
#[sqlx(transparent)]
pub struct MaybeInstant(Option<i64>);

impl From<MaybeInstant> for Option<Instant> {
    fn from(column: MaybeInstant) -> Self {
        column.0.map(Instant::from_ms)
    }
}

/// The value to bind for a nullable instant column.
pub fn nullable(at: Option<Instant>) -> Option<i64> {
    at.map(Instant::ms)
}
