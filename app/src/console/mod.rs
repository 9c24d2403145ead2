//! `/console`: the release manager's and approver's working page. What it
//! offers depends on the person's roles (computed by the server, which
//! also checks every action again). Forms work without JavaScript; with it,
//! they run in place and the console refreshes every two seconds.

mod model;

pub use model::{
    BreakGlassItem, ConsoleTrain, ConsoleView, EmergencyCandidate, EmergencyOption, FreezeForm, FreezeImpactView,
    FreezePreviewView, OverrideStep, PendingCandidate, ServiceContact, TrainAction, UndecidedGate,
};

use leptos::prelude::*;
use leptos::server_fn::ServerFn;

use crate::error_text;
use crate::gates::gate_icon;

use crate::viewer_time::{clock_time, provide_viewer_zone, ViewerZone};
use crate::wide_table::WideTable;

/// The console for the signed-in person.
#[server(prefix = "/rpc", endpoint = "console")]
pub async fn load_console() -> Result<ConsoleView, ServerFnError> {
    let (backend, caller) = crate::backend::backend_and_caller()?;
    backend.console(&caller).await.map_err(crate::backend::BackendError::into_server_error)
}

/// Holds, resumes, promotes, aborts or rolls back a train, or one `service` of it.
#[server(prefix = "/rpc", endpoint = "operate_train")]
pub async fn operate_train(
    train_id: String,
    action: String,
    reason: String,
    service: Option<String>,
) -> Result<String, ServerFnError> {
    let (backend, caller) = crate::backend::backend_and_caller()?;
    let action = TrainAction::parse(&action).ok_or_else(|| ServerFnError::new(format!("unknown action {action}")))?;
    let result = backend.operate_train(&caller, train_id, action, reason, service).await;
    result.map_err(crate::backend::BackendError::into_server_error)
}

/// Waives a candidate's gate on a train (a reason is required and audited).
#[server(prefix = "/rpc", endpoint = "waive_gate")]
pub async fn waive_gate(
    train_id: String,
    artifact_id: String,
    gate: String,
    reason: String,
) -> Result<String, ServerFnError> {
    let (backend, caller) = crate::backend::backend_and_caller()?;
    let result = backend.waive_gate(&caller, train_id, artifact_id, gate, reason).await;
    result.map_err(crate::backend::BackendError::into_server_error)
}

/// Asks for (`step = "ask"`) or grants (`"grant"`) a two-person override of
/// a failed or blocked gate (a reason is required and audited).
#[server(prefix = "/rpc", endpoint = "override_gate")]
pub async fn override_gate(
    train_id: String,
    artifact_id: String,
    gate: String,
    step: String,
    reason: String,
) -> Result<String, ServerFnError> {
    let (backend, caller) = crate::backend::backend_and_caller()?;
    let step = OverrideStep::parse(&step).ok_or_else(|| ServerFnError::new(format!("unknown override step {step}")))?;
    let result = backend.override_gate(&caller, train_id, artifact_id, gate, step, reason).await;
    result.map_err(crate::backend::BackendError::into_server_error)
}

/// Takes a candidate (with its atomic group) off a train before anything is deployed.
#[server(prefix = "/rpc", endpoint = "remove_candidate")]
pub async fn remove_candidate(train_id: String, artifact_id: String, reason: String) -> Result<String, ServerFnError> {
    let (backend, caller) = crate::backend::backend_and_caller()?;
    let result = backend.remove_candidate(&caller, train_id, artifact_id, reason).await;
    result.map_err(crate::backend::BackendError::into_server_error)
}

/// Approves or rejects a candidate.
#[server(prefix = "/rpc", endpoint = "decide_candidate")]
pub async fn decide_candidate(artifact_id: String, decision: String, comment: String) -> Result<String, ServerFnError> {
    let (backend, caller) = crate::backend::backend_and_caller()?;
    let result = backend.decide_candidate(&caller, artifact_id, decision, comment).await;
    result.map_err(crate::backend::BackendError::into_server_error)
}

/// Asks for a break-glass in a domain.
#[server(prefix = "/rpc", endpoint = "request_break_glass")]
pub async fn request_break_glass(domain: String, reason: String, duration: String) -> Result<String, ServerFnError> {
    let (backend, caller) = crate::backend::backend_and_caller()?;
    let result = backend.request_break_glass(&caller, domain, reason, duration).await;
    result.map_err(crate::backend::BackendError::into_server_error)
}

