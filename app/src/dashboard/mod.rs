//! The executive dashboard above the calendar (`/`): the next cutovers with
//! a live countdown, the seed's KPIs with their trend (M1 release success,
//! M3 time to roll back, M10 gate pass rate, M9 per region, the compliance
//! gate pass rate), the DORA keys per domain, error budgets per domain (M7)
//! and the critical-region rollout map. Everything is in the server-rendered
//! HTML; once hydrated, the countdowns tick.

mod leadership;
mod next_train;

pub use next_train::FindNextTrain;

use railyard_views::dashboard as model;

pub use model::{
    countdown, duration, show, Countdown, Dashboard, DomainBudgetStatus, DomainDora, KindKpis, Kpi, KpiUnit,
    NextCutover, NextTrainAnswer, PlannedTrain, RegionResult, RegionTile, Trend,
};

use leptos::prelude::*;

use crate::viewer_time::{clock_time, ticking_now, ViewerZone};
use crate::wide_table::WideTable;

/// The dashboard, for one domain or all.
#[server(prefix = "/rpc", endpoint = "dashboard")]
pub async fn load_dashboard(domain: Option<String>) -> Result<Dashboard, ServerFnError> {
    let (backend, caller) = crate::backend::backend_and_caller()?;
    let domain = domain.filter(|d| !d.is_empty());
    backend.dashboard(&caller, domain).await.map_err(crate::backend::BackendError::into_server_error)
}

/// The next cutover of a definition.
#[server(prefix = "/rpc", endpoint = "countdown")]
pub async fn load_countdown(definition: String) -> Result<Countdown, ServerFnError> {
    let (backend, caller) = crate::backend::backend_and_caller()?;
    backend.countdown(&caller, definition).await.map_err(crate::backend::BackendError::into_server_error)
}

/// `/embed/countdown?definition=…`: the time to a definition's next cutover, ticking once hydrated.
#[component]
pub fn EmbeddedCountdown() -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    let countdown_of = Resource::new(move || query.read().get("definition").unwrap_or_default(), load_countdown);
    let zone = crate::viewer_time::provide_viewer_zone();
    crate::loaded(countdown_of, "Loading…", move |found| view! { <CountdownPanel found zone/> })
}

#[component]
fn CountdownPanel(found: Countdown, zone: ViewerZone) -> impl IntoView {
    let now = ticking_now(found.now);
    let ViewerZone(zone_name) = zone;
    let Some(next) = found.next else {
        return view! {
            <section class="embed-countdown">
                <p class="countdown-name">{found.definition}</p>
                <p class="countdown-big">"No cutover scheduled"</p>
            </section>
        }
        .into_any();
    };
    let at = next.cutover_at;
    view! {
        <section class="embed-countdown" style=format!("--domain: {}", next.colour)>
            <p class="countdown-name">
                <crate::KindMark kind=next.kind/>
                " "
                {format!("{} · {}", next.name, next.domain)}
            </p>
            <p class="countdown-big countdown" aria-live="off">{move || countdown(at, now.get())}</p>
            <p class="countdown-when">
                "cutover at " <time>{move || clock_time(at, zone_name.get().is_some())}</time>
                {move || format!(" ({})", zone_name.get().unwrap_or_else(|| "UTC".to_owned()))}
                {format!(" · {}", next.state.replace('_', " "))}
            </p>
        </section>
    }
    .into_any()
}

