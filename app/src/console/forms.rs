//! The console's forms: approving a candidate, deciding a break-glass
//! request, starting an emergency train or a rehearsal, declaring a freeze
//! and asking for break-glass access.

use leptos::prelude::*;

use super::{
    refusal, BreakGlassItem, DecideBreakGlass, DecideCandidate, DeclareFreeze, EmergencyOption, PendingCandidate,
    PreviewFreeze, RequestBreakGlass, StartEmergency, StartRehearsal,
};
use crate::error_text;

#[component]
pub(super) fn CandidateItem(
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
pub(super) fn BreakGlassDecision(
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
pub(super) fn EmergencyForm(
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
pub(super) fn RehearsalForm(
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
pub(super) fn FreezeDeclaration(
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
pub(super) fn BreakGlassForm(domains: Signal<Vec<String>>, ask: ServerAction<RequestBreakGlass>) -> impl IntoView {
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
