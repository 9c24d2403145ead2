//! The console's server functions: each finds the caller and calls the
//! pages' backend, which checks the caller and runs the use case.

use leptos::prelude::*;

use super::{ConsoleView, FreezeForm, FreezePreviewView};
#[cfg(feature = "ssr")]
use super::{OverrideStep, TrainAction};

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