/// The next cutovers, the KPIs and the budgets.
#[component]
pub fn DashboardView(dashboard: Dashboard, zone: ViewerZone) -> impl IntoView {
    let now = ticking_now(dashboard.now);
    let today =
        chrono::DateTime::from_timestamp_millis(dashboard.now).unwrap_or_default().format("%Y-%m-%d").to_string();
    view! {
        <section class="dashboard" aria-label="Release health">
            <NextCutovers next=dashboard.next now zone/>
            <next_train::NextTrainForm domains=dashboard.domains today zone/>
            <section class="kpis" aria-labelledby="kpis-title">
                <h2 id="kpis-title">"Last 28 days"</h2>
                <ul class="kpi-cards">
                    {dashboard.kpis.into_iter().chain(dashboard.compliance).map(|kpi| view! { <KpiCard kpi/> }).collect_view()}
                </ul>
            </section>
            <leadership::DoraKeys domains=dashboard.dora/>
            <crate::train::Drift lines=dashboard.drift/>
            <Kinds kinds=dashboard.kinds/>
            <div class="dashboard-pair">
                <Regions regions=dashboard.regions critical=dashboard.critical_regions/>
                <Budgets budgets=dashboard.budgets/>
            </div>
            <leadership::RegionMap tiles=dashboard.region_map/>
        </section>
    }
    .into_any()
}

#[component]
fn NextCutovers(next: Vec<NextCutover>, now: ReadSignal<i64>, zone: ViewerZone) -> impl IntoView {
    let ViewerZone(zone_name) = zone;
    view! {
        <section class="next-cutovers" aria-labelledby="next-title">
            <h2 id="next-title">"Next cutovers"</h2>
            {next.is_empty().then(|| view! { <p class="empty">"No cutover scheduled in the next two weeks."</p> })}
            <ol>
                {next
                    .into_iter()
                    .map(|train| {
                        let at = train.cutover_at;
                        view! {
                            <li class="next-cutover" style=format!("--domain: {}", train.colour)>
                                <a href=format!("/trains/{}", train.id)>{train.name.clone()}</a>
                                <crate::KindMark kind=train.kind/>
                                <span class="countdown" data-cutover-at=at>{move || countdown(at, now.get())}</span>
                                <span class="next-when">
                                    {move || clock_time(at, zone_name.get().is_some())}
                                    {format!(" · {} · {}", train.domain, train.state.replace('_', " "))}
                                </span>
                            </li>
                        }
                    })
                    .collect_view()}
            </ol>
        </section>
    }
    .into_any()
}

#[component]
fn KpiCard(kpi: Kpi) -> impl IntoView {
    let trend_class = match kpi.trend() {
        Trend::Better => "trend-better",
        Trend::Worse => "trend-worse",
        Trend::Steady | Trend::Unknown => "trend-steady",
    };
    let basis = format!("{} observations", kpi.observations);
    view! {
        <li class="kpi-card">
            <span class="kpi-name">{format!("{} · {}", kpi.code, kpi.name)}</span>
            <strong class="kpi-value">{kpi.shown()}</strong>
            <span class=format!("kpi-trend {trend_class}")>{kpi.trend_words()}</span>
            <Sparkline kpi=kpi.clone()/>
            <span class="kpi-basis">{basis}</span>
        </li>
    }
}

/// The KPI per week as a tiny line; its label reads the values out.
#[component]
fn Sparkline(kpi: Kpi) -> impl IntoView {
    let points = kpi.sparkline(120.0, 28.0);
    let words: Vec<String> =
        kpi.weekly.iter().map(|v| v.map_or_else(|| "none".to_owned(), |v| show(kpi.unit, v))).collect();
    let label = format!("{} per week over {} weeks, oldest first: {}", kpi.name, words.len(), words.join(", "));
    view! {
        <svg class="sparkline" viewBox="0 0 120 28" width="120" height="28" role="img" aria-label=label>
            <polyline points=points fill="none"></polyline>
        </svg>
    }
}

