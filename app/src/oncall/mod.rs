//! `/oncall`: the on-call engineer's page (and the `oncall` embed panel).
//! Per service: what is deploying now with its step and the hold and
//! rollback buttons the person may use, the alerts Railyard holds active,
//! the canary SLIs that did not pass, open and recent incidents (resolve
//! them here, or report a new one), the runbook and who is on call. It
//! refreshes every five seconds without a reload; forms work without
//! JavaScript too.

use railyard_views::oncall as model;

pub use model::{OnCallAlert, OnCallIncident, OnCallService, OnCallView, SliDelta};

use leptos::prelude::*;

use crate::chart::timestamp;
use crate::console::{track, OperateTrain, TrainRow};
use crate::viewer_time::provide_viewer_zone;
use crate::wide_table::WideTable;

/// The view for the caller (or the embed link).
#[server(prefix = "/rpc", endpoint = "oncall")]
pub async fn load_oncall() -> Result<OnCallView, ServerFnError> {
    let (backend, caller) = crate::backend::backend_and_caller()?;
    backend.oncall(&caller).await.map_err(crate::backend::BackendError::into_server_error)
}

/// Reports an incident of `service`; `started_at` is RFC 3339 or empty for now.
#[server(prefix = "/rpc", endpoint = "report_incident")]
pub async fn report_incident(
    service: String,
    severity: String,
    title: String,
    started_at: String,
) -> Result<String, ServerFnError> {
    let (backend, caller) = crate::backend::backend_and_caller()?;
    let result = backend.report_incident(&caller, service, severity, title, started_at).await;
    result.map_err(crate::backend::BackendError::into_server_error)
}

/// Marks an incident resolved now.
#[server(prefix = "/rpc", endpoint = "resolve_incident")]
pub async fn resolve_incident(id: String) -> Result<String, ServerFnError> {
    let (backend, caller) = crate::backend::backend_and_caller()?;
    backend.resolve_incident(&caller, id).await.map_err(crate::backend::BackendError::into_server_error)
}

/// The page.
#[component]
pub fn OnCallPage() -> impl IntoView {
    view! {
        <section class="oncall" aria-labelledby="oncall-title">
            <h1 id="oncall-title">"On call"</h1>
            <OnCallBoard embedded=false/>
        </section>
    }
}

/// The embeddable panel: the same board, read-only, and never navigating out of the wiki.
#[component]
pub fn EmbeddedOnCall() -> impl IntoView {
    view! {
        <section class="oncall embed-oncall">
            <OnCallBoard embedded=true/>
        </section>
    }
}

/// The board; `embedded` shows trains as text (no links, no buttons).
#[component]
fn OnCallBoard(embedded: bool) -> impl IntoView {
    let act = ServerAction::<OperateTrain>::new();
    let report = ServerAction::<ReportIncident>::new();
    let resolve = ServerAction::<ResolveIncident>::new();
    let (tick, set_tick) = signal(0u32);
    let board = Resource::new(
        move || (tick.get(), act.version().get(), report.version().get(), resolve.version().get()),
        |_| load_oncall(),
    );
    Effect::new(move |_| {
        let _ = set_interval_with_handle(move || set_tick.update(|n| *n += 1), std::time::Duration::from_secs(5));
    });
    let zone = provide_viewer_zone();
    let acted_on = track(act, |input| input.train_id.clone());
    let loaded = move || board.get().and_then(Result::ok);
    let trains = Signal::derive(move || {
        loaded().map(|v| v.services.into_iter().flat_map(|s| s.deploying).collect::<Vec<_>>()).unwrap_or_default()
    });
    let said = said(report, resolve);
    view! {
        <p class="explain">
            "Services with something going on come first. Refreshes every five seconds."
        </p>
        {said}
        <Transition fallback=|| view! { <p class="loading">"Loading who is on call…"</p> }>
            {move || {
                board
                    .get()
                    .and_then(Result::err)
                    .map(|error| view! { <p class="notice error" role="alert">{crate::error_text(&error)}</p> })
            }}
            <Show when=move || loaded().is_some()>
                <div class="oncall-services">
                    <For
                        each=move || {
                            loaded()
                                .map(|v| v.services.into_iter().filter(|s| !s.quiet()).collect::<Vec<_>>())
                                .unwrap_or_default()
                        }
                        key=card_key
                        let:service
                    >
                        <ServiceCard service latest=trains zone act acted_on resolve embedded/>
                    </For>
                </div>
                <Show when=move || loaded().is_some_and(|v| v.services.iter().all(OnCallService::quiet))>
                    <p class="empty">"All quiet: nothing is deploying, alerting or open."</p>
                </Show>
                <QuietServices services=Signal::derive(move || {
                    loaded().map(|v| v.services.into_iter().filter(OnCallService::quiet).collect()).unwrap_or_default()
                })/>
                <Show when=move || loaded().is_some_and(|v| !v.reportable.is_empty())>
                    <ReportForm services=Signal::derive(move || loaded().map(|v| v.reportable).unwrap_or_default()) report/>
                </Show>
            </Show>
        </Transition>
    }
}

