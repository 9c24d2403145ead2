//! The leadership panels beside the KPIs: the DORA keys per domain and the
//! critical-region rollout map (a grid of region tiles, the critical ones
//! first, each with its newest production step in words as well as colour).

use leptos::prelude::*;

use super::{DomainDora, RegionTile, Trend};
use crate::chart::timestamp;
use crate::wide_table::WideTable;

/// The DORA keys, one row per domain.
#[component]
pub(super) fn DoraKeys(domains: Vec<DomainDora>) -> impl IntoView {
    let headers: Vec<String> =
        domains.first().map(|d| d.keys.iter().map(|k| k.name.clone()).collect()).unwrap_or_default();
    (!domains.is_empty()).then(|| {
        view! {
            <section class="dora" aria-labelledby="dora-title">
                <h2 id="dora-title">"DORA keys by domain · last 28 days"</h2>
                <WideTable label="DORA keys by domain">
                    <table class="kpi-table dora-table">
                        <thead>
                            <tr>
                                <th scope="col">"Domain"</th>
                                {headers.into_iter().map(|h| view! { <th scope="col">{h}</th> }).collect_view()}
                            </tr>
                        </thead>
                        <tbody>
                            {domains
                                .into_iter()
                                .map(|domain| {
                                    view! {
                                        <tr data-domain=domain.domain.clone() style=format!("--domain: {}", domain.colour)>
                                            <th scope="row" class="domain-name">{domain.domain.clone()}</th>
                                            {domain
                                                .keys
                                                .into_iter()
                                                .map(|kpi| {
                                                    let trend = match kpi.trend() {
                                                        Trend::Better => "trend-better",
                                                        Trend::Worse => "trend-worse",
                                                        Trend::Steady | Trend::Unknown => "trend-steady",
                                                    };
                                                    view! {
                                                        <td data-key=kpi.code.clone()>
                                                            <strong class="kpi-value">{kpi.shown()}</strong>
                                                            <span class=format!("kpi-trend {trend}")>{kpi.trend_words()}</span>
                                                        </td>
                                                    }
                                                })
                                                .collect_view()}
                                        </tr>
                                    }
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                </WideTable>
            </section>
        }
    })
}

/// The declared regions as tiles, critical first, each with its newest production step.
#[component]
pub(super) fn RegionMap(tiles: Vec<RegionTile>) -> impl IntoView {
    (!tiles.is_empty()).then(|| {
        view! {
            <section class="region-map" aria-labelledby="region-map-title">
                <h2 id="region-map-title">"Critical-region rollout map"</h2>
                <ul class="region-tiles">
                    {tiles
                        .into_iter()
                        .map(|tile| {
                            let outcome = tile.last.as_ref().map_or("none", |l| l.outcome.as_str()).to_owned();
                            let icon = match outcome.as_str() {
                                "succeeded" => "✔",
                                "failed" => "✖",
                                "running" => "…",
                                _ => "–",
                            };
                            let last = match &tile.last {
                                Some(last) => view! {
                                    <span class="region-last">
                                        {format!("{icon} {} · ", last.outcome)}
                                        <a href=format!("/trains/{}", last.train_id)>{last.train.clone()}</a>
                                        {format!(" · {} · {} UTC", last.step, timestamp(last.at))}
                                    </span>
                                }
                                .into_any(),
                                None => view! { <span class="region-last">"– no production step yet"</span> }.into_any(),
                            };
                            view! {
                                <li class=format!("region-tile outcome-{outcome}") class:critical-region=tile.critical data-region=tile.name.clone()>
                                    <strong>{tile.name.clone()}</strong>
                                    {tile.critical.then(|| view! { " " <span class="critical-mark">"critical"</span> })}
                                    {(!tile.description.is_empty()).then(|| view! { <span class="region-description">{tile.description.clone()}</span> })}
                                    {last}
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            </section>
        }
    })
}
