//! `/gates`: the gate board. Recent trains × gates, each cell the worst
//! state of the train's candidates with an icon and words (never colour
//! alone), linking to that cell's evidence (`?train=…&gate=…`, plain links
//! that work before the wasm loads); and per gate how flaky it has been
//! over the same trains (seed F1).

use railyard_views::gates as model;

pub use model::{cell, gate_icon, BoardRow, Cell, Evidence, EvidenceRun, GateBoard, GateFlakiness, SEVERITY};

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::chart::timestamp;
use crate::wide_table::WideTable;

/// The board over the `last` trains (default 20), for one domain or all, with one cell's evidence.
#[server(prefix = "/rpc", endpoint = "gate_board")]
pub async fn load_gate_board(
    last: Option<String>,
    domain: Option<String>,
    train: Option<String>,
    gate: Option<String>,
) -> Result<GateBoard, ServerFnError> {
    let (backend, caller) = crate::backend::backend_and_caller()?;
    let last = match last.filter(|l| !l.is_empty()) {
        None => 20,
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=200).contains(&n) => n,
            _ => {
                crate::status::respond_with(400);
                return Err(ServerFnError::new(format!(
                    "\"last\" must be a number of trains from 1 to 200, got \"{text}\""
                )));
            }
        },
    };
    let non_empty = |v: Option<String>| v.filter(|v| !v.is_empty());
    let drill = non_empty(train).zip(non_empty(gate));
    backend
        .gate_board(&caller, last, non_empty(domain), drill)
        .await
        .map_err(crate::backend::BackendError::into_server_error)
}

/// The page.
#[component]
pub fn GatesPage() -> impl IntoView {
    let query = use_query_map();
    let board = Resource::new(
        move || {
            let q = query.read();
            (q.get("last"), q.get("domain"), q.get("train"), q.get("gate"))
        },
        |(last, domain, train, gate)| load_gate_board(last, domain, train, gate),
    );
    view! {
        <section class="gates-page">
            <h1>"Gate board"</h1>
            {crate::loaded(board, "Loading the gates…", |board| view! { <Board board/> })}
        </section>
    }
}

