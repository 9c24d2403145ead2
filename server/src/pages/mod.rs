//! The pages' backend: implements the app's [`Backend`] port over the
//! store. Every call finds the caller the authentication layer put on the
//! request and checks it exactly as the HTTP API does (actions go through
//! the same functions as their API routes).

pub mod admin;

pub mod demo;

use app::admin::{AccountCommand, AccountView, AdminCommand, AdminView};
use app::approval_link::ApprovalLinkView;
use app::backend::{Backend, BackendError, BoxFuture};
use app::budgets::{BudgetsView, ServiceBudgetView};
use app::calendar::{CalendarMonth, YearMonth};
use app::console::{ConsoleView, FreezeForm, FreezeImpactView, FreezePreviewView, OverrideStep, TrainAction};
use app::dashboard::{Countdown, Dashboard, NextTrainAnswer};
use app::demo::DemoGuide;
use app::gates::GateBoard;
use app::session::Viewer;
use app::train::{TrainCardView, TrainPage};
use axum::http::request::Parts;

use crate::api::ApiState;
use crate::auth::middleware::{Caller, EmbedGrant};
use crate::auth::Permission;
use crate::engine::Action;
use crate::ids::{ArtifactId, TrainId};
use crate::service::views::{
    budgets, calendar, console, dashboard, gate_board as gates, next_train, train_page as train,
};
use crate::service::{self, ServiceError};
use crate::text::Text;

/// The pages' backend over the SQL store.
#[derive(Clone)]
pub struct StoreBackend {
    state: ApiState,
}

impl StoreBackend {
    /// A backend over the API's state (store, clock, auth settings).
    pub fn new(state: ApiState) -> Self {
        Self { state }
    }

    /// Train `id`'s whole page, for a caller already allowed to read it.
    async fn whole_train_page(&self, id: &str) -> Result<TrainPage, BackendError> {
        let detail = service::views::train_detail::detail(self.state.ctx(), &TrainId::from(id)).await.page()?;
        let now = self.state.ctx().now();
        let extras = train::extras(&self.state.db, &detail, now).await.page()?;
        Ok(train::page(detail, extras))
    }

    /// Applies an operator action for the caller of `parts`; answers with the train's new phase.
    fn operate(
        &self,
        parts: &Parts,
        train_id: String,
        action: Result<Action, BackendError>,
        reason: String,
    ) -> BoxFuture<'_, Result<String, BackendError>> {
        let caller = caller(parts);
        Box::pin(async move {
            let phase =
                service::trains::operate(self.state.ctx(), &*caller?, &TrainId::from(train_id), action?, &reason)
                    .await
                    .page()?;
            Ok(phase.to_string())
        })
    }
}

/// The caller of the request, as the authentication layer found it.
fn caller(parts: &Parts) -> Result<Caller, BackendError> {
    parts.extensions.get::<Caller>().cloned().ok_or(BackendError::SignInRequired)
}

/// Whether the request carries an embed link for `panel`.
fn parts_embed(parts: &Parts, panel: &str) -> bool {
    parts.extensions.get::<EmbedGrant>().is_some_and(|grant| grant.0.panel == panel)
}

/// Whether the request may read `panel`: any reader, or an embed link for that panel.
fn may_read_panel(parts: &Parts, panel: &str) -> Result<(), BackendError> {
    if parts.extensions.get::<EmbedGrant>().is_some_and(|grant| grant.0.panel == panel) {
        return Ok(());
    }
    caller(parts)?.principal.require(Permission::Read, None).page()
}

/// Whether the request may read `panel` for `params`: any reader, or an embed link for that
/// panel whose parameters say the same (a link for one service's budget shows no other).
fn may_read_panel_for(parts: &Parts, panel: &str, params: &[(&str, &str)]) -> Result<(), BackendError> {
    if let Some(grant) = parts.extensions.get::<EmbedGrant>() {
        let claims = &grant.0;
        let same = params.iter().all(|(key, value)| claims.params.get(*key).map(String::as_str) == Some(*value));
        return if claims.panel == panel && same {
            Ok(())
        } else {
            Err(BackendError::Forbidden("this embed link is for another panel".into()))
        };
    }
    may_read_panel(parts, panel)
}

/// Logs a page's failure and tells the person to try again.
fn failed<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> BackendError + '_ {
    move |error| {
        tracing::error!(error = format!("{error:#}"), "{what} failed");
        BackendError::Failed(format!("{what} failed on the server; it has been logged. Please try again."))
    }
}