/// Starts an emergency train for the ticked candidates (`artifacts[0]`, `artifacts[1]`, … in the form).
#[server(prefix = "/rpc", endpoint = "start_emergency")]
pub async fn start_emergency(
    definition: String,
    artifacts: Option<Vec<String>>,
    reason: String,
    kind: Option<String>,
) -> Result<String, ServerFnError> {
    let (backend, caller) = crate::backend::backend_and_caller()?;
    let result = backend.start_emergency(&caller, definition, artifacts.unwrap_or_default(), reason, kind).await;
    result.map_err(crate::backend::BackendError::into_server_error)
}

/// Starts a rehearsal of a train definition: staging and the canary judge, never production.
#[server(prefix = "/rpc", endpoint = "start_rehearsal")]
pub async fn start_rehearsal(definition: String, reason: String) -> Result<String, ServerFnError> {
    let (backend, caller) = crate::backend::backend_and_caller()?;
    let result = backend.start_rehearsal(&caller, definition, reason).await;
    result.map_err(crate::backend::BackendError::into_server_error)
}

/// What declaring a freeze would do: the trains it would suspend or move. Stores nothing.
#[server(prefix = "/rpc", endpoint = "preview_freeze")]
pub async fn preview_freeze(form: FreezeForm) -> Result<FreezePreviewView, ServerFnError> {
    let (backend, caller) = crate::backend::backend_and_caller()?;
    backend.preview_freeze(&caller, form).await.map_err(crate::backend::BackendError::into_server_error)
}

/// Declares a freeze (after its preview).
#[server(prefix = "/rpc", endpoint = "declare_freeze")]
pub async fn declare_freeze(form: FreezeForm) -> Result<String, ServerFnError> {
    let (backend, caller) = crate::backend::backend_and_caller()?;
    backend.declare_freeze(&caller, form).await.map_err(crate::backend::BackendError::into_server_error)
}

/// Approves or rejects a break-glass request.
#[server(prefix = "/rpc", endpoint = "decide_break_glass")]
pub async fn decide_break_glass(id: String, decision: String, comment: String) -> Result<String, ServerFnError> {
    let (backend, caller) = crate::backend::backend_and_caller()?;
    let result = backend.decide_break_glass(&caller, id, decision, comment).await;
    result.map_err(crate::backend::BackendError::into_server_error)
}

/// Remembers which object (by `key_of` of the submitted form) `action` last ran for.
fn track<S>(action: ServerAction<S>, key_of: fn(&S) -> String) -> ReadSignal<Option<String>>
where
    S: ServerFn + Clone + Send + Sync + 'static,
    S::Output: Send + Sync + 'static,
    S::Error: Send + Sync + 'static,
{
    let (acted_on, set_acted_on) = signal(None::<String>);
    Effect::new(move |_| {
        if let Some(input) = action.input().get() {
            set_acted_on.set(Some(key_of(&input)));
        }
    });
    acted_on
}

/// The refusal of `action`'s last run, if it ran for `key`: shown beside that object's controls.
fn refusal<S>(
    action: ServerAction<S>,
    acted_on: ReadSignal<Option<String>>,
    key: String,
) -> impl Fn() -> Option<AnyView> + Send + Sync + 'static
where
    S: ServerFn<Error = ServerFnError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    move || {
        (acted_on.get().as_deref() == Some(key.as_str()))
            .then(|| action.value().get().and_then(Result::err))
            .flatten()
            .map(|error| view! { <p class="action-error" role="alert">{error_text(&error)}</p> }.into_any())
    }
}

