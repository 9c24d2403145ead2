//! A timeline of spans on one time axis (a train's phases and rollout
//! steps), as server-rendered SVG with its spans listed for screen readers.

use leptos::prelude::*;

use super::plot::{format_time, time_ticks};
use super::{timestamp, Span};

const WIDTH: f64 = 640.0;
const LEFT: f64 = 150.0;
const RIGHT: f64 = 12.0;
const ROW: f64 = 20.0;
const AXIS: f64 = 24.0;

/// Where the bars go.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// (x, width) per span.
    pub bars: Vec<(f64, f64)>,
    /// Time ticks: (x, label).
    pub ticks: Vec<(f64, String)>,
    pub height: f64,
}

/// Lays `spans` out on one time axis.
pub fn layout(spans: &[Span]) -> Layout {
    let t0 = spans.iter().map(|s| s.start).min().unwrap_or(0);
    let t1 = spans.iter().map(|s| s.end.max(s.start)).max().unwrap_or(1).max(t0 + 1);
    let x = |at: i64| LEFT + (at - t0) as f64 / (t1 - t0) as f64 * (WIDTH - LEFT - RIGHT);
    let bars = spans.iter().map(|s| (x(s.start), (x(s.end.max(s.start)) - x(s.start)).max(2.0))).collect();
    let ticks = time_ticks(t0, t1).into_iter().map(|at| (x(at), format_time(at, t1 - t0))).collect();
    Layout { bars, ticks, height: spans.len() as f64 * ROW + AXIS }
}

/// The spans as bars on a time axis, titled `title`.
#[component]
pub fn Gantt(spans: Vec<Span>, #[prop(into)] title: String) -> impl IntoView {
    let Layout { bars, ticks, height } = layout(&spans);
    let bottom = height - AXIS;
    let rows = spans
        .iter()
        .zip(&bars)
        .enumerate()
        .map(|(i, (span, (x, width)))| {
            let y = i as f64 * ROW;
            let words = format!("{}: {} to {}", span.label, timestamp(span.start), timestamp(span.end));
            view! {
                <g class=format!("gantt-row {}", span.class)>
                    <text x=LEFT - 6.0 y=y + 14.0 text-anchor="end">{span.label.clone()}</text>
                    <rect x=format!("{x:.1}") y=y + 3.0 width=format!("{width:.1}") height=ROW - 6.0>
                        <title>{words}</title>
                    </rect>
                </g>
            }
        })
        .collect_view();
    let ticks = ticks
        .into_iter()
        .map(|(x, label)| {
            let x = format!("{x:.1}");
            view! {
                <g class="tick">
                    <line x1=x.clone() x2=x.clone() y1="0" y2=bottom></line>
                    <text x=x y=bottom + 16.0 text-anchor="middle">{label}</text>
                </g>
            }
        })
        .collect_view();
    let listed = spans
        .iter()
        .map(|s| view! { <li>{format!("{}: {} to {} (UTC)", s.label, timestamp(s.start), timestamp(s.end))}</li> })
        .collect_view();
    view! {
        <figure class="gantt">
            <svg class="chart" viewBox=format!("0 0 {WIDTH} {height}") role="img" aria-label=format!("{title}; the spans are listed below")>
                <title>{title.clone()}</title>
                {ticks}
                {rows}
            </svg>
            <details class="chart-data">
                <summary>{format!("{title} as a list")}</summary>
                <ul>{listed}</ul>
            </details>
        </figure>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_span_gets_a_bar_in_time_order_on_one_axis() {
        let span = |label: &str, start: i64, end: i64| Span { label: label.into(), class: "p".into(), start, end };
        let spans =
            [span("planning", 0, 600_000), span("preflight", 600_000, 900_000), span("canary", 900_000, 1_800_000)];
        let Layout { bars, ticks, height } = layout(&spans);
        assert_eq!(bars.len(), 3);
        assert!((bars[0].0 - LEFT).abs() < 1e-9, "the first span starts at the axis");
        assert!(bars[1].0 > bars[0].0 && bars[2].0 > bars[1].0);
        assert!((bars[2].0 + bars[2].1 - (WIDTH - RIGHT)).abs() < 1e-9, "the last ends at the right edge");
        assert_eq!(height, 3.0 * ROW + AXIS);
        assert!(ticks.len() >= 3, "minute ticks over half an hour: {ticks:?}");
        assert_eq!(ticks[0].1, "00:00");
    }
}