/// The one conversion of a use case's refusal or failure into what a page shows.
fn page_error(error: impl Into<ServiceError>) -> BackendError {
    match error.into() {
        ServiceError::Unauthenticated(_) => BackendError::SignInRequired,
        ServiceError::Forbidden(message) => BackendError::Forbidden(message),
        ServiceError::Invalid(message) | ServiceError::Unprocessable(message) => BackendError::Invalid(message),
        ServiceError::NotFound(message) => BackendError::NotFound(message),
        ServiceError::Conflict(message) => BackendError::Conflict(message),
        ServiceError::TooMany { message, retry_after_s } => BackendError::TooManyRequests(message, retry_after_s),
        ServiceError::Unavailable(message) => BackendError::Unavailable(message),
        ServiceError::Internal(error) => {
            tracing::error!(error = format!("{error:#}"), "a page's request failed");
            BackendError::Failed("Something failed on the server; it has been logged. Please try again.".into())
        }
    }
}

/// `.page()?` turns a use case's error into a page's.
trait PageResult<T> {
    fn page(self) -> Result<T, BackendError>;
}

impl<T, E: Into<ServiceError>> PageResult<T> for Result<T, E> {
    fn page(self) -> Result<T, BackendError> {
        self.map_err(page_error)
    }
}

impl Backend for StoreBackend {
    fn calendar_month(
        &self,
        caller: &Parts,
        month: YearMonth,
        domain: Option<String>,
    ) -> BoxFuture<'_, Result<CalendarMonth, BackendError>> {
        let allowed = may_read_panel(caller, "calendar");
        Box::pin(async move {
            allowed?;
            let now = self.state.clock.now();
            let today = now.date_naive();
            let key = format!("{month}|{}|{today}", domain.as_deref().unwrap_or(""));
            let db = &self.state.db;
            let load = || calendar::month(db, today, month, domain.as_deref());
            let cached = self.state.caches.calendar.get(key, crate::time::Instant::from_utc(now), load).await;
            cached.map(|month| (*month).clone()).map_err(|error| {
                if let Some(unknown) = error.downcast_ref::<calendar::UnknownDomain>() {
                    return BackendError::NotFound(unknown.to_string());
                }
                tracing::error!(error = format!("{error:#}"), %month, "building the calendar failed");
                BackendError::Failed("The calendar could not be loaded right now; please try again.".to_owned())
            })
        })
    }

    fn budgets(&self, caller: &Parts) -> BoxFuture<'_, Result<BudgetsView, BackendError>> {
        let allowed = may_read_panel(caller, "budgets");
        Box::pin(async move {
            allowed?;
            budgets::overview(&self.state.db).await.map_err(failed("Loading the budgets"))
        })
    }

    fn service_budget(
        &self,
        caller: &Parts,
        service: String,
    ) -> BoxFuture<'_, Result<ServiceBudgetView, BackendError>> {
        let allowed = may_read_panel_for(caller, "budget", &[("service", &service)]);
        Box::pin(async move {
            allowed?;
            let now = self.state.clock.instant();
            budgets::service(&self.state.db, &service, now)
                .await
                .map_err(failed("Loading the budget"))?
                .ok_or_else(|| BackendError::NotFound(format!("no service \"{service}\" with an SLO")))
        })
    }

    fn dashboard(&self, caller: &Parts, domain: Option<String>) -> BoxFuture<'_, Result<Dashboard, BackendError>> {
        let allowed = may_read_panel(caller, "dashboard");
        Box::pin(async move {
            allowed?;
            let now = self.state.clock.instant();
            let db = &self.state.db;
            let load = || dashboard::build(db, now, domain.as_deref());
            let key = domain.clone().unwrap_or_default();
            let cached = self.state.caches.dashboard.get(key, now, load).await;
            cached.map(|dashboard| (*dashboard).clone()).map_err(failed("Loading the dashboard"))
        })
    }

    fn gate_board(
        &self,
        caller: &Parts,
        last: usize,
        domain: Option<String>,
        drill: Option<(String, String)>,
    ) -> BoxFuture<'_, Result<GateBoard, BackendError>> {
        let allowed = may_read_panel(caller, "gates");
        Box::pin(async move {
            allowed?;
            let now = self.state.clock.instant();
            let drill = drill.as_ref().map(|(train, gate)| (train.as_str(), gate.as_str()));
            gates::build(&self.state.db, now, last, domain.as_deref(), drill).await.map_err(|error| match error {
                gates::BoardError::Store(error) => failed("Loading the gate board")(error),
                other => BackendError::NotFound(other.to_string()),
            })
        })
    }

    fn current_month(&self) -> YearMonth {
        YearMonth::of(self.state.clock.now().date_naive())
    }

    fn viewer(&self, caller: &Parts) -> Option<Viewer> {
        caller.extensions.get::<Caller>().and_then(|caller| console::viewer_of(&caller.principal))
    }

    fn demo_guide(&self, caller: &Parts) -> BoxFuture<'_, Option<DemoGuide>> {
        Box::pin(demo::guide(&self.state, caller))
    }

    fn console(&self, caller: &Parts) -> BoxFuture<'_, Result<ConsoleView, BackendError>> {
        let caller = self::caller(caller);
        Box::pin(async move { console::build(self.state.ctx(), &*caller?).await.map_err(page_error) })
    }

    fn operate_train(
        &self,
        caller: &Parts,
        train_id: String,
        action: TrainAction,
        reason: String,
        service: Option<String>,
    ) -> BoxFuture<'_, Result<String, BackendError>> {
        let action = match action {
            TrainAction::Hold => Ok(Action::Hold),
            TrainAction::Resume => Ok(Action::Resume),
            TrainAction::Promote => Ok(Action::Promote),
            TrainAction::Abort => Ok(Action::Abort),
            TrainAction::RollBack => Ok(Action::RollBack),
            TrainAction::RollBackService => match service.filter(|s| !s.trim().is_empty()) {
                Some(service) => Ok(Action::RollBackServices { services: vec![service] }),
                None => Err(BackendError::Invalid("choose the service to roll back".into())),
            },
        };
        self.operate(caller, train_id, action, reason)
    }

    fn waive_gate(
        &self,
        caller: &Parts,
        train_id: String,
        artifact_id: String,
        gate: String,
        reason: String,
    ) -> BoxFuture<'_, Result<String, BackendError>> {
        self.operate(caller, train_id, Ok(Action::WaiveGate { artifact_id: artifact_id.into(), gate }), reason)
    }

    fn override_gate(
        &self,
        caller: &Parts,
        train_id: String,
        artifact_id: String,
        gate: String,
        step: OverrideStep,
        reason: String,
    ) -> BoxFuture<'_, Result<String, BackendError>> {
        let action = match step {
            OverrideStep::Ask => Action::RequestOverride { artifact_id: artifact_id.into(), gate },
            OverrideStep::Grant => Action::GrantOverride { artifact_id: artifact_id.into(), gate },
        };
        self.operate(caller, train_id, Ok(action), reason)
    }

    fn remove_candidate(
        &self,
        caller: &Parts,
        train_id: String,
        artifact_id: String,
        reason: String,
    ) -> BoxFuture<'_, Result<String, BackendError>> {
        self.operate(caller, train_id, Ok(Action::RemoveCandidate { artifact_id: artifact_id.into() }), reason)
    }

    fn decide_candidate(
        &self,
        caller: &Parts,
        artifact_id: String,
        decision: String,
        comment: String,
    ) -> BoxFuture<'_, Result<String, BackendError>> {
        let caller = self::caller(caller);
        Box::pin(async move {
            let decision = service::approvals::decision(&decision).page()?;
            let summary = service::approvals::decide(
                self.state.ctx(),
                &*caller?,
                &ArtifactId::from(artifact_id),
                decision,
                &comment,
            )
            .await
            .page()?;
            Ok(summary.status.to_owned())
        })
    }

    fn approval_link(&self, caller: &Parts, token: String) -> BoxFuture<'_, Result<ApprovalLinkView, BackendError>> {
        let caller = self::caller(caller);
        Box::pin(async move { service::approval_links::open(self.state.ctx(), &*caller?, &token).await.page() })
    }

    fn decide_by_link(
        &self,
        caller: &Parts,
        token: String,
        decision: String,
        comment: String,
    ) -> BoxFuture<'_, Result<String, BackendError>> {
        let caller = self::caller(caller);
        Box::pin(async move {
            let decision = service::approvals::decision(&decision).page()?;
            let ctx = self.state.ctx();
            let summary = service::approval_links::decide(ctx, &*caller?, &token, decision, &comment).await.page()?;
            let done = if decision == service::approvals::Decision::Approve { "approved" } else { "rejected" };
            Ok(match summary.status {
                "approved" => format!("You {done} it. The candidate has all its approvals; its gate passes."),
                "rejected" => format!("You {done} it. The candidate is rejected and leaves the train."),
                _ => format!(
                    "You {done} it. {} of {} approvals so far; the others decide from the console or their own link.",
                    summary.approved, summary.required
                ),
            })
        })
    }

    fn request_break_glass(
        &self,
        caller: &Parts,
        domain: String,
        reason: String,
        duration: String,
    ) -> BoxFuture<'_, Result<String, BackendError>> {
        let caller = self::caller(caller);
        Box::pin(async move {
            let ctx = self.state.ctx();
            let created = service::break_glass::request(ctx, &*caller?, &domain, &reason, &duration).await.page()?;
            Ok(service::break_glass::status(&created, ctx.now()).to_owned())
        })
    }

    fn start_emergency(
        &self,
        caller: &Parts,
        definition: String,
        artifacts: Vec<String>,
        reason: String,
        kind: Option<String>,
    ) -> BoxFuture<'_, Result<String, BackendError>> {
        let caller = self::caller(caller);
        Box::pin(async move {
            let ctx = self.state.ctx();
            let kind = kind.as_deref();
            let train = service::trains::start_emergency(ctx, &*caller?, &definition, &artifacts, &reason, kind)
                .await
                .page()?;
            Ok(format!("{} train of {} started", train.kind, train.definition))
        })
    }

    fn start_rehearsal(
        &self,
        caller: &Parts,
        definition: String,
        reason: String,
    ) -> BoxFuture<'_, Result<String, BackendError>> {
        let caller = self::caller(caller);
        Box::pin(async move {
            let train =
                service::trains::start_rehearsal(self.state.ctx(), &*caller?, &definition, &reason).await.page()?;
            Ok(format!("rehearsal of {} started on staging", train.definition))
        })
    }

    fn train_page(&self, caller: &Parts, id: String) -> BoxFuture<'_, Result<TrainPage, BackendError>> {
        let allowed = may_read_panel_for(caller, "train", &[("id", &id)]);
        Box::pin(async move {
            allowed?;
            self.whole_train_page(&id).await
        })
    }

    fn train_card(&self, caller: &Parts, id: String) -> BoxFuture<'_, Result<TrainCardView, BackendError>> {
        let allowed = may_read_panel_for(caller, "train", &[("id", &id)]);
        Box::pin(async move {
            allowed?;
            Ok(TrainCardView::of(&self.whole_train_page(&id).await?))
        })
    }

    fn countdown(&self, caller: &Parts, definition: String) -> BoxFuture<'_, Result<Countdown, BackendError>> {
        let allowed = may_read_panel_for(caller, "countdown", &[("definition", &definition)]);
        Box::pin(async move {
            allowed?;
            let now = self.state.clock.instant();
            dashboard::countdown(&self.state.db, now, &definition)
                .await
                .map_err(failed("Loading the countdown"))?
                .ok_or_else(|| BackendError::NotFound(format!("there is no train definition \"{definition}\"")))
        })
    }

    fn single_sign_on(&self) -> Option<String> {
        self.state.auth.single_sign_on()
    }

    fn next_train(
        &self,
        caller: &Parts,
        domain: String,
        ready_on: String,
        zone: Option<String>,
    ) -> BoxFuture<'_, Result<NextTrainAnswer, BackendError>> {
        let allowed = may_read_panel(caller, "dashboard");
        Box::pin(async move {
            allowed?;
            next_train::next_train(self.state.ctx(), &domain, &ready_on, zone.as_deref()).await.page()
        })
    }

    fn preview_freeze(
        &self,
        caller: &Parts,
        form: FreezeForm,
    ) -> BoxFuture<'_, Result<FreezePreviewView, BackendError>> {
        let caller = self::caller(caller);
        Box::pin(async move {
            let preview = service::freezes::preview(self.state.ctx(), &*caller?, freeze_entry(&form)?).await.page()?;
            Ok(preview_view(form, preview))
        })
    }

    fn declare_freeze(&self, caller: &Parts, form: FreezeForm) -> BoxFuture<'_, Result<String, BackendError>> {
        let caller = self::caller(caller);
        Box::pin(async move {
            let declared = service::freezes::declare(self.state.ctx(), &*caller?, freeze_entry(&form)?).await.page()?;
            let held = declared.impacts.len();
            Ok(format!("freeze {} declared; it holds {held} train{}", form.name, if held == 1 { "" } else { "s" }))
        })
    }

    fn decide_break_glass(
        &self,
        caller: &Parts,
        id: String,
        decision: String,
        comment: String,
    ) -> BoxFuture<'_, Result<String, BackendError>> {
        let caller = self::caller(caller);
        Box::pin(async move {
            let (caller, ctx) = (caller?, self.state.ctx());
            let decided = match decision.as_str() {
                "approve" => service::break_glass::approve(ctx, &caller, &id, &comment).await.page()?,
                "reject" => service::break_glass::reject(ctx, &caller, &id, &comment).await.page()?,
                other => return Err(BackendError::Invalid(format!("decision must be approve or reject, not {other}"))),
            };
            Ok(service::break_glass::status(&decided, ctx.now()).to_owned())
        })
    }

    fn admin_view(&self, caller: &Parts) -> BoxFuture<'_, Result<AdminView, BackendError>> {
        let caller = self::caller(caller);
        Box::pin(async move { admin::view(&self.state, &caller?).await.map_err(page_error) })
    }

    fn admin_command(&self, caller: &Parts, command: AdminCommand) -> BoxFuture<'_, Result<String, BackendError>> {
        let caller = self::caller(caller);
        Box::pin(async move { admin::command(&self.state, &caller?, command).await.map_err(page_error) })
    }

    fn oncall(&self, caller: &Parts) -> BoxFuture<'_, Result<app::oncall::OnCallView, BackendError>> {
        let embedded = parts_embed(caller, "oncall");
        let found = self::caller(caller);
        Box::pin(async move {
            // An embed shows the panel read-only: as nobody, so it offers no action.
            let caller = match (embedded, found) {
                (true, _) => railyard_core::auth::Caller {
                    principal: crate::auth::Principal::Anonymous,
                    request_id: String::new(),
                    ip: std::net::IpAddr::from([127, 0, 0, 1]),
                    user_agent: String::new(),
                },
                (false, found) => {
                    let caller = found?;
                    caller.principal.require(Permission::Read, None).page()?;
                    caller.0
                }
            };
            service::views::oncall::build(self.state.ctx(), &caller).await.page()
        })
    }

    fn report_incident(
        &self,
        caller: &Parts,
        service: String,
        severity: String,
        title: String,
        started_at: String,
    ) -> BoxFuture<'_, Result<String, BackendError>> {
        let caller = self::caller(caller);
        Box::pin(async move {
            let (caller, ctx) = (caller?, self.state.ctx());
            let started_at = if started_at.trim().is_empty() { ctx.now().rfc3339() } else { started_at };
            let report = service::incidents::Report {
                service: &service,
                severity: &severity,
                started_at: &started_at,
                title,
                link: String::new(),
            };
            let (incident, service) = service::incidents::report(ctx, &caller, report).await.page()?;
            Ok(match incident.train_id {
                Some(train) => format!("incident of {service} reported, attributed to train {train}"),
                None => format!("incident of {service} reported; no train changed {service} in the 24 hours before"),
            })
        })
    }

    fn resolve_incident(&self, caller: &Parts, id: String) -> BoxFuture<'_, Result<String, BackendError>> {
        let caller = self::caller(caller);
        Box::pin(async move {
            let (incident, service) =
                service::incidents::resolve(self.state.ctx(), &*caller?, &id, None).await.page()?;
            let minutes = incident.resolved_at.map_or(0, |at| (at - incident.started_at) / 60_000);
            Ok(format!("incident of {service} resolved after {minutes} min"))
        })
    }

    fn account_view(&self, caller: &Parts) -> BoxFuture<'_, Result<AccountView, BackendError>> {
        let caller = self::caller(caller);
        Box::pin(async move { admin::account(&self.state, &caller?).await.map_err(page_error) })
    }

    fn account_command(&self, caller: &Parts, command: AccountCommand) -> BoxFuture<'_, Result<String, BackendError>> {
        let caller = self::caller(caller);
        Box::pin(async move { admin::account_command(&self.state, &caller?, command).await.map_err(page_error) })
    }
}