/// The page.
#[component]
pub fn ConsolePage() -> impl IntoView {
    let act = ServerAction::<OperateTrain>::new();
    let waive = ServerAction::<WaiveGate>::new();
    let overriding = ServerAction::<OverrideGate>::new();
    let remove = ServerAction::<RemoveCandidate>::new();
    let decide = ServerAction::<DecideCandidate>::new();
    let ask = ServerAction::<RequestBreakGlass>::new();
    let glass = ServerAction::<DecideBreakGlass>::new();
    let emergency = ServerAction::<StartEmergency>::new();
    let rehearsal = ServerAction::<StartRehearsal>::new();
    let preview = ServerAction::<PreviewFreeze>::new();
    let declare = ServerAction::<DeclareFreeze>::new();
    let (tick, set_tick) = signal(0u32);
    let console = Resource::new(
        move || {
            let versions = [
                act.version(),
                waive.version(),
                overriding.version(),
                remove.version(),
                decide.version(),
                ask.version(),
                glass.version(),
                emergency.version(),
                rehearsal.version(),
                declare.version(),
            ];
            (tick.get(), versions.map(|v| v.get()))
        },
        |_| load_console(),
    );
    // Changes made elsewhere (other people, the engine) show within two seconds.
    Effect::new(move |_| {
        let _ = set_interval_with_handle(move || set_tick.update(|n| *n += 1), std::time::Duration::from_secs(2));
    });
    let zone = provide_viewer_zone();
    // Which object each action last ran for, so its refusal shows beside that object's controls.
    let acted_on = track(act, |input| input.train_id.clone());
    let waived = track(waive, |input| format!("{}/{}/{}", input.train_id, input.artifact_id, input.gate));
    let overridden = track(overriding, |input| format!("{}/{}/{}", input.train_id, input.artifact_id, input.gate));
    let removed = track(remove, |input| format!("{}/{}", input.train_id, input.artifact_id));
    let decided = track(decide, |input| input.artifact_id.clone());
    let glassed = track(glass, |input| input.id.clone());
    let started = track(emergency, |input| input.definition.clone());
    let rehearsed = track(rehearsal, |input| input.definition.clone());
    let loaded = move || console.get().and_then(Result::ok);
    let latest = Signal::derive(move || loaded().map(|v| v.trains).unwrap_or_default());
    view! {
        <section class="console" aria-labelledby="console-title">
            <h1 id="console-title">"Console"</h1>
            <Transition fallback=|| view! { <p class="loading">"Loading the console…"</p> }>
                {move || {
                    console
                        .get()
                        .and_then(Result::err)
                        .map(|error| view! { <p class="notice error" role="alert">{error_text(&error)}</p> })
                }}
                <Show when=move || loaded().is_some()>
                    <section class="waiting" aria-labelledby="waiting-title">
                        <h2 id="waiting-title">
                            "Waiting for you "
                            <span class="count">{move || loaded().map(|v| v.waiting_count()).unwrap_or_default()}</span>
                        </h2>
                        <Show when=move || loaded().is_some_and(|v| v.waiting_count() == 0)>
                            <p class="empty">"Nothing waits for you."</p>
                        </Show>
                        <ul class="approvals">
                            <For
                                each=move || loaded().map(|v| v.approvals).unwrap_or_default()
                                key=|candidate| candidate.clone()
                                let:candidate
                            >
                                <CandidateItem candidate decide decided/>
                            </For>
                        </ul>
                        <ul class="undecided-gates">
                            <For
                                each=move || loaded().map(|v| v.undecided).unwrap_or_default()
                                key=|gate| gate.clone()
                                let:gate
                            >
                                <UndecidedItem gate waive waived overriding overridden remove removed/>
                            </For>
                        </ul>
                        <ul class="break-glass-waiting">
                            <For
                                each=move || {
                                    loaded()
                                        .map(|v| v.break_glass.into_iter().filter(|b| b.can_approve).collect::<Vec<_>>())
                                        .unwrap_or_default()
                                }
                                key=|item| item.clone()
                                let:item
                            >
                                <BreakGlassDecision item glass glassed/>
                            </For>
                        </ul>
                    </section>
                    <section class="active-trains" aria-labelledby="trains-title">
                        <h2 id="trains-title">"Trains in flight"</h2>
                        <WideTable label="Trains in flight">
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
                                    // A row lives as long as its train is listed; its actions come and
                                    // go one by one, so a form being filled in stays open while the
                                    // train moves on (and the engine's offer changes around it).
                                    <For
                                        each=move || loaded().map(|v| v.trains).unwrap_or_default()
                                        key=|train| train.id.clone()
                                        let:train
                                    >
                                        <TrainRow train latest zone act acted_on/>
                                    </For>
                                </tbody>
                            </table>
                        </WideTable>
                    </section>
                    <Show when=move || loaded().is_some_and(|v| !v.emergency.is_empty())>
                        <section class="emergency" aria-labelledby="emergency-title">
                            <h2 id="emergency-title">"Emergency trains and rehearsals"</h2>
                            <p class="hint">
                                "An emergency or hotfix starts now, outside the cadence, for the candidates you tick, through its kind's reduced gates. A rehearsal runs the next candidates through staging only."
                            </p>
                            <For
                                each=move || loaded().map(|v| v.emergency).unwrap_or_default()
                                key=|option| option.clone()
                                let:option
                            >
                                <EmergencyForm option=option.clone() emergency started/>
                                    <RehearsalForm definition=option.definition rehearsal rehearsed/>
                            </For>
                        </section>
                    </Show>
                    <Show when=move || loaded().is_some_and(|v| !v.operable_domains.is_empty())>
                        <section class="freezes" aria-labelledby="freeze-title">
                            <h2 id="freeze-title">"Freezes"</h2>
                            <FreezeDeclaration
                                domains=Signal::derive(move || loaded().map(|v| v.operable_domains).unwrap_or_default())
                                everywhere=Signal::derive(move || loaded().is_some_and(|v| v.can_freeze_everywhere))
                                preview
                                declare
                            />
                        </section>
                    </Show>
                    <section class="break-glass" aria-labelledby="glass-title">
                        <h2 id="glass-title">"Break-glass"</h2>
                        <Show when=move || loaded().is_some_and(|v| !v.operable_domains.is_empty())>
                            <BreakGlassForm
                                domains=Signal::derive(move || loaded().map(|v| v.operable_domains).unwrap_or_default())
                                ask
                            />
                        </Show>
                        <ul class="break-glass-list">
                            <For
                                each=move || loaded().map(|v| v.break_glass).unwrap_or_default()
                                key=|item| item.clone()
                                let:item
                            >
                                <li class=format!("glass status-{}", item.status)>
                                    <strong>{item.domain.clone()}</strong>
                                    {format!(
                                        " — {} asked: {} ({}",
                                        item.requested_by,
                                        item.reason,
                                        item.status,
                                    )}
                                    {(!item.approvers.is_empty())
                                        .then(|| format!("; approved by {}", item.approvers.join(" and ")))}
                                    ")"
                                </li>
                            </For>
                        </ul>
                    </section>
                </Show>
            </Transition>
        </section>
    }
}

