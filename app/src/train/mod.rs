//! `/trains/{id}`: one train — its timeline, cargo and gates, rollout steps,
//! canary analyses with their evidence (canary against baseline per
//! metric), and what the rollout cost each service's error budget. Served
//! complete without JavaScript; once hydrated it refreshes every five seconds.

use railyard_domain::digest::short_digest;
use railyard_views::train as model;

pub use model::{
    AnalysisView, ApprovalLine, AuditLine, CargoLine, DependencyLayout, MeasurementLine, MetricView, StepLine,
    TimelineLine, TrainCardView, TrainPage,
};

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::chart::{timestamp, Gantt, TimeChartView};
use crate::gates::gate_icon;
use crate::viewer_time::{clock_time, provide_viewer_zone};
use crate::wide_table::WideTable;

/// The train page's data.
#[server(prefix = "/rpc", endpoint = "train_page")]
pub async fn load_train(id: String) -> Result<TrainPage, ServerFnError> {
    let (backend, caller) = crate::backend::backend_and_caller()?;
    backend.train_page(&caller, id).await.map_err(crate::backend::BackendError::into_server_error)
}

/// The page.
#[component]
pub fn TrainDetailPage() -> impl IntoView {
    let params = use_params_map();
    let (tick, set_tick) = signal(0u32);
    let train =
        Resource::new(move || (params.read().get("id").unwrap_or_default(), tick.get()), |(id, _)| load_train(id));
    // A train in flight moves on its own: refresh every five seconds.
    Effect::new(move |_| {
        let _ = set_interval_with_handle(move || set_tick.update(|n| *n += 1), std::time::Duration::from_secs(5));
    });
    provide_viewer_zone();
    view! {
        <section class="train-page">
            {crate::loaded(train, "Loading the train…", |page| view! { <TrainView page/> })}
        </section>
    }
}

/// The embedded status card's data: only what the card shows.
#[server(prefix = "/rpc", endpoint = "train_card")]
pub async fn load_train_card(id: String) -> Result<TrainCardView, ServerFnError> {
    let (backend, caller) = crate::backend::backend_and_caller()?;
    backend.train_card(&caller, id).await.map_err(crate::backend::BackendError::into_server_error)
}

/// `/embed/train?id=…`: one train's status card for a wiki iframe (the server checked the signed link).
#[component]
pub fn EmbeddedTrain() -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    let train = Resource::new(move || query.read().get("id").unwrap_or_default(), load_train_card);
    provide_viewer_zone();
    crate::loaded(train, "Loading…", |card| view! { <TrainCard card/> })
}

/// The train in a few lines: phase, cutover, step, cargo and gates, the latest event.
#[component]
fn TrainCard(card: TrainCardView) -> impl IntoView {
    let at = card.cutover_at;
    view! {
        <section class=format!("embed-train phase-{}", card.state)>
            <p class="card-title">
                <strong>{card.definition.clone()}</strong>
                " "
                <span class=format!("phase phase-{}", card.state)>{card.state.replace('_', " ")}</span>
            </p>
            <p>
                {format!("{} · cutover ", card.domain)}
                <time>{move || clock_time(at, true)}</time>
            </p>
            <p>
                {format!("{} of {} candidates on board · gates: {} ✓", card.boarded, card.candidates, card.gates_passed)}
                {(card.gates_failing > 0).then(|| format!(", {} ✗/?", card.gates_failing))}
            </p>
            {card.step.map(|s| view! { <p>{s}</p> })}
            <p class="card-latest">{card.latest}</p>
        </section>
    }
    .into_any()
}

