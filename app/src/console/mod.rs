//! `/console`: the release manager's and approver's working page. What it
//! offers depends on the person's roles (computed by the server, which
//! also checks every action again). Forms work without JavaScript; with it,
//! they run in place and the console refreshes every two seconds.

use railyard_views::console as model;

pub use model::{
    BreakGlassItem, ConsoleTrain, ConsoleView, EmergencyCandidate, EmergencyOption, FreezeForm, FreezeImpactView,
    FreezePreviewView, OverrideStep, PendingCandidate, ServiceContact, TrainAction, UndecidedGate,
};

mod forms;
mod server_fns;
mod train_row;

use leptos::prelude::*;
use leptos::server_fn::ServerFn;

use crate::error_text;
use crate::viewer_time::provide_viewer_zone;
use crate::wide_table::WideTable;
use forms::{BreakGlassDecision, BreakGlassForm, CandidateItem, EmergencyForm, FreezeDeclaration, RehearsalForm};
pub use server_fns::*;
pub(crate) use train_row::TrainRow;
use train_row::UndecidedItem;

/// Remembers which object (by `key_of` of the submitted form) `action` last ran for.
pub(crate) fn track<S>(action: ServerAction<S>, key_of: fn(&S) -> String) -> ReadSignal<Option<String>>
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
                    <crate::oncall::IncidentDesk/>
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
