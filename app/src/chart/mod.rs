//! Server-rendered SVG charts over time: lines, threshold rules and event
//! markers, with a title, labelled axes and units, and the data as a table
//! for people who do not read the picture. The marks' geometry is in
//! [`plot`]; this module draws it.

mod gantt;
mod plot;

pub use gantt::{layout as gantt_layout, Gantt};
pub use plot::{nice_ticks, plot, Plot};
pub use railyard_views::chart::{format_value, Marker, Rule, Series, Span, TimeChart};

use chrono::DateTime;
use leptos::prelude::*;

/// The chart as SVG, followed by its data in a collapsed table.
#[component]
pub fn TimeChartView(chart: TimeChart, #[prop(into)] id: String) -> impl IntoView {
    let plot = plot(&chart);
    let (left, top, right, bottom) = plot.area;
    let title_id = format!("{id}-title");
    let desc_id = format!("{id}-desc");
    let labelled = format!("{title_id} {desc_id}");
    let y_label_at = format!("translate(14 {:.1}) rotate(-90)", (top + bottom) / 2.0);
    let lines = chart
        .series
        .iter()
        .zip(&plot.lines)
        .map(|(series, points)| {
            view! {
                <polyline class=format!("series {}", series.class) points=points.clone() fill="none">
                    <title>{series.name.clone()}</title>
                </polyline>
            }
        })
        .collect_view();
    let rules = plot
        .rules
        .iter()
        .map(|(y, label)| {
            let y = format!("{y:.1}");
            view! {
                <g class="rule">
                    <line x1=left x2=right y1=y.clone() y2=y.clone()></line>
                    <text x=right - 4.0 y=y text-anchor="end" dy="-3">{label.clone()}</text>
                </g>
            }
        })
        .collect_view();
    let markers = plot
        .markers
        .iter()
        .map(|(x, label)| {
            let x = format!("{x:.1}");
            view! {
                <line class="marker" x1=x.clone() x2=x y1=top y2=bottom>
                    <title>{label.clone()}</title>
                </line>
            }
        })
        .collect_view();
    let y_ticks = plot
        .y_ticks
        .iter()
        .map(|(y, label)| {
            let y = format!("{y:.1}");
            view! {
                <g class="tick">
                    <line x1=left x2=right y1=y.clone() y2=y.clone()></line>
                    <text x=left - 6.0 y=y text-anchor="end" dy="4">{label.clone()}</text>
                </g>
            }
        })
        .collect_view();
    let x_ticks = plot
        .x_ticks
        .iter()
        .map(|(x, label)| {
            view! {
                <text class="tick" x=format!("{x:.1}") y=bottom + 16.0 text-anchor="middle">
                    {label.clone()}
                </text>
            }
        })
        .collect_view();
    let summary = chart.summary();
    view! {
        <figure class="time-chart">
            <svg
                class="chart"
                viewBox=format!("0 0 {} {}", plot::WIDTH, plot::HEIGHT)
                preserveAspectRatio="xMidYMid meet"
                role="img"
                aria-labelledby=labelled
            >
                <title id=title_id>{chart.title.clone()}</title>
                <desc id=desc_id>{summary}</desc>
                {y_ticks}
                {x_ticks}
                <text class="axis-label" transform=y_label_at text-anchor="middle">
                    {chart.y_label.clone()}
                </text>
                <text class="axis-label" x=(left + right) / 2.0 y=plot::HEIGHT - 2.0 text-anchor="middle">
                    "time (UTC)"
                </text>
                {rules}
                {markers}
                {lines}
            </svg>
            <figcaption>
                <strong>{chart.title.clone()}</strong>
                <Legend chart=chart.clone()/>
            </figcaption>
            <DataTable chart/>
        </figure>
    }
    .into_any()
}

/// What each line and mark means, in words and line style.
#[component]
fn Legend(chart: TimeChart) -> impl IntoView {
    view! {
        <ul class="chart-legend">
            {chart
                .series
                .into_iter()
                .map(|s| view! { <li class=format!("key {}", s.class)>{s.name}</li> })
                .collect_view()}
            {(!chart.rules.is_empty()).then(|| view! { <li class="key rule">"threshold (dashed)"</li> })}
            {(!chart.markers.is_empty()).then(|| view! { <li class="key marker">"train cutover (vertical line)"</li> })}
        </ul>
    }
}

/// The chart's data: one row per instant, one column per series, then the marked events.
#[component]
fn DataTable(chart: TimeChart) -> impl IntoView {
    let mut instants: Vec<i64> = chart.series.iter().flat_map(|s| s.points.iter().map(|&(at, _)| at)).collect();
    instants.sort_unstable();
    instants.dedup();
    let value_at = |series: &Series, at: i64| {
        series.points.iter().find(|&&(t, _)| t == at).map(|&(_, v)| format_value(v)).unwrap_or_default()
    };
    let rows = instants
        .iter()
        .map(|&at| {
            view! {
                <tr>
                    <th scope="row">{timestamp(at)}</th>
                    {chart.series.iter().map(|s| view! { <td>{value_at(s, at)}</td> }).collect_view()}
                </tr>
            }
        })
        .collect_view();
    view! {
        <details class="chart-data">
            <summary>{format!("{} as a table", chart.title)}</summary>
            <table>
                <thead>
                    <tr>
                        <th scope="col">"Time (UTC)"</th>
                        {chart.series.iter().map(|s| view! { <th scope="col">{s.name.clone()}</th> }).collect_view()}
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
            {(!chart.markers.is_empty())
                .then(|| {
                    view! {
                        <ul class="chart-events">
                            {chart
                                .markers
                                .iter()
                                .map(|m| view! { <li>{format!("{}: {}", timestamp(m.at), m.label)}</li> })
                                .collect_view()}
                        </ul>
                    }
                })}
        </details>
    }
    .into_any()
}

/// `2026-11-27 14:05`, UTC.
pub fn timestamp(at: i64) -> String {
    DateTime::from_timestamp_millis(at).unwrap_or_default().format("%Y-%m-%d %H:%M").to_string()
}