/// A train's row. Its phase, step, waiting reason and actions follow `latest`;
/// an action's button (or open form) stays while that action is offered.
#[component]
fn TrainRow(
    train: ConsoleTrain,
    latest: Signal<Vec<ConsoleTrain>>,
    zone: ViewerZone,
    act: ServerAction<OperateTrain>,
    acted_on: ReadSignal<Option<String>>,
) -> impl IntoView {
    let ViewerZone(zone_name) = zone;
    let row_error = refusal(act, acted_on, train.id.clone());
    let current = {
        let first = train.clone();
        Memo::new(move |_| {
            latest.with(|trains| trains.iter().find(|t| t.id == first.id).cloned()).unwrap_or_else(|| first.clone())
        })
    };
    let phase = move || current.with(|t| t.phase.clone());
    let when = move || clock_time(current.with(|t| t.cutover_at), zone_name.get().is_some());
    let id = train.id.clone();
    view! {
        <tr class=move || format!("console-train phase-{}", phase()) data-train=train.id.clone()>
            <th scope="row">
                <crate::KindMark kind=train.kind/>
                " "
                <a href=format!("/trains/{}", train.id)>{train.name.clone()}</a>
            </th>
            <td>{train.domain.clone()}</td>
            <td>
                <span class=move || format!("phase phase-{}", phase())>{move || phase().replace('_', " ")}</span>
                {move || {
                    let reason = current.with(|t| t.waiting_reason.clone());
                    (!reason.is_empty()).then(|| view! { <span class="waiting-reason">{reason}</span> })
                }}
            </td>
            <td>
                {move || current.with(|t| t.step.clone())}
                <ul class="contacts">
                    {train
                        .services
                        .iter()
                        .map(|service| {
                            let runbook = (!service.runbook_url.is_empty())
                                .then(|| {
                                    view! {
                                        " · "
                                        <a href=service.runbook_url.clone() rel="noopener" target="_blank">"runbook"</a>
                                    }
                                });
                            let on_call = (!service.on_call.is_empty())
                                .then(|| format!(" · on call: {}", service.on_call));
                            view! {
                                <li class="contact">
                                    <span class="service-name">{service.name.clone()}</span>
                                    {runbook}
                                    {on_call}
                                </li>
                            }
                                .into_any()
                        })
                        .collect_view()}
                </ul>
            </td>
            <td>
                <time>{when}</time>
            </td>
            <td class="actions">
                <For
                    each=move || {
                        current
                            .with(|t| {
                                t.actions
                                    .iter()
                                    .map(|action| {
                                        let alone = *action == TrainAction::RollBackService;
                                        (*action, if alone { t.rollback_services.clone() } else { Vec::new() })
                                    })
                                    .collect::<Vec<_>>()
                            })
                    }
                    key=|offer| offer.clone()
                    let:offer
                >
                    <ActionButton train_id=id.clone() action=offer.0 services=offer.1 act/>
                </For>
                {move || current.with(|t| t.actions.is_empty()).then(|| view! { <span class="no-actions">"—"</span> })}
                {row_error}
            </td>
        </tr>
    }
    .into_any()
}

