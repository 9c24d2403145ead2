//! "Which train can carry a change?": a domain and the day a change is ready
//! give the first train still taking candidates then (real or projected),
//! its cutover in the viewer's zone and its own, and the freezes in the way.

use leptos::prelude::*;

use super::{NextTrainAnswer, PlannedTrain};
use crate::viewer_time::ViewerZone;

/// The next train that can carry a change of `domain` ready on `ready_on` (`YYYY-MM-DD`), read in `zone`.
#[server(prefix = "/rpc", endpoint = "next_train")]
pub async fn find_next_train(
    domain: String,
    ready_on: String,
    zone: Option<String>,
) -> Result<NextTrainAnswer, ServerFnError> {
    let (backend, caller) = crate::backend::backend_and_caller()?;
    let zone = zone.filter(|z| !z.is_empty());
    backend.next_train(&caller, domain, ready_on, zone).await.map_err(crate::backend::BackendError::into_server_error)
}

/// The form and its answer; `today` (`YYYY-MM-DD`) fills the date.
#[component]
pub fn NextTrainForm(domains: Vec<String>, today: String, zone: ViewerZone) -> impl IntoView {
    let ViewerZone(zone_name) = zone;
    let find = ServerAction::<FindNextTrain>::new();
    view! {
        <section class="next-train" aria-labelledby="next-train-title">
            <h2 id="next-train-title">"Which train can carry a change?"</h2>
            <ActionForm action=find attr:class="next-train-form">
                <label>
                    "Domain"
                    <select name="domain" required>
                        {domains.into_iter().map(|d| view! { <option value=d.clone()>{d.clone()}</option> }).collect_view()}
                    </select>
                </label>
                <label>"Ready on" <input type="date" name="ready_on" required value=today/></label>
                <input type="hidden" name="zone" value=move || zone_name.get().unwrap_or_default()/>
                <button type="submit">"Find the train"</button>
            </ActionForm>
            <div class="next-train-answer" aria-live="polite">
                {move || {
                    find.value()
                        .get()
                        .map(|answer| match answer {
                            Ok(answer) => view! { <Answer answer/> }.into_any(),
                            Err(error) => {
                                view! { <p class="notice error" role="alert">{crate::error_text(&error)}</p> }
                                    .into_any()
                            }
                        })
                }}
            </div>
        </section>
    }
}

#[component]
fn Answer(answer: NextTrainAnswer) -> impl IntoView {
    let heading = format!("A change of {} ready {}:", answer.domain, answer.ready);
    let train = match answer.train {
        None => view! { <p class="empty">"No regular train of this domain takes changes in the next 400 days."</p> }
            .into_any(),
        Some(train) => view! { <Train train/> }.into_any(),
    };
    let freezes = (!answer.freezes.is_empty()).then(|| {
        view! {
            <p>"Freezes in the way:"</p>
            <ul class="freezes-in-the-way">
                {answer.freezes.into_iter().map(|words| view! { <li>{words}</li> }).collect_view()}
            </ul>
        }
    });
    view! {
        <p>{heading}</p>
        {train}
        {freezes}
    }
}

#[component]
fn Train(train: PlannedTrain) -> impl IntoView {
    let name = match &train.train_id {
        Some(id) => view! { <a href=format!("/trains/{id}")>{train.definition.clone()}</a> }.into_any(),
        None => view! { <strong>{train.definition.clone()}</strong> }.into_any(),
    };
    let standing = if train.train_id.is_some() {
        format!(" ({})", train.state.replace('_', " "))
    } else {
        " (projected from its cadence; no train yet)".to_owned()
    };
    view! {
        <dl class="next-train-found">
            <dt>"Train"</dt>
            <dd>{name} {standing}</dd>
            <dt>"Cutover, your time"</dt>
            <dd class="cutover-viewer">{train.cutover_viewer}</dd>
            <dt>"Cutover, its own time"</dt>
            <dd class="cutover-own">{train.cutover_own}</dd>
            <dt>"Boarding closes"</dt>
            <dd>{train.boarding_closes}</dd>
            {train.freeze.map(|words| view! { <dt>"Freeze"</dt> <dd class="train-freeze">{words}</dd> })}
        </dl>
    }
}
