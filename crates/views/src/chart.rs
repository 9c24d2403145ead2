//! Charts as data: values over time with thresholds and event markers, and
//! timelines of spans. The app draws them as SVG.

use serde::{Deserialize, Serialize};

/// A chart of values over time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeChart {
    pub title: String,
    /// The value axis, with its unit: "budget left (%)".
    pub y_label: String,
    pub series: Vec<Series>,
    /// Horizontal lines: thresholds and limits.
    pub rules: Vec<Rule>,
    /// Vertical lines: events such as train cutovers.
    pub markers: Vec<Marker>,
    /// A value the axis always includes (e.g. 0).
    pub floor: Option<f64>,
}

/// One line of points (epoch ms, value).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub name: String,
    /// CSS class of the line, which also sets its dash pattern.
    pub class: String,
    pub points: Vec<(i64, f64)>,
}

/// A threshold drawn across the chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub label: String,
    pub value: f64,
}

/// An event at one instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Marker {
    pub label: String,
    pub at: i64,
}

impl TimeChart {
    /// The first and last instant of any series.
    pub fn span(&self) -> (i64, i64) {
        let instants = self.series.iter().flat_map(|s| s.points.iter().map(|&(at, _)| at));
        let (first, last) = instants.fold((i64::MAX, i64::MIN), |(lo, hi), at| (lo.min(at), hi.max(at)));
        if first > last {
            (0, 1)
        } else {
            (first, last.max(first + 1))
        }
    }

    /// What the chart shows, in words, for screen readers.
    pub fn summary(&self) -> String {
        let lines = self
            .series
            .iter()
            .filter_map(|s| {
                let (first, last) = (s.points.first()?, s.points.last()?);
                Some(format!("{} from {} to {}", s.name, format_value(first.1), format_value(last.1)))
            })
            .collect::<Vec<_>>();
        let mut text = format!("{} ({}): {}.", self.title, self.y_label, lines.join("; "));
        if !self.rules.is_empty() {
            let rules: Vec<_> =
                self.rules.iter().map(|r| format!("{} at {}", r.label, format_value(r.value))).collect();
            text.push_str(&format!(" Lines: {}.", rules.join(", ")));
        }
        if !self.markers.is_empty() {
            text.push_str(&format!(" {} marked events.", self.markers.len()));
        }
        text
    }
}

/// One bar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub label: String,
    /// CSS class of the bar (its phase or outcome).
    pub class: String,
    pub start: i64,
    pub end: i64,
}

/// A tick label: no more digits than the value needs.
pub fn format_value(value: f64) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}
