//! The port through which server functions reach the backend. The server
//! crate implements [`Backend`] and provides it as Leptos context. Every
//! call carries the request's parts, so the backend decides on the caller
//! exactly as the HTTP API does.

#[cfg(feature = "ssr")]
pub use port::*;

#[cfg(feature = "ssr")]
mod port {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::Arc;

    use http::request::Parts;
    use leptos::prelude::{use_context, ServerFnError};

    use crate::admin::{AccountCommand, AccountView, AdminCommand, AdminView};
    use crate::approval_link::ApprovalLinkView;
    use crate::budgets::{BudgetsView, ServiceBudgetView};
    use crate::calendar::{CalendarMonth, YearMonth};
    use crate::console::{ConsoleView, FreezeForm, FreezePreviewView, TrainAction};
    use crate::dashboard::{Countdown, Dashboard, NextTrainAnswer};
    use crate::demo::DemoGuide;
    use crate::gates::GateBoard;
    use crate::session::Viewer;
    use crate::train::TrainPage;

    /// A boxed future, so the port stays object-safe.
    pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

    /// Why the backend did not answer.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum BackendError {
        /// 401: nobody is signed in.
        SignInRequired,
        /// 403: the caller may not see or do this.
        Forbidden(String),
        /// The request itself is wrong (400).
        Invalid(String),
        /// What was asked for does not exist (404).
        NotFound(String),
        /// The request contradicts what is stored, e.g. an action the train no longer allows (409).
        Conflict(String),
        /// Too many attempts; try again after this many seconds (429).
        TooManyRequests(String, u64),
        /// A dependency is down; trying again shortly may work (503).
        Unavailable(String),
        /// Something failed on the server's side (500, already logged).
        Failed(String),
    }

    /// What the pages need from the backend.
    pub trait Backend: Send + Sync + 'static {
        /// The executive calendar for one month.
        fn calendar_month(
            &self,
            caller: &Parts,
            month: YearMonth,
            domain: Option<String>,
        ) -> BoxFuture<'_, Result<CalendarMonth, BackendError>>;
        /// The executive dashboard, for one domain or all.
        fn dashboard(&self, caller: &Parts, domain: Option<String>) -> BoxFuture<'_, Result<Dashboard, BackendError>>;
        /// The gate board over the `last` trains, with the evidence of `drill` (train id, gate).
        fn gate_board(
            &self,
            caller: &Parts,
            last: usize,
            domain: Option<String>,
            drill: Option<(String, String)>,
        ) -> BoxFuture<'_, Result<GateBoard, BackendError>>;
        /// Today's month, by the backend's clock.
        fn current_month(&self) -> YearMonth;
        /// Every service's error budget.
        fn budgets(&self, caller: &Parts) -> BoxFuture<'_, Result<BudgetsView, BackendError>>;
        /// One service's error-budget history.
        fn service_budget(
            &self,
            caller: &Parts,
            service: String,
        ) -> BoxFuture<'_, Result<ServiceBudgetView, BackendError>>;
        /// The signed-in person, if any.
        fn viewer(&self, caller: &Parts) -> Option<Viewer>;
        /// The demo's guide for this visitor; `None` outside demo mode.
        fn demo_guide(&self, caller: &Parts) -> BoxFuture<'_, Option<DemoGuide>>;
        /// The console as the caller may see and use it.
        fn console(&self, caller: &Parts) -> BoxFuture<'_, Result<ConsoleView, BackendError>>;
        /// An operator action on a train (`service` for rolling back one
        /// service); answers with the train's new phase.
        fn operate_train(
            &self,
            caller: &Parts,
            train_id: String,
            action: TrainAction,
            reason: String,
            service: Option<String>,
        ) -> BoxFuture<'_, Result<String, BackendError>>;
        /// Waives `gate` of `artifact_id` on train `train_id`; answers with the train's phase.
        fn waive_gate(
            &self,
            caller: &Parts,
            train_id: String,
            artifact_id: String,
            gate: String,
            reason: String,
        ) -> BoxFuture<'_, Result<String, BackendError>>;
        /// Asks for (`Ask`) or grants (`Grant`) a two-person override of a
        /// failed or blocked gate; answers with the train's phase.
        fn override_gate(
            &self,
            caller: &Parts,
            train_id: String,
            artifact_id: String,
            gate: String,
            step: crate::console::OverrideStep,
            reason: String,
        ) -> BoxFuture<'_, Result<String, BackendError>>;
        /// Takes `artifact_id` (with its atomic group) off train `train_id`
        /// before anything is deployed; answers with the train's phase.
        fn remove_candidate(
            &self,
            caller: &Parts,
            train_id: String,
            artifact_id: String,
            reason: String,
        ) -> BoxFuture<'_, Result<String, BackendError>>;
        /// Approves (`approve`) or rejects (`reject`) a candidate; answers with its approval status.
        fn decide_candidate(
            &self,
            caller: &Parts,
            artifact_id: String,
            decision: String,
            comment: String,
        ) -> BoxFuture<'_, Result<String, BackendError>>;
        /// The decision page an approval link opens (signed in, an eligible approver, not the author).
        fn approval_link(&self, caller: &Parts, token: String)
            -> BoxFuture<'_, Result<ApprovalLinkView, BackendError>>;
        /// Approves or rejects through an approval link, which is used up; answers what happened.
        fn decide_by_link(
            &self,
            caller: &Parts,
            token: String,
            decision: String,
            comment: String,
        ) -> BoxFuture<'_, Result<String, BackendError>>;
        /// Files a break-glass request; answers with its status.
        fn request_break_glass(
            &self,
            caller: &Parts,
            domain: String,
            reason: String,
            duration: String,
        ) -> BoxFuture<'_, Result<String, BackendError>>;
        /// Starts an emergency train of `definition` for `artifacts`; answers with what to tell the person.
        fn start_emergency(
            &self,
            caller: &Parts,
            definition: String,
            artifacts: Vec<String>,
            reason: String,
            kind: Option<String>,
        ) -> BoxFuture<'_, Result<String, BackendError>>;
        /// Starts a rehearsal of `definition`; answers with what to tell the person.
        fn start_rehearsal(
            &self,
            caller: &Parts,
            definition: String,
            reason: String,
        ) -> BoxFuture<'_, Result<String, BackendError>>;
        /// The identity provider's name for "Sign in with …", when single sign-on is set up.
        fn single_sign_on(&self) -> Option<String>;
        /// The next cutover of a train definition.
        fn countdown(&self, caller: &Parts, definition: String) -> BoxFuture<'_, Result<Countdown, BackendError>>;
        /// The next train that can carry a change of `domain` ready on `ready_on`, in the viewer's `zone`.
        fn next_train(
            &self,
            caller: &Parts,
            domain: String,
            ready_on: String,
            zone: Option<String>,
        ) -> BoxFuture<'_, Result<NextTrainAnswer, BackendError>>;
        /// One train's page.
        fn train_page(&self, caller: &Parts, id: String) -> BoxFuture<'_, Result<TrainPage, BackendError>>;
        /// One train's embedded status card (only what the card shows).
        fn train_card(
            &self,
            caller: &Parts,
            id: String,
        ) -> BoxFuture<'_, Result<crate::train::TrainCardView, BackendError>>;
        /// What declaring `form` would do; nothing is stored.
        fn preview_freeze(
            &self,
            caller: &Parts,
            form: FreezeForm,
        ) -> BoxFuture<'_, Result<FreezePreviewView, BackendError>>;
        /// Declares the freeze; answers with what to tell the person.
        fn declare_freeze(&self, caller: &Parts, form: FreezeForm) -> BoxFuture<'_, Result<String, BackendError>>;
        /// Approves (`approve`) or rejects (`reject`) a break-glass request; answers with its status.
        fn decide_break_glass(
            &self,
            caller: &Parts,
            id: String,
            decision: String,
            comment: String,
        ) -> BoxFuture<'_, Result<String, BackendError>>;
        /// The admin page (admins only).
        fn admin_view(&self, caller: &Parts) -> BoxFuture<'_, Result<AdminView, BackendError>>;
        /// An admin's change; answers with what to tell them.
        fn admin_command(&self, caller: &Parts, command: AdminCommand) -> BoxFuture<'_, Result<String, BackendError>>;
        /// The on-call view (a reader, or an embed link for the `oncall` panel).
        fn oncall(&self, caller: &Parts) -> BoxFuture<'_, Result<crate::oncall::OnCallView, BackendError>>;
        /// Reports an incident of `service` that started at `started_at` (RFC 3339; empty: now).
        fn report_incident(
            &self,
            caller: &Parts,
            service: String,
            severity: String,
            title: String,
            started_at: String,
        ) -> BoxFuture<'_, Result<String, BackendError>>;
        /// Marks incident `id` resolved now.
        fn resolve_incident(&self, caller: &Parts, id: String) -> BoxFuture<'_, Result<String, BackendError>>;
        /// The signed-in person's account.
        fn account_view(&self, caller: &Parts) -> BoxFuture<'_, Result<AccountView, BackendError>>;
        /// A change to the signed-in person's own account.
        fn account_command(
            &self,
            caller: &Parts,
            command: AccountCommand,
        ) -> BoxFuture<'_, Result<String, BackendError>>;
    }

    /// The backend as stored in Leptos context.
    pub type SharedBackend = Arc<dyn Backend>;

    /// The backend and the current request, for a server function's body.
    pub fn backend_and_caller() -> Result<(SharedBackend, Parts), ServerFnError> {
        let backend =
            use_context::<SharedBackend>().ok_or_else(|| ServerFnError::new("the backend is not configured"))?;
        let parts = use_context::<Parts>().ok_or_else(|| ServerFnError::new("no request in context"))?;
        Ok((backend, parts))
    }

    impl BackendError {
        /// Sets the response status and turns the error into the server function's error.
        pub fn into_server_error(self) -> ServerFnError {
            let (code, message) = match self {
                BackendError::SignInRequired => (401, "sign in to see this".to_owned()),
                BackendError::Forbidden(message) => (403, message),
                BackendError::Invalid(message) => (400, message),
                BackendError::NotFound(message) => (404, message),
                BackendError::Conflict(message) => (409, message),
                BackendError::TooManyRequests(message, retry_after_s) => {
                    crate::status::retry_after(retry_after_s);
                    (429, message)
                }
                BackendError::Unavailable(message) => {
                    crate::status::retry_after(5);
                    (503, message)
                }
                BackendError::Failed(message) => (500, message),
            };
            crate::status::respond_with(code);
            ServerFnError::new(message)
        }
    }
}