/// One action: a plain button, or for destructive ones a disclosure asking
/// for a reason (and for one service's rollback, which service) and confirmation.
#[component]
fn ActionButton(
    train_id: String,
    action: TrainAction,
    services: Vec<String>,
    act: ServerAction<OperateTrain>,
) -> impl IntoView {
    if action.needs_reason() {
        let verb = action.label().trim_end_matches('…').to_owned();
        let button = if action.destructive() { "danger" } else { "action" };
        let service_choice = (action == TrainAction::RollBackService).then(|| {
            view! {
                <label>
                    "Service "
                    <select name="service" required>
                        {services
                            .into_iter()
                            .map(|service| view! { <option value=service.clone()>{service.clone()}</option> })
                            .collect_view()}
                    </select>
                </label>
            }
        });
        view! {
            <details class="confirm">
                <summary class=format!("action action-{}", action.as_str())>{action.label()}</summary>
                <ActionForm action=act>
                    <input type="hidden" name="train_id" value=train_id/>
                    <input type="hidden" name="action" value=action.as_str()/>
                    {service_choice}
                    <label>
                        "Reason" <input type="text" name="reason" required minlength="3" placeholder="why"/>
                    </label>
                    <button type="submit" class=format!("confirm-button {button}")>
                        {format!("Confirm: {}", verb.to_lowercase())}
                    </button>
                </ActionForm>
            </details>
        }
        .into_any()
    } else {
        view! {
            <ActionForm action=act attr:class="inline-action">
                <input type="hidden" name="train_id" value=train_id/>
                <input type="hidden" name="action" value=action.as_str()/>
                <input type="hidden" name="reason" value=""/>
                <button type="submit" class=format!("action action-{}", action.as_str())>{action.label()}</button>
            </ActionForm>
        }
        .into_any()
    }
}