/// M1 and M3 per kind of train, so rehearsals and emergencies do not blur the regular figures.
#[component]
fn Kinds(kinds: Vec<KindKpis>) -> impl IntoView {
    (!kinds.is_empty()).then(|| {
        view! {
            <section class="kinds" aria-labelledby="kinds-title">
                <h2 id="kinds-title">"M1 and M3 by kind of train"</h2>
                <WideTable label="M1 and M3 by kind of train">
                    <table class="kpi-table">
                        <thead>
                            <tr>
                                <th scope="col">"Kind"</th>
                                <th scope="col">"Trains"</th>
                                <th scope="col">"M1 · release success"</th>
                                <th scope="col">"M3 · mean time to roll back"</th>
                                <th scope="col">"Rollbacks"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {kinds
                                .into_iter()
                                .map(|k| {
                                    view! {
                                        <tr data-kind=k.kind.as_str()>
                                            <th scope="row">{k.kind.as_str()}</th>
                                            <td>{k.success.observations}</td>
                                            <td>{k.success.shown()}</td>
                                            <td>{k.rollback.shown()}</td>
                                            <td>{k.rollback.observations}</td>
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

/// M9 per region, critical regions first and marked.
#[component]
fn Regions(regions: Vec<Kpi>, critical: Vec<String>) -> impl IntoView {
    if regions.is_empty() {
        return view! {
            <section class="regions" aria-labelledby="regions-title">
                <h2 id="regions-title">"M9 · rollout success by region"</h2>
                <p class="empty">"No production step finished in the last 28 days."</p>
            </section>
        }
        .into_any();
    }
    view! {
        <section class="regions" aria-labelledby="regions-title">
            <h2 id="regions-title">"M9 · rollout success by region"</h2>
            <WideTable label="M9, rollout success by region">
                <table class="kpi-table">
                    <thead>
                        <tr>
                            <th scope="col">"Region"</th>
                            <th scope="col">"Success"</th>
                            <th scope="col">"Trend"</th>
                            <th scope="col">"Steps"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {regions
                            .into_iter()
                            .map(|kpi| {
                                let is_critical = critical.contains(&kpi.name);
                                let name = if is_critical {
                                    view! {
                                        <th scope="row">
                                            {kpi.name.clone()}
                                            " "
                                            <span class="critical-mark">"critical"</span>
                                        </th>
                                    }
                                        .into_any()
                                } else {
                                    view! { <th scope="row">{kpi.name.clone()}</th> }.into_any()
                                };
                                view! {
                                    <tr class:critical-region=is_critical>
                                        {name}
                                        <td>{kpi.shown()}</td>
                                        <td>{kpi.trend_words()}</td>
                                        <td>{kpi.observations}</td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </WideTable>
        </section>
    }
    .into_any()
}

#[component]
fn Budgets(budgets: Vec<DomainBudgetStatus>) -> impl IntoView {
    view! {
        <section class="domain-budget-status" aria-labelledby="budget-status-title">
            <h2 id="budget-status-title">
                <a href="/budgets">"M7 · error budgets by domain"</a>
            </h2>
            {budgets.is_empty().then(|| view! { <p class="empty">"No service declares an SLO."</p> })}
            <ul>
                {budgets
                    .into_iter()
                    .map(|b| {
                        let (class, words) = if !b.exhausted.is_empty() {
                            ("exhausted", format!("✗ exhausted: {}", b.exhausted.join(", ")))
                        } else if !b.burning.is_empty() {
                            ("burning", format!("▲ burning: {}", b.burning.join(", ")))
                        } else {
                            ("healthy", "✓ every budget healthy".to_owned())
                        };
                        let lowest = b
                            .lowest
                            .map(|(service, left)| format!(" · lowest: {service} {:.0}% left", left * 100.0));
                        let spent = b.consumed.value.map(|value| {
                            format!(
                                "each train spent {:.1}% of a budget on average; {}",
                                value * 100.0,
                                b.consumed.trend_words(),
                            )
                        });
                        view! {
                            <li class=format!("budget-{class}") style=format!("--domain: {}", b.colour)>
                                <strong>{b.domain.clone()}</strong>
                                {format!(" ({} services) ", b.services)}
                                <span class="budget-state">{words}</span>
                                {lowest}
                                {spent.map(|text| view! { <span class="budget-spent">{text}</span> })}
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </section>
    }
    .into_any()
}