#[component]
fn Board(board: GateBoard) -> impl IntoView {
    let scope = board.domain.clone().map_or_else(|| "every domain".to_owned(), |d| format!("the {d} domain"));
    let base = {
        let mut pairs = vec![format!("last={}", board.last)];
        if let Some(domain) = &board.domain {
            pairs.push(format!("domain={domain}"));
        }
        pairs.join("&")
    };
    let rows = board.rows.len();
    if board.rows.is_empty() {
        return view! { <p class="empty">{format!("No train of {scope} has opened yet.")}</p> }.into_any();
    }
    let gates = board.gates.clone();
    let domain_query = board.domain.as_ref().map(|d| format!("&domain={d}")).unwrap_or_default();
    let spans = [10, 20, 50, 100]
        .into_iter()
        .map(|n| {
            let current = (n == board.last).then_some("page");
            view! { <a href=format!("/gates?last={n}{domain_query}") aria-current=current>{format!("last {n}")}</a> }
        })
        .collect_view();
    view! {
        <nav class="view-switch board-span" aria-label="How many trains">{spans}</nav>
        <p class="explain">
            {format!("The last {} trains of {scope}, newest first. Each cell is the worst state among the train's candidates; open it for the evidence.", board.rows.len())}
        </p>
        <WideTable label="Gate board">
            <table class="gate-board">
                <thead>
                    <tr>
                        <th scope="col">"Train"</th>
                        {gates.iter().map(|g| view! { <th scope="col">{g.clone()}</th> }).collect_view()}
                    </tr>
                </thead>
                <tbody>
                    {board
                        .rows
                        .into_iter()
                        .map(|row| {
                            let base = base.clone();
                            let gates = gates.clone();
                            view! {
                                <tr>
                                    <th scope="row">
                                        <a href=format!("/trains/{}", row.train_id)>{row.train.clone()}</a>
                                        <span class="row-facts">
                                            {format!("{} · {}", timestamp(row.cutover_at), row.state.replace('_', " "))}
                                        </span>
                                    </th>
                                    {row
                                        .cells
                                        .into_iter()
                                        .zip(gates)
                                        .map(|(cell, gate)| {
                                            let href = format!("/gates?{base}&train={}&gate={gate}#evidence", row.train_id);
                                            view! { <GateCell cell href/> }
                                        })
                                        .collect_view()}
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </WideTable>
        {board.evidence.map(|evidence| view! { <EvidencePanel evidence/> })}
        <Flakiness flakiness=board.flakiness trains=rows/>
    }
    .into_any()
}

#[component]
fn GateCell(cell: Option<Cell>, href: String) -> impl IntoView {
    let Some(cell) = cell else {
        return view! { <td class="gate-cell gate-none">"— not taken"</td> }.into_any();
    };
    let words = cell.counts.iter().map(|(state, n)| format!("{n} {state}")).collect::<Vec<_>>().join(", ");
    view! {
        <td class=format!("gate-cell gate-{}", cell.state)>
            <a href=href>
                <span class="gate-icon" aria-hidden="true">{gate_icon(&cell.state)}</span>
                {format!(" {}", cell.state)}
                <span class="gate-counts">{words}</span>
            </a>
        </td>
    }
    .into_any()
}

#[component]
fn EvidencePanel(evidence: Evidence) -> impl IntoView {
    view! {
        <section id="evidence" class="evidence" aria-labelledby="evidence-title">
            <h2 id="evidence-title">{format!("{} in {}", evidence.gate, evidence.train)}</h2>
            <p>
                <a href=format!("/trains/{}", evidence.train_id)>"Open the train"</a>
            </p>
            <h3>"Candidates now"</h3>
            <ul class="evidence-candidates">
                {evidence
                    .candidates
                    .into_iter()
                    .map(|(service, state, detail)| {
                        let why = if detail.is_empty() { String::new() } else { format!(" — {detail}") };
                        view! { <li class=format!("gate-{state}")>{format!("{} {service}: {state}{why}", gate_icon(&state))}</li> }
                    })
                    .collect_view()}
            </ul>
            <h3>"Every answer the gate gave"</h3>
            {evidence.runs.is_empty().then(|| view! { <p class="empty">"The gate has not answered yet."</p> })}
            <WideTable label="Every answer the gate gave">
                <table class="evidence-runs">
                    <thead>
                        <tr>
                            <th scope="col">"When (UTC)"</th>
                            <th scope="col">"Service"</th>
                            <th scope="col">"Answer"</th>
                            <th scope="col">"Detail"</th>
                            <th scope="col">"Reported by"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {evidence
                            .runs
                            .into_iter()
                            .map(|run| {
                                view! {
                                    <tr>
                                        <td>{timestamp(run.at)}</td>
                                        <td>{run.service}</td>
                                        <td class=format!("gate-{}", run.outcome)>
                                            {format!("{} {}", gate_icon(&run.outcome), run.outcome)}
                                        </td>
                                        <td>{run.detail}</td>
                                        <td class="reported-by">{run.reported_by}</td>
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
fn Flakiness(flakiness: Vec<GateFlakiness>, trains: usize) -> impl IntoView {
    view! {
        <section class="flakiness" aria-labelledby="flakiness-title">
            <h2 id="flakiness-title">{format!("Flakiness over the {trains} train{} shown", if trains == 1 { "" } else { "s" })}</h2>
            <p class="explain">
                "A candidate is flaky for a gate when the gate both passed and failed (or errored, or could not decide) for the same build."
            </p>
            {flakiness.is_empty().then(|| view! { <p class="empty">"No gate has answered yet."</p> })}
            <WideTable label="Flakiness">
                <table class="flakiness-table">
                    <thead>
                        <tr>
                            <th scope="col">"Gate"</th>
                            <th scope="col">"Flaky"</th>
                            <th scope="col">"Candidates judged"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {flakiness
                            .into_iter()
                            .map(|f| {
                                let share = if f.judged == 0 { 0.0 } else { f.flaky as f64 / f.judged as f64 };
                                let (class, mark) = if share >= 0.05 { ("flaky", "▲ ") } else { ("steady", "") };
                                view! {
                                    <tr class=class>
                                        <th scope="row">{f.gate}</th>
                                        <td>{format!("{mark}{:.0}% ({} of {})", share * 100.0, f.flaky, f.judged)}</td>
                                        <td>{f.judged}</td>
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