/// A gate that could not decide, with forms to waive it (where a waiver
/// applies) or to take its candidate off the train (each with a reason, confirmed).
#[component]
fn UndecidedItem(
    gate: UndecidedGate,
    waive: ServerAction<WaiveGate>,
    waived: ReadSignal<Option<String>>,
    overriding: ServerAction<OverrideGate>,
    overridden: ReadSignal<Option<String>>,
    remove: ServerAction<RemoveCandidate>,
    removed: ReadSignal<Option<String>>,
) -> impl IntoView {
    let error = refusal(waive, waived, format!("{}/{}/{}", gate.train_id, gate.artifact_id, gate.gate));
    let override_error =
        refusal(overriding, overridden, format!("{}/{}/{}", gate.train_id, gate.artifact_id, gate.gate));
    let ids = (gate.train_id.clone(), gate.artifact_id.clone(), gate.gate.clone());
    let override_form = gate.override_offer.map(move |step| {
        let (train_id, artifact_id, gate_name) = ids;
        let (summary, placeholder, confirm) = match step {
            OverrideStep::Ask => (
                "Ask for an override…",
                "why it is safe to ship anyway",
                "Confirm: ask an approver to override the gate",
            ),
            OverrideStep::Grant => ("Grant the override…", "what you checked", "Confirm: grant the override"),
        };
        view! {
            <details class="confirm">
                <summary class=format!("action action-override-{}", step.as_str())>{summary}</summary>
                <ActionForm action=overriding>
                    <input type="hidden" name="train_id" value=train_id/>
                    <input type="hidden" name="artifact_id" value=artifact_id/>
                    <input type="hidden" name="gate" value=gate_name/>
                    <input type="hidden" name="step" value=step.as_str()/>
                    <label>
                        "Reason" <input type="text" name="reason" required minlength="3" placeholder=placeholder/>
                    </label>
                    <button type="submit" class="confirm-button danger">{confirm}</button>
                </ActionForm>
            </details>
        }
    });
    let request = (!gate.override_request.is_empty())
        .then(|| view! { <p class="override-request">{gate.override_request.clone()}</p> });
    let removable = gate.removable;
    let removal_error = refusal(remove, removed, format!("{}/{}", gate.train_id, gate.artifact_id));
    let (train_id, artifact_id) = (gate.train_id.clone(), gate.artifact_id.clone());
    let confirm_removal = format!("Confirm: take {} off the train", gate.service);
    view! {
        <li class=format!("undecided gate-{}", gate.state)>
            <span class="what">
                <strong>{format!("{} {} of {} {}", gate_icon(&gate.state), gate.gate, gate.service, gate.state)}</strong>
                " on "
                <a href=format!("/trains/{}", gate.train_id)>{gate.train.clone()}</a>
                {(!gate.detail.is_empty()).then(|| format!(" — {}", gate.detail))}
            </span>
            {gate.waivable.then(|| view! {
            <details class="confirm">
                <summary class="action action-waive">"Waive…"</summary>
                <ActionForm action=waive>
                    <input type="hidden" name="train_id" value=gate.train_id.clone()/>
                    <input type="hidden" name="artifact_id" value=gate.artifact_id.clone()/>
                    <input type="hidden" name="gate" value=gate.gate.clone()/>
                    <label>
                        "Reason" <input type="text" name="reason" required minlength="3" placeholder="why it is safe to ship"/>
                    </label>
                    <button type="submit" class="confirm-button danger">"Confirm: waive the gate"</button>
                </ActionForm>
            </details>
            })}
            {request}
            {override_form}
            {removable.then(|| view! {
            <details class="confirm">
                <summary class="action action-remove_candidate">"Take off the train…"</summary>
                <ActionForm action=remove>
                    <input type="hidden" name="train_id" value=train_id/>
                    <input type="hidden" name="artifact_id" value=artifact_id/>
                    <label>
                        "Reason" <input type="text" name="reason" required minlength="3" placeholder="why it waits for a later train"/>
                    </label>
                    <button type="submit" class="confirm-button danger">{confirm_removal}</button>
                </ActionForm>
            </details>
            })}
            {error}
            {override_error}
            {removal_error}
        </li>
    }
}

#[component]
fn CandidateItem(
    candidate: PendingCandidate,
    decide: ServerAction<DecideCandidate>,
    decided: ReadSignal<Option<String>>,
) -> impl IntoView {
    let (approve_id, reject_id) = (candidate.artifact_id.clone(), candidate.artifact_id.clone());
    let error = refusal(decide, decided, candidate.artifact_id.clone());
    view! {
        <li class="candidate">
            <span class="what">
                <strong>{format!("{} {}", candidate.service, candidate.version)}</strong>
                {format!(
                    " by {}{} in {} — {} of {} approvals",
                    candidate.author,
                    if candidate.author_known { "" } else { " (author unknown to Railyard)" },
                    candidate.domain,
                    candidate.approved,
                    candidate.required,
                )}
            </span>
            <ActionForm action=decide attr:class="inline-action">
                <input type="hidden" name="artifact_id" value=approve_id/>
                <input type="hidden" name="decision" value="approve"/>
                <input type="hidden" name="comment" value=""/>
                <button type="submit" class="action action-approve">"Approve"</button>
            </ActionForm>
            <details class="confirm">
                <summary class="action action-reject">"Reject…"</summary>
                <ActionForm action=decide>
                    <input type="hidden" name="artifact_id" value=reject_id/>
                    <input type="hidden" name="decision" value="reject"/>
                    <label>
                        "Comment" <input type="text" name="comment" required minlength="3" placeholder="why"/>
                    </label>
                    <button type="submit" class="danger">"Confirm: reject"</button>
                </ActionForm>
            </details>
            {error}
        </li>
    }
}

