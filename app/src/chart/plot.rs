//! The geometry of a time chart: scales, tick values and where every mark
//! goes, computed from a [`TimeChart`]. Pure, so tests check the marks
//! without rendering.

use chrono::DateTime;

use super::{format_value, TimeChart};

/// The drawing's size in SVG units; the plot area sits inside the margins.
pub const WIDTH: f64 = 640.0;
pub const HEIGHT: f64 = 240.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 36.0;

/// Where the marks of a chart go.
#[derive(Debug, Clone, PartialEq)]
pub struct Plot {
    /// One `points` attribute per series, in the chart's order.
    pub lines: Vec<String>,
    /// Horizontal threshold lines: y and label.
    pub rules: Vec<(f64, String)>,
    /// Vertical event markers: x and label.
    pub markers: Vec<(f64, String)>,
    /// Value ticks: y and label.
    pub y_ticks: Vec<(f64, String)>,
    /// Time ticks: x and label.
    pub x_ticks: Vec<(f64, String)>,
    /// The plot area: left, top, right, bottom.
    pub area: (f64, f64, f64, f64),
}

/// A linear map from a data interval onto a drawing interval.
#[derive(Debug, Clone, Copy)]
struct Scale {
    from: (f64, f64),
    to: (f64, f64),
}

impl Scale {
    fn map(self, value: f64) -> f64 {
        let span = self.from.1 - self.from.0;
        let t = if span == 0.0 { 0.5 } else { (value - self.from.0) / span };
        self.to.0 + t * (self.to.1 - self.to.0)
    }
}

/// Lays `chart` out.
pub fn plot(chart: &TimeChart) -> Plot {
    let area = (LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM);
    let (t0, t1) = chart.span();
    let x = Scale { from: (t0 as f64, t1 as f64), to: (area.0, area.2) };
    let (low, high) = value_range(chart);
    let y_ticks = nice_ticks(low, high, 5);
    let (low, high) = (y_ticks.first().copied().unwrap_or(low), y_ticks.last().copied().unwrap_or(high));
    let y = Scale { from: (low, high), to: (area.3, area.1) };
    let lines = chart
        .series
        .iter()
        .map(|series| {
            series
                .points
                .iter()
                .map(|&(at, value)| format!("{:.1},{:.1}", x.map(at as f64), y.map(value.clamp(low, high))))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let rules = chart.rules.iter().map(|rule| (y.map(rule.value), rule.label.clone())).collect();
    let markers = chart
        .markers
        .iter()
        .filter(|marker| (t0..=t1).contains(&marker.at))
        .map(|marker| (x.map(marker.at as f64), marker.label.clone()))
        .collect();
    let y_ticks = y_ticks.into_iter().map(|v| (y.map(v), format_value(v))).collect();
    let x_ticks = time_ticks(t0, t1).into_iter().map(|at| (x.map(at as f64), format_time(at, t1 - t0))).collect();
    Plot { lines, rules, markers, y_ticks, x_ticks, area }
}

/// The value range to show: every point and every rule, and the chart's floor if it sets one.
fn value_range(chart: &TimeChart) -> (f64, f64) {
    let values = chart
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|&(_, v)| v))
        .chain(chart.rules.iter().map(|r| r.value))
        .chain(chart.floor)
        .filter(|v| v.is_finite());
    let (low, high) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if low > high {
        (0.0, 1.0)
    } else if low == high {
        (low - 1.0, high + 1.0)
    } else {
        (low, high)
    }
}

/// About `count` round values (1, 2 or 5 × 10ⁿ apart) covering `[low, high]`.
pub fn nice_ticks(low: f64, high: f64, count: usize) -> Vec<f64> {
    let raw = (high - low) / count.max(1) as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * magnitude).find(|s| *s >= raw).unwrap_or(magnitude);
    let first = (low / step).floor() as i64;
    let last = (high / step).ceil() as i64;
    (first..=last).map(|i| i as f64 * step).collect()
}

/// Tick instants at whole days (or hours, for spans under three days), five or six of them.
pub(crate) fn time_ticks(t0: i64, t1: i64) -> Vec<i64> {
    const HOUR: i64 = 3_600_000;
    const DAY: i64 = 24 * HOUR;
    let span = (t1 - t0).max(1);
    let unit = if span >= 3 * DAY { DAY } else { HOUR };
    let per = ((span / unit) / 5).max(1) * unit;
    if span < 3 * HOUR {
        // Short spans (a train's phases) tick every few minutes.
        let minutes = [1, 2, 5, 10, 15, 30, 60].into_iter().map(|m| m * 60_000).find(|m| span / m <= 6).unwrap_or(HOUR);
        let first = (t0 + minutes - 1).div_euclid(minutes) * minutes;
        return (0..).map(|i| first + i * minutes).take_while(|at| *at <= t1).collect();
    }
    let first = (t0 + per - 1).div_euclid(per) * per;
    (0..).map(|i| first + i * per).take_while(|at| *at <= t1).collect()
}

pub(crate) fn format_time(at: i64, span: i64) -> String {
    let at = DateTime::from_timestamp_millis(at).unwrap_or_default();
    if span >= 3 * 86_400_000 {
        at.format("%b %-d").to_string()
    } else {
        at.format("%H:%M").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::{Marker, Rule, Series};

    const DAY: i64 = 86_400_000;

    fn chart() -> TimeChart {
        TimeChart {
            title: "Budget".into(),
            y_label: "budget left (%)".into(),
            series: vec![Series {
                name: "left".into(),
                class: "budget".into(),
                points: (0..=28).map(|d| (d * DAY, 100.0 - d as f64)).collect(),
            }],
            rules: vec![Rule { label: "exhausted".into(), value: 0.0 }],
            markers: vec![
                Marker { label: "a".into(), at: 3 * DAY },
                Marker { label: "b".into(), at: 20 * DAY },
                Marker { label: "outside".into(), at: 40 * DAY },
            ],
            floor: None,
        }
    }

    #[test]
    fn one_marker_per_event_inside_the_span() {
        let plot = plot(&chart());
        let labels: Vec<_> = plot.markers.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(labels, ["a", "b"]);
        assert!(plot.markers[0].0 < plot.markers[1].0, "later events sit further right");
    }

    #[test]
    fn rules_and_points_stay_inside_the_plot_area() {
        let plot = plot(&chart());
        let (left, top, right, bottom) = plot.area;
        let (y, _) = plot.rules[0];
        assert!((top..=bottom).contains(&y), "the zero line is drawn: {y}");
        for point in plot.lines[0].split(' ') {
            let (px, py) = point.split_once(',').unwrap_or_default();
            let (px, py): (f64, f64) = (px.parse().unwrap_or(-1.0), py.parse().unwrap_or(-1.0));
            assert!((left..=right).contains(&px) && (top..=bottom).contains(&py), "{point}");
        }
        assert_eq!(plot.lines[0].split(' ').count(), 29);
    }

    #[test]
    fn ticks_are_round_and_cover_the_values() {
        assert_eq!(nice_ticks(0.0, 100.0, 5), [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        assert_eq!(nice_ticks(-0.3, 14.4, 5), [-5.0, 0.0, 5.0, 10.0, 15.0]);
        let plot = plot(&chart());
        let labels: Vec<_> = plot.y_ticks.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(labels.first(), Some(&"0"));
        assert_eq!(labels.last(), Some(&"100"));
        assert!(plot.x_ticks.len() >= 4, "{:?}", plot.x_ticks);
        assert_eq!(plot.x_ticks[0].1, "Jan 1");
    }
}
