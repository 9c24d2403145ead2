//! `/budgets` and `/budgets/{service}`: error budgets per service (seed M7).
//! The overview lists every service's budget by domain; a service's page
//! charts budget left over its SLO window with the trains' cutovers marked,
//! the burn rate against the fast and slow thresholds, and what each train
//! cost. `/embed/budget?service=…` is the chart alone for a wiki iframe.

use railyard_views::budgets as model;

pub use model::{
    BudgetLine, BudgetState, BudgetsView, DomainBudgets, ServiceBudgetView, TrainCost, FAST_BURN, SLOW_BURN,
};

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::chart::{format_value, TimeChartView};
use crate::wide_table::WideTable;

/// Every service's budget.
#[server(prefix = "/rpc", endpoint = "budgets")]
pub async fn load_budgets() -> Result<BudgetsView, ServerFnError> {
    let (backend, caller) = crate::backend::backend_and_caller()?;
    backend.budgets(&caller).await.map_err(crate::backend::BackendError::into_server_error)
}

/// One service's budget history.
#[server(prefix = "/rpc", endpoint = "service_budget")]
pub async fn load_service_budget(service: String) -> Result<ServiceBudgetView, ServerFnError> {
    let (backend, caller) = crate::backend::backend_and_caller()?;
    backend.service_budget(&caller, service).await.map_err(crate::backend::BackendError::into_server_error)
}

/// `/budgets`.
#[component]
pub fn BudgetsPage() -> impl IntoView {
    let budgets = Resource::new(|| (), |()| load_budgets());
    view! {
        <section class="budgets-page">
            <h1>"Error budgets"</h1>
            {crate::loaded(budgets, "Loading budgets…", |view| view! { <Overview view/> })}
        </section>
    }
}

#[component]
fn Overview(view: BudgetsView) -> impl IntoView {
    if view.domains.is_empty() {
        return view! { <p class="empty">"No service declares an SLO yet; add one in trains as code."</p> }.into_any();
    }
    view! {
        <p class="explain">
            "Budget left over each service's SLO window and the burn rate of the last hour (1× spends the budget exactly over the window; "
            {format!("{}× and {}× are the fast and slow alert thresholds).", format_value(FAST_BURN), format_value(SLOW_BURN))}
        </p>
        {view
            .domains
            .into_iter()
            .map(|domain| {
                let title_id = format!("domain-{}", domain.domain);
                let labelled_by = title_id.clone();
                view! {
                    <section class="domain-budgets" aria-labelledby=labelled_by>
                        <h2 id=title_id>{domain.domain.clone()}</h2>
                        <WideTable label={format!("Error budgets of {}", domain.domain)}>
                            <table class="budgets">
                                <thead>
                                    <tr>
                                        <th scope="col">"Service"</th>
                                        <th scope="col">"SLO"</th>
                                        <th scope="col">"Budget left"</th>
                                        <th scope="col">"Burn rate (1 h)"</th>
                                        <th scope="col">"Status"</th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {domain.services.into_iter().map(|line| view! { <BudgetRow line/> }).collect_view()}
                                </tbody>
                            </table>
                        </WideTable>
                    </section>
                }
            })
            .collect_view()}
    }
    .into_any()
}

#[component]
fn BudgetRow(line: BudgetLine) -> impl IntoView {
    let (class, label) = line.state().label();
    view! {
        <tr class=format!("budget-line budget-{class}")>
            <th scope="row">
                <a href=format!("/budgets/{}", line.service)>{line.service.clone()}</a>
            </th>
            <td>{format!("{}% over {}", format_value(line.target_percent), line.window)}</td>
            <td>
                {line.remaining.map(percent).unwrap_or_else(|| "—".to_owned())}
                <Gauge remaining=line.remaining/>
            </td>
            <td>{line.burn_rate.map(|b| format!("{b:.1}×")).unwrap_or_else(|| "—".to_owned())}</td>
            <td class="budget-state">{label}</td>
        </tr>
    }
}

/// A small bar of the budget left, 0 to 100 %.
#[component]
fn Gauge(remaining: Option<f64>) -> impl IntoView {
    let filled = remaining.unwrap_or(0.0).clamp(0.0, 1.0) * 100.0;
    view! {
        <svg class="gauge" viewBox="0 0 100 8" width="80" height="8" aria-hidden="true">
            <rect class="gauge-track" x="0" y="0" width="100" height="8"></rect>
            <rect class="gauge-fill" x="0" y="0" width=format!("{filled:.1}") height="8"></rect>
        </svg>
    }
}