#[component]
fn BreakGlassDecision(
    item: BreakGlassItem,
    glass: ServerAction<DecideBreakGlass>,
    glassed: ReadSignal<Option<String>>,
) -> impl IntoView {
    let (approve_id, reject_id) = (item.id.clone(), item.id.clone());
    let error = refusal(glass, glassed, item.id.clone());
    view! {
        <li class="glass-request">
            <span class="what">
                <strong>{format!("Break-glass for {}", item.domain)}</strong>
                {format!(" — {} asks: {}", item.requested_by, item.reason)}
                {(!item.approvers.is_empty()).then(|| format!(" (approved by {})", item.approvers.join(", ")))}
            </span>
            <ActionForm action=glass attr:class="inline-action">
                <input type="hidden" name="id" value=approve_id/>
                <input type="hidden" name="decision" value="approve"/>
                <input type="hidden" name="comment" value=""/>
                <button type="submit" class="action action-approve">"Approve break-glass"</button>
            </ActionForm>
            <details class="confirm">
                <summary class="action action-reject">"Reject…"</summary>
                <ActionForm action=glass>
                    <input type="hidden" name="id" value=reject_id/>
                    <input type="hidden" name="decision" value="reject"/>
                    <label>
                        "Comment" <input type="text" name="comment" required minlength="3" placeholder="why"/>
                    </label>
                    <button type="submit" class="danger">"Confirm: reject"</button>
                </ActionForm>
            </details>
            {error}
        </li>
    }
}

#[component]
fn EmergencyForm(
    option: EmergencyOption,
    emergency: ServerAction<StartEmergency>,
    started: ReadSignal<Option<String>>,
) -> impl IntoView {
    let summary = format!("Start an emergency {} train…", option.definition);
    let error = refusal(emergency, started, option.definition.clone());
    let definition = option.definition.clone();
    view! {
        <details class="confirm start-emergency" data-definition=option.definition.clone()>
            <summary class="action action-emergency">{summary}</summary>
            <ActionForm action=emergency>
                <input type="hidden" name="definition" value=definition/>
                <fieldset>
                    <legend>{format!("Candidates ({})", option.domain)}</legend>
                    {option
                        .candidates
                        .iter()
                        .enumerate()
                        .map(|(index, candidate)| {
                            view! {
                                <label class="candidate-choice">
                                    <input
                                        type="checkbox"
                                        name=format!("artifacts[{index}]")
                                        value=candidate.artifact_id.clone()
                                    />
                                    {format!(" {} {}", candidate.service, candidate.version)}
                                </label>
                            }
                        })
                        .collect_view()}
                </fieldset>
                <label>
                    "Kind"
                    <select name="kind">
                        <option value="emergency">"emergency"</option>
                        <option value="hotfix">"hotfix (one fix; adds the security scan)"</option>
                    </select>
                </label>
                <label>
                    "Reason" <input type="text" name="reason" required minlength="10" placeholder="why this cannot wait"/>
                </label>
                <button type="submit" class="danger">"Confirm: start emergency train"</button>
            </ActionForm>
            {error}
        </details>
    }
    .into_any()
}

/// Starts a rehearsal: the definition's next candidates through its gates,
/// staging and the canary judge, never production.
#[component]
fn RehearsalForm(
    definition: String,
    rehearsal: ServerAction<StartRehearsal>,
    rehearsed: ReadSignal<Option<String>>,
) -> impl IntoView {
    let summary = format!("Rehearse {} on staging…", definition);
    let error = refusal(rehearsal, rehearsed, definition.clone());
    let marker = definition.clone();
    view! {
        <details class="confirm start-rehearsal" data-definition=marker>
            <summary class="action action-rehearsal">{summary}</summary>
            <ActionForm action=rehearsal>
                <input type="hidden" name="definition" value=definition/>
                <p>"Same candidates and gates, staging and canary analysis; nothing reaches production."</p>
                <label>
                    "Reason"
                    <input type="text" name="reason" required minlength="10" placeholder="e.g. game day, before a risky train"/>
                </label>
                <button type="submit" class="action">"Confirm: start rehearsal"</button>
            </ActionForm>
            {error}
        </details>
    }
    .into_any()
}