/// Who calls whom among the train's services (providers left, arrows from
/// consumer to provider), and what each change reaches, also as a list.
#[component]
fn Dependencies(layout: DependencyLayout, cargo: Vec<CargoLine>) -> impl IntoView {
    const W: usize = 150;
    const H: usize = 44;
    let (width, height) = (layout.columns * (W + 40), layout.rows * H + 8);
    let centre = |(col, row): (usize, usize)| (col * (W + 40) + W / 2, row * H + 4 + 16);
    let position: Vec<(usize, usize)> = layout.nodes.iter().map(|(_, col, row)| centre((*col, *row))).collect();
    let edges = layout
        .edges
        .iter()
        .map(|&(consumer, provider)| {
            let ((x1, y1), (x2, y2)) = (position[consumer], position[provider]);
            view! {
                <line
                    x1=x1.saturating_sub(W / 2)
                    y1=y1
                    x2=x2 + W / 2
                    y2=y2
                    class="dep-edge"
                    marker-end="url(#dep-arrow)"
                ></line>
            }
        })
        .collect_view();
    let nodes = layout
        .nodes
        .iter()
        .zip(&position)
        .map(|((name, _, _), (x, y))| {
            view! {
                <g class="dep-node">
                    <rect x=x - W / 2 y=y - 14 width=W height=28 rx=4></rect>
                    <text x=*x y=y + 5 text-anchor="middle">{name.clone()}</text>
                </g>
            }
        })
        .collect_view();
    view! {
        <section aria-labelledby="deps-title">
            <h2 id="deps-title">"Dependencies"</h2>
            <svg
                class="dependencies"
                viewBox=format!("0 0 {width} {height}")
                width=width
                height=height
                role="img"
                aria-labelledby="deps-title"
            >
                <defs>
                    <marker id="dep-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto">
                        <path d="M0,0 L10,5 L0,10 z"></path>
                    </marker>
                </defs>
                {edges}
                {nodes}
            </svg>
            <ul class="dep-list">
                {cargo
                    .into_iter()
                    .filter(|c| !c.calls.is_empty() || !c.reaches.is_empty())
                    .map(|c| {
                        let calls = (!c.calls.is_empty()).then(|| format!("calls {}", c.calls.join(", ")));
                        let reaches = (!c.reaches.is_empty())
                            .then(|| format!("a change reaches {}", c.reaches.join(", ")));
                        let text = [calls, reaches].into_iter().flatten().collect::<Vec<_>>().join("; ");
                        view! { <li><strong>{c.service}</strong>{format!(": {text}")}</li> }
                    })
                    .collect_view()}
            </ul>
        </section>
    }
    .into_any()
}