/// The console's incident desk: every open incident with Resolve for those
/// allowed, and the report form (the same use cases as the on-call page).
#[component]
pub fn IncidentDesk() -> impl IntoView {
    let report = ServerAction::<ReportIncident>::new();
    let resolve = ServerAction::<ResolveIncident>::new();
    let (tick, set_tick) = signal(0u32);
    let board = Resource::new(move || (tick.get(), report.version().get(), resolve.version().get()), |_| load_oncall());
    Effect::new(move |_| {
        let _ = set_interval_with_handle(move || set_tick.update(|n| *n += 1), std::time::Duration::from_secs(5));
    });
    let loaded = move || board.get().and_then(Result::ok);
    let open = move || {
        loaded()
            .map(|v| {
                v.services
                    .into_iter()
                    .flat_map(|s| {
                        let name = s.name.clone();
                        s.incidents.into_iter().filter(|i| i.resolved_at.is_none()).map(move |i| (name.clone(), i))
                    })
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    let said = said(report, resolve);
    view! {
        <section class="incident-desk oncall" aria-labelledby="incidents-title">
            <h2 id="incidents-title">"Open incidents"</h2>
            {said}
            <Transition fallback=|| view! { <p class="loading">"Loading incidents…"</p> }>
                <Show when=move || loaded().is_some() && open().is_empty()>
                    <p class="empty">"No open incident. " <a href="/oncall">"On call"</a> " shows recent ones."</p>
                </Show>
                <ul class="oncall-incidents">
                    <For each=open key=|(service, incident)| (service.clone(), incident.id.clone()) let:item>
                        <IncidentItem incident=item.1.clone() resolve service=item.0.clone() linked=true/>
                    </For>
                </ul>
                <Show when=move || loaded().is_some_and(|v| !v.reportable.is_empty())>
                    <ReportForm services=Signal::derive(move || loaded().map(|v| v.reportable).unwrap_or_default()) report/>
                </Show>
            </Transition>
        </section>
    }
}

/// One service with something going on.
#[component]
fn ServiceCard(
    service: OnCallService,
    latest: Signal<Vec<crate::console::ConsoleTrain>>,
    zone: crate::viewer_time::ViewerZone,
    act: ServerAction<OperateTrain>,
    acted_on: ReadSignal<Option<String>>,
    resolve: ServerAction<ResolveIncident>,
    embedded: bool,
) -> impl IntoView {
    let title = format!("oncall-{}", service.name);
    let labelled_by = title.clone();
    let paging = service.alerts.iter().any(|a| a.severity == "page");
    let class = if paging { "oncall-service paging" } else { "oncall-service" };
    view! {
        <article class=class data-service=service.name.clone() aria-labelledby=labelled_by>
            <h2 id=title>
                {service.name.clone()}
                <span class="domain">{format!(" · {}", service.domain)}</span>
            </h2>
            <Contacts service=service.clone()/>
            {(embedded && !service.deploying.is_empty()).then(|| view! {
                <h3>"Deploying now"</h3>
                <ul class="deploying-plain">
                    {service.deploying.iter().map(|train| view! {
                        <li>{format!("{} · {} · {}", train.name, train.phase.replace('_', " "), train.step)}</li>
                    }).collect_view()}
                </ul>
            })}
            {(!embedded && !service.deploying.is_empty()).then(|| view! {
                <h3>"Deploying now"</h3>
                <WideTable label=format!("Trains carrying {}", service.name)>
                    <table class="console-trains">
                        <thead>
                            <tr>
                                <th scope="col">"Train"</th>
                                <th scope="col">"Domain"</th>
                                <th scope="col">"Phase"</th>
                                <th scope="col">"Step"</th>
                                <th scope="col">"Cutover"</th>
                                <th scope="col">"Actions"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {service.deploying.iter().map(|train| view! {
                                <TrainRow train=train.clone() latest zone act acted_on/>
                            }).collect_view()}
                        </tbody>
                    </table>
                </WideTable>
            })}
            {(!service.alerts.is_empty()).then(|| view! {
                <h3>"Alerts"</h3>
                <ul class="oncall-alerts">
                    {service.alerts.iter().map(|alert| view! {
                        <li class=format!("alert severity-{}", alert.severity)>
                            <strong class="severity">{alert.severity.to_uppercase()}</strong>
                            " "
                            {alert.summary.clone()}
                            " · "
                            <TrainRef id=alert.train_id.clone() text=format!("train {}", alert.train_id) linked=!embedded/>
                            <span class="since">{format!(" · since {} UTC", timestamp(alert.started_at))}</span>
                        </li>
                    }).collect_view()}
                </ul>
            })}
            {(!service.failing.is_empty()).then(|| view! {
                <h3>"Canary SLIs that did not pass"</h3>
                <WideTable label=format!("Failing canary metrics of {}", service.name)>
                    <table class="sli-deltas">
                        <thead>
                            <tr>
                                <th scope="col">"Metric"</th>
                                <th scope="col">"Baseline"</th>
                                <th scope="col">"Canary"</th>
                                <th scope="col">"Change"</th>
                                <th scope="col">"Verdict"</th>
                                <th scope="col">"Train, step"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {service.failing.iter().map(|delta| view! {
                                <tr>
                                    <th scope="row" title=delta.reason.clone()>{delta.metric.clone()}</th>
                                    <td>{number(delta.baseline)}</td>
                                    <td>{number(delta.canary)}</td>
                                    <td>{delta.change.map(|c| format!("{:+.1}%", c * 100.0)).unwrap_or_else(|| "—".into())}</td>
                                    <td class=format!("verdict verdict-{}", delta.verdict)>{delta.verdict.clone()}</td>
                                    <td>
                                        <TrainRef id=delta.train_id.clone() text=delta.train.clone() linked=!embedded/>
                                        {format!(", {}", delta.step)}
                                    </td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </WideTable>
            })}
            {(!service.incidents.is_empty()).then(|| view! {
                <h3>"Incidents"</h3>
                <ul class="oncall-incidents">
                    {service.incidents.iter().map(|incident| view! { <IncidentItem incident=incident.clone() resolve service=String::new() linked=!embedded/> }).collect_view()}
                </ul>
            })}
        </article>
    }
}

#[component]
fn Contacts(service: OnCallService) -> impl IntoView {
    let runbook = (!service.runbook_url.is_empty())
        .then(|| view! { <a href=service.runbook_url.clone() rel="noopener" target="_blank">"runbook"</a> " · " });
    let on_call = if service.on_call.is_empty() {
        "no on-call contact declared".to_owned()
    } else {
        format!("on call: {}", service.on_call)
    };
    let owner = (!service.owner.is_empty()).then(|| format!(" · owner: {}", service.owner));
    view! { <p class="contacts">{runbook}{on_call}{owner}</p> }
}

/// What the latest of the two forms answered, as a status line (or an alert for a refusal).
fn said(
    report: ServerAction<ReportIncident>,
    resolve: ServerAction<ResolveIncident>,
) -> impl Fn() -> Option<AnyView> + Send + Sync + 'static {
    let (latest, set_latest) = signal(None::<Result<String, ServerFnError>>);
    Effect::new(move |_| {
        if let Some(answer) = report.value().get() {
            set_latest.set(Some(answer));
        }
    });
    Effect::new(move |_| {
        if let Some(answer) = resolve.value().get() {
            set_latest.set(Some(answer));
        }
    });
    move || {
        latest.get().map(|result| match result {
            Ok(message) => view! { <p class="notice" role="status">{message}</p> }.into_any(),
            Err(error) => view! { <p class="notice error" role="alert">{crate::error_text(&error)}</p> }.into_any(),
        })
    }
}

/// A train named by a link to its page, or (`linked` false, in an embed) by text alone.
#[component]
fn TrainRef(id: String, text: String, linked: bool) -> impl IntoView {
    if linked {
        view! { <a href=format!("/trains/{id}")>{text}</a> }.into_any()
    } else {
        view! { <span class="train-ref">{text}</span> }.into_any()
    }
}

/// An incident; `service` names it where the list mixes services (empty inside a service's card).
#[component]
fn IncidentItem(
    incident: OnCallIncident,
    resolve: ServerAction<ResolveIncident>,
    service: String,
    linked: bool,
) -> impl IntoView {
    let state = match incident.resolved_at {
        Some(at) => format!("resolved {} UTC after {} min", timestamp(at), (at - incident.started_at) / 60_000),
        None => "open".to_owned(),
    };
    let train = incident.train_id.clone().map(|train| {
        view! { " · " <TrainRef id=train.clone() text=format!("train {train}") linked/> }
    });
    let link = (!incident.link.is_empty())
        .then(|| view! { " · " <a href=incident.link.clone() rel="noopener" target="_blank">"details"</a> });
    let button = incident.can_resolve.then(|| {
        view! {
            <ActionForm action=resolve attr:class="inline-action">
                <input type="hidden" name="id" value=incident.id.clone()/>
                <button type="submit" class="action action-resolve">"Resolve"</button>
            </ActionForm>
        }
    });
    view! {
        <li class=format!("incident severity-{} {}", incident.severity, if incident.resolved_at.is_some() { "resolved" } else { "open" })>
            {(!service.is_empty()).then(|| view! { <span class="service-name">{format!("{service} · ")}</span> })}
            <strong>{incident.severity.clone()}</strong>
            {format!(" {} · started {} UTC · {state}", if incident.title.is_empty() { "(no title)" } else { incident.title.as_str() }, timestamp(incident.started_at))}
            {train}
            {link}
            {button}
        </li>
    }
}

/// The services with nothing going on, folded.
#[component]
fn QuietServices(services: Signal<Vec<OnCallService>>) -> impl IntoView {
    view! {
        <Show when=move || !services.get().is_empty()>
            <details class="quiet-services">
                <summary>{move || format!("{} quiet services", services.get().len())}</summary>
                <ul>
                    <For each=move || services.get() key=|service| service.name.clone() let:service>
                        <li>
                            <strong>{service.name.clone()}</strong>
                            <Contacts service=service.clone()/>
                        </li>
                    </For>
                </ul>
            </details>
        </Show>
    }
}

/// Reports an incident by hand (attributed like any other).
#[component]
fn ReportForm(services: Signal<Vec<String>>, report: ServerAction<ReportIncident>) -> impl IntoView {
    view! {
        <section class="report-incident" aria-labelledby="report-title">
            <h2 id="report-title">"Report an incident"</h2>
            <ActionForm action=report>
                <label>
                    "Service "
                    <select name="service" required>
                        <For each=move || services.get() key=|name| name.clone() let:name>
                            <option value=name.clone()>{name.clone()}</option>
                        </For>
                    </select>
                </label>
                <label>
                    "Severity "
                    <select name="severity">
                        {["critical", "high", "medium", "low", "info"].map(|s| view! { <option value=s selected=s == "high">{s}</option> }).collect_view()}
                    </select>
                </label>
                <label>"What happened " <input type="text" name="title" required maxlength="500" placeholder="ledger returns 5xx"/></label>
                <label>
                    "Started (UTC, empty: now) "
                    <input type="text" name="started_at" placeholder="2026-12-01T03:20:00Z" pattern="\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2})?Z"/>
                </label>
                <button type="submit" class="action">"Report"</button>
            </ActionForm>
        </section>
    }
}

/// A card is redrawn when what it lists changes; the trains' rows follow their own updates.
fn card_key(service: &OnCallService) -> String {
    let trains: Vec<&str> = service.deploying.iter().map(|t| t.id.as_str()).collect();
    format!("{}|{:?}|{:?}|{:?}|{trains:?}", service.name, service.alerts, service.incidents, service.failing)
}

fn number(value: Option<f64>) -> String {
    match value {
        Some(v) if v.abs() >= 100.0 => format!("{v:.0}"),
        Some(v) => format!("{v:.3}"),
        None => "—".into(),
    }
}