#[component]
fn FreezeDeclaration(
    domains: Signal<Vec<String>>,
    everywhere: Signal<bool>,
    preview: ServerAction<PreviewFreeze>,
    declare: ServerAction<DeclareFreeze>,
) -> impl IntoView {
    let declared = move || declare.value().get().and_then(Result::ok);
    let previewed = move || preview.value().get().and_then(Result::ok).filter(|_| declared().is_none());
    view! {
        <details class="confirm declare-freeze">
            <summary class="action action-freeze">"Declare a freeze…"</summary>
            <ActionForm action=preview>
                <label>"Name" <input type="text" name="form[name]" required placeholder="ledger-migration"/></label>
                <label>
                    "Domain"
                    <select name="form[domain]">
                        {move || {
                            domains
                                .get()
                                .into_iter()
                                .map(|domain| view! { <option value=domain.clone()>{domain.clone()}</option> })
                                .collect_view()
                        }}
                        {move || everywhere.get().then(|| view! { <option value="">"every domain"</option> })}
                    </select>
                </label>
                <label>"Starts" <input type="datetime-local" name="form[starts]" required/></label>
                <label>"Ends" <input type="datetime-local" name="form[ends]" required/></label>
                <label>"Time zone" <input type="text" name="form[time_zone]" value="UTC" required/></label>
                <label>"Reason" <input type="text" name="form[reason]" required minlength="5" placeholder="why"/></label>
                <button type="submit" class="action action-preview">"Preview impact"</button>
            </ActionForm>
            {move || {
                previewed()
                    .map(|shown| {
                        let form = shown.form.clone();
                        let count = shown.impacts.len();
                        view! {
                            <div class="freeze-impact" role="status">
                                <p>
                                    {format!(
                                        "{} would hold {count} train{}:",
                                        form.name,
                                        if count == 1 { "" } else { "s" },
                                    )}
                                </p>
                                <ul class="impacts">
                                    {shown
                                        .impacts
                                        .iter()
                                        .map(|impact| {
                                            let verb = if impact.effect == "moved" {
                                                "cutover moves"
                                            } else {
                                                "suspended"
                                            };
                                            view! {
                                                <li class=format!("impact impact-{}", impact.effect)>
                                                    <strong>{impact.definition.clone()}</strong>
                                                    {format!(
                                                        " ({}, {}): cutover {} — {verb} until {}",
                                                        impact.domain,
                                                        impact.state,
                                                        impact.cutover_at,
                                                        impact.until,
                                                    )}
                                                </li>
                                            }
                                        })
                                        .collect_view()}
                                </ul>
                                <ActionForm action=declare>
                                    <input type="hidden" name="form[name]" value=form.name.clone()/>
                                    <input type="hidden" name="form[domain]" value=form.domain.clone()/>
                                    <input type="hidden" name="form[starts]" value=form.starts.clone()/>
                                    <input type="hidden" name="form[ends]" value=form.ends.clone()/>
                                    <input type="hidden" name="form[time_zone]" value=form.time_zone.clone()/>
                                    <input type="hidden" name="form[reason]" value=form.reason.clone()/>
                                    <button type="submit" class="danger confirm-freeze">"Confirm: declare freeze"</button>
                                </ActionForm>
                            </div>
                        }
                    })
            }}
            {move || declared().map(|message| view! { <p class="notice" role="status">{message}</p> })}
        </details>
    }
    .into_any()
}

#[component]
fn BreakGlassForm(domains: Signal<Vec<String>>, ask: ServerAction<RequestBreakGlass>) -> impl IntoView {
    view! {
        <details class="confirm request-glass">
            <summary class="action action-break-glass">"Request break-glass…"</summary>
            <ActionForm action=ask>
                <label>
                    "Domain"
                    <select name="domain">
                        {move || {
                            domains
                                .get()
                                .into_iter()
                                .map(|domain| view! { <option value=domain.clone()>{domain.clone()}</option> })
                                .collect_view()
                        }}
                    </select>
                </label>
                <label>
                    "Reason" <input type="text" name="reason" required minlength="10" placeholder="what must ship, and why now"/>
                </label>
                <label>
                    "For" <input type="text" name="duration" value="4h" required/>
                </label>
                <button type="submit" class="danger">"Ask two approvers"</button>
            </ActionForm>
            {move || {
                ask.value()
                    .get()
                    .and_then(Result::err)
                    .map(|error| view! { <p class="action-error" role="alert">{error_text(&error)}</p> })
            }}
        </details>
    }
    .into_any()
}
