//! A train's row in the console: its phase, step and the actions the engine
//! allows now, and the undecided gates waiting for the person.

use leptos::prelude::*;

use super::{
    refusal, ConsoleTrain, OperateTrain, OverrideGate, OverrideStep, RemoveCandidate, TrainAction, UndecidedGate,
    WaiveGate,
};
use crate::gates::gate_icon;
use crate::viewer_time::{clock_time, ViewerZone};

/// A train's row. Its phase, step, waiting reason and actions follow `latest`;
/// an action's button (or open form) stays while that action is offered.
#[component]
pub(crate) fn TrainRow(
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
pub(super) fn UndecidedItem(
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
