//! `/approve/:token`: the page an approval link in a notification opens.
//! The candidate, its gates and evidence, the train and its cutover, and
//! Approve / Reject with a comment. The link grants nothing by itself:
//! without a session the server sends the browser through sign-in and back,
//! and the server checks the person may approve, did not author the build,
//! and that the link is genuine, unused and unexpired.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

pub use railyard_views::approval_link::{ApprovalLinkView, GateLine};

use crate::error_text;

/// What the link is about, for the signed-in caller.
#[server(prefix = "/rpc", endpoint = "approval_link")]
pub async fn approval_link(token: String) -> Result<ApprovalLinkView, ServerFnError> {
    let (backend, caller) = crate::backend::backend_and_caller()?;
    backend.approval_link(&caller, token).await.map_err(crate::backend::BackendError::into_server_error)
}

/// Approves or rejects through the link (which is then used up).
#[server(prefix = "/rpc", endpoint = "decide_by_link")]
pub async fn decide_by_link(token: String, decision: String, comment: String) -> Result<String, ServerFnError> {
    let (backend, caller) = crate::backend::backend_and_caller()?;
    let result = backend.decide_by_link(&caller, token, decision, comment).await;
    result.map_err(crate::backend::BackendError::into_server_error)
}

/// `/approve/:token`.
#[component]
pub fn ApprovalLinkPage() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.read().get("token").unwrap_or_default();
    let decide = ServerAction::<DecideByLink>::new();
    let request = Resource::new(token, approval_link);
    let decided = move || decide.value().get();
    view! {
        <section class="approval-link" aria-labelledby="approval-title">
            <h1 id="approval-title">"Approval requested"</h1>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || match decided() {
                    Some(Ok(text)) => view! { <p class="notice info" role="status">{text}</p> }.into_any(),
                    Some(Err(error)) => {
                        view! { <p class="notice error" role="alert">{error_text(&error)}</p> }.into_any()
                    }
                    None => ().into_any(),
                }}
                {move || {
                    request
                        .get()
                        .map(|answer| match answer {
                            Ok(shown) => {
                                let done = Signal::derive(move || matches!(decided(), Some(Ok(_))));
                                view! { <Request shown token=token() decide done/> }.into_any()
                            }
                            // A decision made here also closes the request: say what happened, not why it cannot open.
                            Err(_) if matches!(decided(), Some(Ok(_))) => ().into_any(),
                            Err(error) => {
                                view! { <p class="notice error link-refused" role="alert">{error_text(&error)}</p> }
                                    .into_any()
                            }
                        })
                }}
            </Transition>
        </section>
    }
}

#[component]
fn Request(shown: ApprovalLinkView, token: String, decide: ServerAction<DecideByLink>, done: Signal<bool>) -> AnyView {
    let token = StoredValue::new(token);
    let train = format!("/trains/{}", shown.train_id);
    view! {
        <div class="approval-request">
            <h2>{format!("{} {}", shown.service, shown.version)}</h2>
            <dl class="facts">
                <dt>"Train"</dt>
                <dd>
                    <a href=train>{shown.train.clone()}</a>
                    {format!(" ({})", shown.domain)}
                </dd>
                <dt>"Cutover"</dt>
                <dd>
                    <time datetime=shown.cutover_at.clone()>{shown.cutover_shown.clone()}</time>
                </dd>
                <dt>"Link valid until"</dt>
                <dd class="link-expiry">{shown.link_expires_shown.clone()}" (it works once)"</dd>
                <dt>"Author"</dt>
                <dd>{shown.author.clone()}</dd>
                <dt>"Commit"</dt>
                <dd>
                    <code>{shown.commit_sha.chars().take(12).collect::<String>()}</code>
                </dd>
                <dt>"Approvals"</dt>
                <dd class="approval-count">{format!("{} of {} required", shown.approved, shown.required)}</dd>
            </dl>
            {(!shown.decisions.is_empty())
                .then(|| {
                    view! {
                        <ul class="decisions">
                            {shown.decisions.iter().map(|d| view! { <li>{d.clone()}</li> }).collect_view()}
                        </ul>
                    }
                })}
            {(!shown.changes.is_empty())
                .then(|| {
                    view! {
                        <h3>"Changes"</h3>
                        <ul class="changes">
                            {shown.changes.iter().map(|c| view! { <li>{c.clone()}</li> }).collect_view()}
                        </ul>
                    }
                })}
            <h3>"Gates and evidence"</h3>
            <ul class="gates">
                {shown
                    .gates
                    .iter()
                    .map(|gate| {
                        view! {
                            <li data-gate=gate.name.clone() data-state=gate.state.clone()>
                                <strong>{gate.name.clone()}</strong>
                                {format!(": {}", gate.state)}
                                {(!gate.detail.is_empty()).then(|| format!(" — {}", gate.detail))}
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
            <Show when=move || !done.get()>
                <ActionForm action=decide attr:class="decide approve">
                    <input type="hidden" name="token" value=token.get_value()/>
                    <input type="hidden" name="decision" value="approve"/>
                    <label>"Comment (optional)" <input type="text" name="comment"/></label>
                    <button type="submit" class="action action-approve">"Approve"</button>
                </ActionForm>
                <ActionForm action=decide attr:class="decide reject">
                    <input type="hidden" name="token" value=token.get_value()/>
                    <input type="hidden" name="decision" value="reject"/>
                    <label>"Why reject" <input type="text" name="comment" required minlength="3"/></label>
                    <button type="submit" class="danger">"Reject"</button>
                </ActionForm>
            </Show>
        </div>
    }
    .into_any()
}