/// What runs where this train shipped something else, until a later report matches.
#[component]
pub fn Drift(lines: Vec<model::DriftLine>) -> impl IntoView {
    (!lines.is_empty()).then(|| {
        view! {
            <section class="drift" aria-labelledby="drift-title">
                <h2 id="drift-title"><span class="drift-mark">"Drift"</span> " · not what was shipped"</h2>
                <ul>
                    {lines
                        .into_iter()
                        .map(|d| {
                            view! {
                                <li>
                                    <a href=format!("/trains/{}", d.train_id)>{d.service.clone()}</a>
                                    {if d.region.is_empty() {
                                        format!(" in {} runs ", d.environment)
                                    } else {
                                        format!(" in {} {} runs ", d.environment, d.region)
                                    }}
                                    <code>{d.running.clone()}</code>
                                    ", shipped "
                                    <code>{d.expected.clone()}</code>
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            </section>
        }
    })
}

#[component]
fn TrainView(page: TrainPage) -> impl IntoView {
    let at = page.cutover_at;
    let spans = page.spans();
    let mark = view! { <crate::KindMark kind=page.kind/> " " };
    let cargo = page.cargo.clone();
    view! {
        <h1>
            {mark}
            {page.definition.clone()}
            " "
            <span class=format!("phase phase-{}", page.state)>{page.state.replace('_', " ")}</span>
        </h1>
        <p class="train-facts">
            {format!("{} · cutover ", page.domain)}
            <time>{move || clock_time(at, true)}</time>
            {format!(" ({})", page.time_zone)}
            {(!page.reason.is_empty()).then(|| format!(" · {}", page.reason))}
        </p>
        <Drift lines=page.drift.clone()/>
        {(!page.waiting.is_empty())
            .then(|| {
                view! {
                    <section class="gitops-wait" aria-labelledby="wait-title">
                        <h2 id="wait-title">"Waiting for the GitOps controller"</h2>
                        <ul>{page.waiting.iter().map(|line| view! { <li>{line.clone()}</li> }).collect_view()}</ul>
                    </section>
                }
            })}
        <p class="train-actions">
            <a href=format!("/api/v1/trains/{}/postmortem", page.id) download>
                "Postmortem draft (Markdown)"
            </a>
        </p>
        <section aria-labelledby="phases-title">
            <h2 id="phases-title">"Phases"</h2>
            {if spans.is_empty() {
                view! { <p class="empty">"The train has not opened yet."</p> }.into_any()
            } else {
                view! { <Gantt spans title="The train's phases and rollout steps over time (UTC)"/> }.into_any()
            }}
        </section>
        <section aria-labelledby="cargo-title">
            <h2 id="cargo-title">"Cargo"</h2>
            <WideTable label="Cargo">
                <table class="cargo">
                    <thead>
                        <tr>
                            <th scope="col">"Service"</th>
                            <th scope="col">"Version"</th>
                            <th scope="col">"Author"</th>
                            <th scope="col">"Gates"</th>
                            <th scope="col">"Status"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {cargo
                            .iter()
                            .map(|line| {
                                view! {
                                    <tr class=format!("cargo-line status-{}", line.status)>
                                        <th scope="row">
                                            {line.service.clone()}
                                            {(!line.group.is_empty())
                                                .then(|| {
                                                    view! { <span class="group-tag">{format!("group {}", line.group)}</span> }
                                                })}
                                        </th>
                                        <td>
                                            {line.version.clone()}
                                            <code class="digest">{short_digest(&line.digest)}</code>
                                        </td>
                                        <td>{line.author.clone()}</td>
                                        <td>
                                            {line
                                                .gates
                                                .iter()
                                                .map(|(gate, state)| {
                                                    view! {
                                                        <span class=format!("gate gate-{state}")>
                                                            {format!("{} {gate}: {state}", gate_icon(state))}
                                                        </span>
                                                    }
                                                })
                                                .collect_view()}
                                        </td>
                                        <td>
                                            {line.status.replace('_', " ")}
                                            {(!line.reason.is_empty())
                                                .then(|| view! { <span class="missed-reason">{line.reason.clone()}</span> })}
                                        </td>
                                    </tr>
                                }
                                    .into_any()
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </WideTable>
        </section>
        {page.dependencies().map(|layout| view! { <Dependencies layout cargo=page.cargo.clone()/> })}
        <Approvals approvals=page.approvals.clone()/>
        <section aria-labelledby="steps-title">
            <h2 id="steps-title">"Rollout"</h2>
            <ol class="steps">
                {page
                    .steps
                    .iter()
                    .map(|step| {
                        let region = (!step.region.is_empty()).then(|| format!(" in {}", step.region));
                        view! {
                            <li class=format!("step step-{}", step.outcome)>
                                {format!("{} ({}, {}%", step.name, step.environment, step.weight)}
                                {region}
                                {format!("; soak {} s): {}", step.soak_seconds, step.outcome)}
                            </li>
                        }
                    })
                    .collect_view()}
            </ol>
        </section>
        <section aria-labelledby="analyses-title">
            <h2 id="analyses-title">"Canary analyses"</h2>
            {page.analyses.is_empty().then(|| view! { <p class="empty">"No step has been judged yet."</p> })}
            {page.analyses.iter().map(|analysis| view! { <Analysis analysis=analysis.clone()/> }).collect_view()}
        </section>
        {(!page.measurements.is_empty()).then(|| view! {
            <section aria-labelledby="budget-title">
                <h2 id="budget-title">"Error budget and latency"</h2>
                <WideTable label="Error budget and latency">
                    <table class="measurements">
                        <thead>
                            <tr>
                                <th scope="col">"Service"</th>
                                <th scope="col">"Budget consumed"</th>
                                <th scope="col">"Budget left"</th>
                                <th scope="col">"p95 before → during"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {page
                                .measurements
                                .iter()
                                .map(|m| {
                                    let latency = match (m.latency_before, m.latency_during) {
                                        (Some(before), Some(during)) => {
                                            format!("{:.0} ms → {:.0} ms", before * 1000.0, during * 1000.0)
                                        }
                                        _ => "—".to_owned(),
                                    };
                                    let budget_class = if m.budget_consumed >= 0.2 { "over" } else { "within" };
                                    view! {
                                        <tr>
                                            <th scope="row">{m.service.clone()}</th>
                                            <td class=budget_class>
                                                {format!("{:.1}%", m.budget_consumed * 100.0)}
                                            </td>
                                            <td>{format!("{:.1}%", m.budget_remaining * 100.0)}</td>
                                            <td>{latency}</td>
                                        </tr>
                                    }
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                </WideTable>
            </section>
        })}
        <section aria-labelledby="notes-title">
            <h2 id="notes-title">"Release notes"</h2>
            <pre class="release-notes">{page.release_notes.clone()}</pre>
            <p>
                <a href=format!("/api/v1/trains/{}/release-notes", page.id)>"Download as Markdown"</a>
            </p>
        </section>
        <section aria-labelledby="timeline-title">
            <h2 id="timeline-title">"Timeline"</h2>
            <ol class="timeline">
                {page
                    .timeline
                    .iter()
                    .map(|line| {
                        let at = line.at;
                        let kind = if line.to.is_empty() { "note" } else { "transition" };
                        view! {
                            <li class=kind>
                                <time>{move || clock_time(at, true)}</time>
                                {(!line.to.is_empty())
                                    .then(|| view! { <span class=format!("phase phase-{}", line.to)>{line.to.replace('_', " ")}</span> })}
                                {format!(" {} — {}", line.reason, line.actor)}
                            </li>
                        }
                            .into_any()
                    })
                    .collect_view()}
            </ol>
        </section>
        <AuditExcerpt audit=page.audit.clone()/>
    }
    .into_any()
}

#[component]
fn Approvals(approvals: Vec<ApprovalLine>) -> impl IntoView {
    view! {
        <section aria-labelledby="approvals-title">
            <h2 id="approvals-title">"Approvals"</h2>
            {approvals.is_empty().then(|| view! { <p class="empty">"No approval was asked for or given."</p> })}
            <ul class="approvals">
                {approvals
                    .into_iter()
                    .map(|a| {
                        let at = a.at;
                        let mark = if a.decision == "approved" { "✓" } else { "✗" };
                        let comment = (!a.comment.is_empty()).then(|| format!(": “{}”", a.comment));
                        view! {
                            <li class=format!("approval {}", a.decision)>
                                {format!("{mark} {} {} {} at ", a.approver, a.decision, a.service)}
                                <time>{move || clock_time(at, true)}</time>
                                {comment}
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </section>
    }
    .into_any()
}

#[component]
fn AuditExcerpt(audit: Vec<AuditLine>) -> impl IntoView {
    view! {
        <section aria-labelledby="audit-title">
            <h2 id="audit-title">"Audit trail"</h2>
            <p class="explain">"What people and CI did to this train and its cargo, from the tamper-evident audit log."</p>
            {audit.is_empty().then(|| view! { <p class="empty">"Nothing recorded yet."</p> })}
            <WideTable label="Audit trail">
                <table class="audit-excerpt">
                    <thead>
                        <tr>
                            <th scope="col">"When (UTC)"</th>
                            <th scope="col">"Who"</th>
                            <th scope="col">"What"</th>
                            <th scope="col">"On"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {audit
                            .into_iter()
                            .map(|line| {
                                view! {
                                    <tr>
                                        <td>{timestamp(line.at)}</td>
                                        <td>{line.actor}</td>
                                        <td>{line.action}</td>
                                        <td>{line.object}</td>
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
fn Analysis(analysis: AnalysisView) -> impl IntoView {
    let score = analysis.score.map(|s| format!(", score {s:.0}")).unwrap_or_default();
    view! {
        <article class=format!("analysis verdict-{}", analysis.verdict)>
            <h3>{format!("{}: {}{score}", analysis.step, analysis.verdict)}</h3>
            <ul class="metrics">
                {analysis
                    .metrics
                    .iter()
                    .enumerate()
                    .map(|(index, metric)| {
                        let stats = match (metric.p_value, metric.shift) {
                            (Some(p), Some((estimate, lower, upper))) => {
                                format!("p = {p:.3e}; shift {estimate:.3} [{lower:.3}, {upper:.3}]")
                            }
                            (Some(p), None) => format!("p = {p:.3e}"),
                            _ => String::new(),
                        };
                        view! {
                            <li class=format!("metric verdict-{}", metric.verdict)>
                                <strong>{format!("{} ({})", metric.metric, metric.service)}</strong>
                                {metric.dry_run.then(|| view! { <span class="dry-run">"dry run, not scored"</span> })}
                                {format!(": {} — {}", metric.verdict, metric.reason)}
                                <span class="stats">{stats}</span>
                                <TimeChartView chart=metric.chart() id=format!("metric-{}-{index}", analysis.at)/>
                            </li>
                        }
                            .into_any()
                    })
                    .collect_view()}
            </ul>
        </article>
    }
    .into_any()
}
