//! Lengths of planning, cutover and freeze windows.

use std::time::Duration;

use chrono::Duration as Span;

use super::Cadence;
use crate::time::Instant;

/// A half-open span of time `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// First instant inside the window.
    pub start: Instant,
    /// First instant after the window.
    pub end: Instant,
}

impl Window {
    /// Whether the window and `[start, end)` share at least one instant.
    pub fn overlaps(&self, start: Instant, end: Instant) -> bool {
        self.start < end && start < self.end
    }
}

/// The windows of a freeze that overlap `[from, to)`: a one-off freeze
/// (`cadence` is `None`) starting at `starts_at`, or one per occurrence of
/// `cadence`, each lasting `duration_ms`.
pub fn freeze_windows(
    cadence: Option<&Cadence>,
    starts_at: Instant,
    duration_ms: i64,
    from: Instant,
    to: Instant,
) -> Vec<Window> {
    let starts: Vec<Instant> = match cadence {
        None => vec![starts_at],
        Some(cadence) => cadence
            .occurrences(from.to_utc() - Span::milliseconds(duration_ms), to.to_utc())
            .into_iter()
            .map(Instant::from_utc)
            .collect(),
    };
    starts
        .into_iter()
        .map(|start| Window { start, end: start + duration_ms })
        .filter(|w| w.overlaps(from, to))
        .collect()
}

/// What a freeze does to a train whose cutover window is `[cutover_at, closes_at)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FreezeEffect {
    /// No further production step until the freeze ends: the train is in
    /// flight, or the freeze begins after its cutover.
    Suspended,
    /// The cutover waits until the freeze ends.
    Moved,
}

impl FreezeEffect {
    /// `suspended` or `moved`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Suspended => "suspended",
            Self::Moved => "moved",
        }
    }
}

/// The first of `windows` that meets the cutover window `[cutover_at, closes_at)`,
/// and what it does to the train (`in_flight`: its rollout has started). The
/// freeze preview and the projected calendar both answer with this.
pub fn freeze_effect(
    windows: &[Window],
    cutover_at: Instant,
    closes_at: Instant,
    in_flight: bool,
) -> Option<(FreezeEffect, Window)> {
    let window = windows.iter().find(|w| w.overlaps(cutover_at, closes_at))?;
    let effect = if in_flight || cutover_at < window.start { FreezeEffect::Suspended } else { FreezeEffect::Moved };
    Some((effect, *window))
}

/// Parses a window length such as `3d`, `2h` or `1h 30m` into milliseconds.
/// Zero and lengths over a year are refused.
pub fn parse_window(text: &str) -> Result<i64, String> {
    const MAX: Duration = Duration::from_secs(366 * 24 * 3600);
    let length = humantime::parse_duration(text.trim())
        .map_err(|e| format!("\"{text}\" is not a length of time like \"3d\", \"2h\" or \"90m\" ({e})"))?;
    if length.is_zero() {
        return Err(format!("\"{text}\" is zero; a window must last some time"));
    }
    if length > MAX {
        return Err(format!("\"{text}\" is longer than a year"));
    }
    i64::try_from(length.as_millis()).map_err(|_| format!("\"{text}\" is too long"))
}

/// Parses a soak time: like [`parse_window`], but zero ("0s") is allowed.
pub fn parse_soak(text: &str) -> Result<i64, String> {
    match humantime::parse_duration(text.trim()) {
        Ok(length) if length.is_zero() => Ok(0),
        _ => parse_window(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_freeze_moves_a_cutover_inside_it_and_suspends_one_it_begins_after() {
        let hour = 3_600_000;
        let freeze = [Window { start: Instant::from_ms(10 * hour), end: Instant::from_ms(20 * hour) }];
        let at = |h: i64| Instant::from_ms(h * hour);
        assert_eq!(freeze_effect(&freeze, at(12), at(14), false), Some((FreezeEffect::Moved, freeze[0])));
        assert_eq!(freeze_effect(&freeze, at(9), at(11), false).map(|(e, _)| e), Some(FreezeEffect::Suspended));
        assert_eq!(freeze_effect(&freeze, at(12), at(14), true).map(|(e, _)| e), Some(FreezeEffect::Suspended));
        assert_eq!(freeze_effect(&freeze, at(20), at(22), false), None, "the window ends as the cutover begins");
        assert_eq!(freeze_effect(&freeze, at(8), at(10), false), None, "the cutover window closes as it begins");
    }

    #[test]
    fn window_lengths_read_as_people_write_them() {
        assert_eq!(parse_window("3d"), Ok(3 * 24 * 3600 * 1000));
        assert_eq!(parse_window("1h 30m"), Ok(90 * 60 * 1000));
    }

    #[test]
    fn a_soak_may_be_zero_but_not_nonsense() {
        assert_eq!(parse_soak("0s"), Ok(0));
        assert_eq!(parse_soak("15m"), Ok(15 * 60 * 1000));
        assert!(parse_soak("a while").is_err());
    }

    #[test]
    fn zero_and_nonsense_lengths_are_refused_with_the_reason() {
        assert!(parse_window("0h").expect_err("zero").contains("zero"));
        assert!(parse_window("soon").expect_err("nonsense").contains("length of time"));
    }

    #[test]
    fn a_recurring_freeze_yields_one_window_per_occurrence_in_range() {
        let start = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).expect("date");
        let monthly = Cadence::parse("FREQ=MONTHLY;BYMONTHDAY=-1", "UTC", start).expect("cadence");
        let day = 86_400_000;
        let jan_1 = Instant::from_utc(start.and_hms_opt(0, 0, 0).expect("time").and_utc());
        // The last-of-month freeze of December 2025 is not in range; 31 Jan and 28 Feb are.
        let found = freeze_windows(Some(&monthly), jan_1, 2 * day, jan_1, jan_1 + 59 * day);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].start, jan_1 + 30 * day);
        assert_eq!(found[1].end - found[1].start, 2 * day);
    }

    #[test]
    fn windows_overlap_only_when_they_share_an_instant() {
        let at = Instant::from_ms;
        let w = Window { start: at(10), end: at(20) };
        assert!(w.overlaps(at(19), at(30)));
        assert!(!w.overlaps(at(20), at(30)));
    }
}