/// `/budgets/{service}`.
#[component]
pub fn ServiceBudgetPage() -> impl IntoView {
    let params = use_params_map();
    let budget = Resource::new(move || params.read().get("service").unwrap_or_default(), load_service_budget);
    view! {
        <section class="service-budget-page">
            <p class="breadcrumb">
                <a href="/budgets">"Error budgets"</a>
            </p>
            {crate::loaded(budget, "Loading the budget…", |view| view! { <ServiceBudget view/> })}
        </section>
    }
}

#[component]
fn ServiceBudget(view: ServiceBudgetView) -> impl IntoView {
    let line = view.line.clone();
    let (class, label) = line.state().label();
    let contact = (!view.on_call.is_empty()).then(|| format!(" · on call: {}", view.on_call));
    let runbook = (!view.runbook.is_empty()).then(|| view! { " · " <a href=view.runbook.clone()>"runbook"</a> });
    view! {
        <h1>{format!("{} error budget", line.service)}</h1>
        <p class="train-facts">
            {format!("{} · SLO {}% over {}", line.domain, format_value(line.target_percent), line.window)}
            {contact}
            {runbook}
        </p>
        <p class=format!("budget-now budget-{class}")>
            <strong>{label}</strong>
            {line.remaining.map(|r| format!(" — {} of the budget left", percent(r)))}
            {line.burn_rate.map(|b| format!(", burning at {b:.1}× over the last hour"))}
        </p>
        <TimeChartView chart=view.remaining id="budget-remaining"/>
        <TimeChartView chart=view.burn id="burn-rate"/>
        <section aria-labelledby="costs-title">
            <h2 id="costs-title">"Budget consumed per train"</h2>
            <TrainCosts trains=view.trains/>
        </section>
    }
    .into_any()
}

/// A table of trains with a bar for the share of the budget each spent.
#[component]
fn TrainCosts(trains: Vec<TrainCost>) -> impl IntoView {
    if trains.is_empty() {
        return view! { <p class="empty">"No train has rolled this service out within the window yet."</p> }.into_any();
    }
    let widest = trains.iter().map(|t| t.consumed).fold(0.2, f64::max);
    view! {
        <WideTable label="Budget spent per train">
            <table class="train-costs">
                <thead>
                    <tr>
                        <th scope="col">"Train"</th>
                        <th scope="col">"Cutover (UTC)"</th>
                        <th scope="col">"Outcome"</th>
                        <th scope="col">"Budget consumed"</th>
                        <th scope="col">"Left after"</th>
                    </tr>
                </thead>
                <tbody>
                    {trains
                        .into_iter()
                        .map(|train| {
                            let width = (train.consumed.max(0.0) / widest * 100.0).min(100.0);
                            let over = train.consumed >= 0.2;
                            view! {
                                <tr class="train-cost">
                                    <th scope="row">
                                        <a href=format!("/trains/{}", train.train_id)>{train.train.clone()}</a>
                                    </th>
                                    <td>{crate::chart::timestamp(train.cutover_at)}</td>
                                    <td>{train.state.replace('_', " ")}</td>
                                    <td class=if over { "over" } else { "within" }>
                                        <svg class="cost-bar" viewBox="0 0 100 8" width="100" height="8" aria-hidden="true">
                                            <rect x="0" y="0" width=format!("{width:.1}") height="8"></rect>
                                        </svg>
                                        {format!(" {}{}", percent(train.consumed), if over { " (over the 20 % target)" } else { "" })}
                                    </td>
                                    <td>{percent(train.remaining)}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </WideTable>
    }
    .into_any()
}

/// `/embed/budget?service=…`: the budget-left chart alone (the server checked the signed link).
#[component]
pub fn EmbeddedBudget() -> impl IntoView {
    let query = use_query_map();
    let budget = Resource::new(move || query.read().get("service").unwrap_or_default(), load_service_budget);
    crate::loaded(budget, "Loading…", |view: ServiceBudgetView| {
        let (class, label) = view.line.state().label();
        let left = view.line.remaining.map(percent).unwrap_or_default();
        view! {
            <section class="embed-budget">
                <p class=format!("budget-now budget-{class}")>
                    <strong>{view.line.service.clone()}</strong>
                    {format!(" {label} {left}")}
                </p>
                <TimeChartView chart=view.remaining id="embed-budget"/>
            </section>
        }
    })
}

fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}