/// The console's freeze form as a `[[freeze]]` entry.
fn freeze_entry(form: &FreezeForm) -> Result<crate::fleet::FreezeEntry, BackendError> {
    let text = |field: &str, value: &str| {
        Text::new(value.trim()).map_err(|refusal| BackendError::Invalid(format!("`{field}` {refusal}")))
    };
    Ok(crate::fleet::FreezeEntry {
        name: text("name", &form.name)?,
        domain: Some(text("domain", &form.domain)?).filter(|d| !d.is_empty()),
        reason: text("reason", &form.reason)?,
        time_zone: text("time_zone", &form.time_zone)?,
        starts: text("starts", &form.starts)?,
        ends: Some(text("ends", &form.ends)?),
        cadence: None,
        duration: None,
    })
}

fn preview_view(form: FreezeForm, preview: service::freezes::FreezePreview) -> FreezePreviewView {
    FreezePreviewView {
        form,
        windows: preview.windows.into_iter().map(|w| (w.start, w.end)).collect(),
        impacts: preview
            .impacts
            .into_iter()
            .map(|i| FreezeImpactView {
                definition: i.definition,
                domain: i.domain,
                state: i.state,
                cutover_at: i.cutover_at,
                effect: i.effect,
                until: i.until,
            })
            .collect(),
    }
}
