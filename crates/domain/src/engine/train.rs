//! The train state machine.

use super::effect::{Effect, Notice, Timer};
use super::event::{Action, Burn, Event, GateOutcome, Verdict};
use super::model::{
    is_approval_gate, Candidate, Environment, Gate, GateState, HoldReason, OverrideRequest, ServiceRollback,
    StepRecord, StepStatus, TrainRun, APPROVAL_REMINDER_MS, BURN_CHECK_MS, OVERRIDE_REQUEST_MS,
};
use crate::train_state::TrainState;

/// How often a gate that errors is run before the train is held for a human.
pub const GATE_ATTEMPTS: u32 = 3;

/// A line of the train's timeline. `from == to` records something that
/// happened without a change of phase (a step started, a rollback began).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineEntry {
    pub from: TrainState,
    pub to: TrainState,
    pub reason: String,
}

/// What one event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub run: TrainRun,
    pub effects: Vec<Effect>,
    pub timeline: Vec<TimelineEntry>,
}

/// Why an event was refused; nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the train is {0} and cannot change any more")]
    Final(TrainState),
    #[error("{0}")]
    NotNow(String),
}

/// Applies `event` at `now` to `run`.
pub fn step(run: &TrainRun, event: &Event, now: i64) -> Result<Outcome, Refusal> {
    if run.phase.is_final() {
        return Err(Refusal::Final(run.phase));
    }
    let mut machine = Machine { run: run.clone(), effects: Vec::new(), timeline: Vec::new(), now };
    machine.apply(event)?;
    machine.advance();
    Ok(Outcome { run: machine.run, effects: machine.effects, timeline: machine.timeline })
}

struct Machine {
    run: TrainRun,
    effects: Vec<Effect>,
    timeline: Vec<TimelineEntry>,
    now: i64,
}

impl Machine {
    fn paused(&self) -> bool {
        matches!(self.run.phase, TrainState::Held | TrainState::Suspended)
    }

    /// Moves to `to`. While paused, a working phase becomes the phase to resume to.
    fn go(&mut self, to: TrainState, reason: impl Into<String>) {
        if self.paused() && !to.is_final() {
            self.run.paused_from = Some(to);
            return;
        }
        if to.is_final() {
            self.run.paused_from = None;
            self.run.hold = None;
            if let Some(from) = self.run.production_started_at() {
                let key = self.key("measure");
                self.effects.push(Effect::MeasureRelease { from, to: self.now, key });
            }
        }
        let from = self.run.phase;
        if from != to {
            self.timeline.push(TimelineEntry { from, to, reason: reason.into() });
            self.run.phase = to;
        }
    }

    fn note(&mut self, reason: impl Into<String>) {
        let phase = self.run.phase;
        self.timeline.push(TimelineEntry { from: phase, to: phase, reason: reason.into() });
    }

    fn pause(&mut self, to: TrainState, reason: String) {
        if !self.paused() {
            self.run.paused_from = Some(self.run.phase);
        }
        let from = self.run.phase;
        self.timeline.push(TimelineEntry { from, to, reason });
        self.run.phase = to;
    }

    fn unpause(&mut self, reason: String) {
        if let Some(back) = self.run.paused_from.take() {
            let from = self.run.phase;
            self.timeline.push(TimelineEntry { from, to: back, reason });
            self.run.phase = back;
        }
        self.run.hold = None;
    }

    fn hold(&mut self, why: HoldReason, reason: String) {
        self.effects.push(Effect::Notify { notice: Notice::Held, text: reason.clone() });
        self.run.hold = Some(why);
        if self.run.phase != TrainState::Held {
            self.pause(TrainState::Held, reason);
        }
    }

    fn key(&self, what: &str) -> String {
        format!("{}:{what}", self.run.train_id)
    }

    fn apply(&mut self, event: &Event) -> Result<(), Refusal> {
        match event {
            Event::PlanningClosed => {
                if self.run.phase == TrainState::Planning {
                    self.go(TrainState::Assembling, "planning window closed");
                    self.effects.push(Effect::Assemble);
                }
            }
            Event::Assembled { candidates } => {
                if self.working_phase() != TrainState::Assembling {
                    return Ok(());
                }
                if candidates.is_empty() {
                    self.go(TrainState::Skipped, "nothing to ship: no service has a passing candidate");
                    self.effects.push(Effect::Notify { notice: Notice::Skipped, text: "nothing to ship".into() });
                    return Ok(());
                }
                self.run.candidates = candidates
                    .iter()
                    .map(|b| Candidate {
                        artifact_id: b.artifact_id.clone(),
                        service: b.service.clone(),
                        gates: b
                            .gates
                            .iter()
                            .map(|g| Gate {
                                name: g.clone(),
                                state: GateState::Running,
                                attempts: 1,
                                override_request: None,
                            })
                            .collect(),
                        missed: None,
                        irreversible: b.irreversible.clone(),
                        group: b.group.as_ref().map(|g| g.name.clone()),
                        rolled_back: None,
                    })
                    .collect();
                self.incomplete_groups(candidates);
                for candidate in &self.run.candidates {
                    for gate in &candidate.gates {
                        self.effects.push(Effect::RunGate {
                            artifact_id: candidate.artifact_id.clone(),
                            gate: gate.name.clone(),
                            key: format!("{}:gate:{}:{}:1", self.run.train_id, candidate.artifact_id, gate.name),
                        });
                    }
                }
                let services: Vec<&str> = candidates.iter().map(|b| b.service.as_str()).collect();
                self.go(TrainState::Preflight, format!("boarded: {}", services.join(", ")));
                if let Some(why) = self.run.roll_forward_only() {
                    self.note(format!("roll-forward-only: {why}"));
                }
            }
            Event::GateFinished { artifact_id, gate, outcome } => self.gate_finished(artifact_id, gate, outcome),
            Event::CutoverDue | Event::SoakElapsed { .. } => {}
            Event::Deployed { step, ok, detail } => {
                if *step == self.run.current_step && self.run.step_status == StepStatus::Deploying {
                    let now = self.now;
                    if let Some(record) = self.record_of(*step) {
                        record.deployed_at = Some(now);
                    }
                    if *ok {
                        let until = self.now + self.run.rollout[*step].soak_ms;
                        self.run.step_status = StepStatus::Soaking { until };
                        self.effects.push(Effect::SetTimer { at: until, timer: Timer::SoakElapsed { step: *step } });
                        if self.run.rollout[*step].environment == Environment::Production {
                            self.check_burn(*step);
                        }
                    } else {
                        let name = self.run.rollout[*step].name.clone();
                        self.step_failed(format!("deploying {name} failed: {detail}"));
                    }
                }
            }
            Event::Judged { step, verdict, detail } => {
                if *step == self.run.current_step && self.run.step_status == StepStatus::Judging {
                    let name = self.run.rollout[*step].name.clone();
                    if let Some(record) = self.record_of(*step) {
                        record.verdict = Some(*verdict);
                    }
                    match verdict {
                        Verdict::Pass => self.step_succeeded(format!("{name}: canary judge passed ({detail})")),
                        Verdict::Fail => self.step_failed(format!("{name}: canary judge failed ({detail})")),
                        Verdict::Marginal | Verdict::NoData => self.hold(
                            HoldReason::Analysis,
                            format!("{name}: canary judge gave no pass ({detail}); promote or roll back"),
                        ),
                    }
                }
            }
            Event::RolledBack { step } => {
                if *step == self.run.current_step && self.run.step_status == StepStatus::RollingBack {
                    let seconds = (self.now - self.run.rollback_started_at.unwrap_or(self.now)) / 1000;
                    self.go(TrainState::RolledBack, format!("rollback finished in {seconds} s"));
                }
            }
            Event::ServicesRolledBack { index, ok, detail } => self.services_rolled_back(*index, *ok, detail),
            Event::RollbackFailed { step, detail } => {
                if *step == self.run.current_step && self.run.step_status == StepStatus::RollingBack {
                    let name = self.run.rollout[*step].name.clone();
                    self.hold(
                        HoldReason::Rollback,
                        format!("rolling back {name} failed ({detail}): roll back again, or restore by hand and abort"),
                    );
                }
            }
            Event::ApprovalReminderDue => {
                let waiting = self.awaiting();
                if !waiting.is_empty() && self.working_phase() == TrainState::Preflight {
                    let at = crate::time::rfc3339(self.run.cutover_at);
                    let text = format!("still waiting: {}; the requests expire at cutover ({at})", waiting.join("; "));
                    self.effects.push(Effect::Notify { notice: Notice::ApprovalExpiring, text: text.clone() });
                    self.note(text);
                }
            }
            Event::ApprovalsExpired => {
                if self.working_phase() == TrainState::Preflight {
                    self.expire_approvals();
                }
            }
            Event::MonitoringElapsed => {
                if self.working_phase() != TrainState::Monitoring {
                    return Ok(());
                }
                if self.paused() || self.run.service_rollback_running().is_some() {
                    // Not completed while held or while services are being restored: look again shortly.
                    let at = self.now + BURN_CHECK_MS;
                    self.effects.push(Effect::SetTimer { at, timer: Timer::MonitoringElapsed });
                } else {
                    let text = if self.run.service_rollbacks.is_empty() {
                        "monitoring window passed without a rollback"
                    } else {
                        "monitoring window passed; the services rolled back alone stay on their previous version"
                    };
                    self.go(TrainState::Completed, text);
                    self.effects.push(Effect::Notify { notice: Notice::Completed, text: "train completed".into() });
                }
            }
            Event::BurnCheckDue { step } => {
                if self.watching_burn(*step) {
                    self.check_burn(*step);
                }
            }
            Event::BurnChecked { step, burn } => self.burn_checked(*step, burn),
            Event::FreezeStarted { name } => self.run.frozen_by = Some(name.clone()),
            Event::FreezeEnded => {
                if let Some(name) = self.run.frozen_by.take() {
                    if self.run.phase == TrainState::Suspended {
                        self.unpause(format!("freeze {name} ended"));
                    }
                }
            }
            Event::FreezeLifted { by } => {
                if let Some(name) = self.run.frozen_by.take() {
                    if self.run.phase == TrainState::Suspended {
                        self.unpause(format!("freeze {name} lifted by {by}"));
                    }
                }
            }
            Event::DeploysBusy { by } => {
                if self.run.waiting_for.as_ref() != Some(by) {
                    self.note(format!("waiting: {by}"));
                    self.run.waiting_for = Some(by.clone());
                }
            }
            Event::DeploysFree => {
                if self.run.waiting_for.take().is_some() {
                    self.note("no other train deploys these services now; going on");
                }
            }
            Event::Operator { actor, action, reason } => self.operator(actor, action, reason)?,
        }
        Ok(())
    }

    /// What boarded candidates still wait for people, e.g. "ledger: compliance (1 of 2 approvals)".
    fn awaiting(&self) -> Vec<String> {
        self.run
            .candidates
            .iter()
            .filter(|c| c.boarded())
            .flat_map(|c| {
                c.gates.iter().filter_map(move |g| match &g.state {
                    GateState::Awaiting { detail } => Some(format!("{}: {} ({detail})", c.service, g.name)),
                    _ => None,
                })
            })
            .collect()
    }

    /// Reminds approvers before cutover and expires their requests at cutover, once per train.
    /// A train already past its cutover (an emergency train) waits for people without a deadline.
    fn schedule_approval_expiry(&mut self) {
        let cutover = self.run.cutover_at;
        if self.run.approval_timers_set || cutover <= self.now {
            return;
        }
        self.run.approval_timers_set = true;
        let remind_at = (cutover - APPROVAL_REMINDER_MS).max(self.now + (cutover - self.now) / 2);
        self.effects.push(Effect::SetTimer { at: remind_at, timer: Timer::ApprovalReminder });
        self.effects.push(Effect::SetTimer { at: cutover, timer: Timer::ApprovalsExpire });
    }

    /// Takes every boarded member of `group` off the train with `reason` (carried, not rejected);
    /// returns the members' services, in boarding order.
    fn miss_group(&mut self, group: &str, reason: &str) -> Vec<String> {
        let mut members = Vec::new();
        for candidate in self.run.candidates.iter_mut().filter(|c| c.group.as_deref() == Some(group)) {
            members.push(candidate.service.clone());
            if candidate.missed.is_none() {
                candidate.missed = Some(reason.to_owned());
                let artifact_id = candidate.artifact_id.clone();
                self.effects.push(Effect::CarryOver { artifact_id, reason: reason.to_owned(), reject: false });
            }
        }
        members
    }

    /// A group boards only whole: when a member has no candidate, the members that have one miss the train.
    fn incomplete_groups(&mut self, boarded: &[super::event::Boarding]) {
        let mut groups: Vec<&super::event::Group> = Vec::new();
        for group in boarded.iter().filter_map(|b| b.group.as_ref()) {
            if !groups.iter().any(|g| g.name == group.name) {
                groups.push(group);
            }
        }
        for group in groups {
            let absent: Vec<&str> = group
                .services
                .iter()
                .filter(|s| !boarded.iter().any(|b| &b.service == *s))
                .map(String::as_str)
                .collect();
            if absent.is_empty() {
                continue;
            }
            let reason =
                format!("missed the train with group {}: {} has no candidate on it", group.name, absent.join(", "));
            let members = self.miss_group(&group.name, &reason);
            self.note(format!("{} {reason}", members.join(", ")));
        }
    }

    /// Candidates still waiting for people at cutover miss the train; they may board the next.
    fn expire_approvals(&mut self) {
        let mut expired = Vec::new();
        for candidate in self.run.candidates.iter_mut().filter(|c| c.boarded()) {
            let waiting: Vec<String> = candidate
                .gates
                .iter()
                .filter_map(|g| match &g.state {
                    GateState::Awaiting { detail } => Some(format!("{}: {detail}", g.name)),
                    _ => None,
                })
                .collect();
            if waiting.is_empty() {
                continue;
            }
            let reason = format!("missed the train: approvals did not arrive before cutover ({})", waiting.join("; "));
            candidate.missed = Some(reason.clone());
            expired.push((candidate.artifact_id.clone(), candidate.service.clone(), reason));
        }
        for (artifact_id, service, reason) in expired {
            self.effects.push(Effect::CarryOver {
                artifact_id: artifact_id.clone(),
                reason: reason.clone(),
                reject: false,
            });
            self.note(format!("{service} {reason}"));
            let group = self.run.candidates.iter().find(|c| c.artifact_id == artifact_id).and_then(|c| c.group.clone());
            if let Some(group) = group {
                let reason = format!("missed the train with group {group}: {service} {reason}");
                let members = self.miss_group(&group, &reason);
                self.note(format!("{} {reason}", members.join(", ")));
            }
        }
    }

    /// The record of the current attempt at `step`.
    fn record_of(&mut self, step: usize) -> Option<&mut StepRecord> {
        self.run.steps.iter_mut().rev().find(|r| r.step == step)
    }

    /// Whether a burn check for `step` still matters: the step soaks or is being judged, or the
    /// rolled-out train is monitored.
    fn watching_burn(&self, step: usize) -> bool {
        step == self.run.current_step
            && (matches!(self.run.step_status, StepStatus::Soaking { .. } | StepStatus::Judging)
                || self.working_phase() == TrainState::Monitoring)
    }

    fn check_burn(&mut self, step: usize) {
        self.run.burn_checks += 1;
        let key = self.key(&format!("burn:{step}:{}", self.run.burn_checks));
        self.effects.push(Effect::CheckBurn { step, key });
    }

    fn burn_checked(&mut self, step: usize, burn: &Burn) {
        if !self.watching_burn(step) {
            return;
        }
        match burn {
            Burn::Fast(detail) => {
                let what = match self.run.rollout.get(step) {
                    Some(rollout_step) => rollout_step.name.clone(),
                    None => "monitoring".to_owned(),
                };
                if let Some(record) = self.record_of(step) {
                    record.verdict = Some(Verdict::Fail);
                }
                self.step_failed(format!("{what}: error budget burning past the fast-burn threshold ({detail})"));
                return;
            }
            Burn::Unknown(detail) => self.note(format!("error-budget burn could not be checked ({detail})")),
            Burn::Calm => {}
        }
        let at = self.now + self.run.burn_check_ms;
        let soaking_past = matches!(self.run.step_status, StepStatus::Soaking { until } if at < until);
        if soaking_past || self.working_phase() == TrainState::Monitoring {
            self.effects.push(Effect::SetTimer { at, timer: Timer::BurnCheck { step } });
        }
    }

    /// The phase the train is in, or will return to when unpaused.
    fn working_phase(&self) -> TrainState {
        if self.paused() {
            self.run.paused_from.unwrap_or(self.run.phase)
        } else {
            self.run.phase
        }
    }

    fn gate_finished(&mut self, artifact_id: &str, gate_name: &str, outcome: &GateOutcome) {
        let train_id = self.run.train_id.clone();
        let Some(candidate) = self.run.candidates.iter_mut().find(|c| c.artifact_id == artifact_id) else { return };
        if !candidate.boarded() {
            return;
        }
        let service = candidate.service.clone();
        let Some(gate) = candidate.gates.iter_mut().find(|g| g.name == gate_name) else { return };
        if !matches!(gate.state, GateState::Pending | GateState::Running | GateState::Awaiting { .. }) {
            return; // a duplicate delivery
        }
        match outcome {
            GateOutcome::Passed => gate.state = GateState::Passed,
            GateOutcome::Failed(detail) | GateOutcome::Deferred(detail) => {
                let reject = matches!(outcome, GateOutcome::Failed(_));
                gate.state = if reject {
                    GateState::Failed { detail: detail.clone() }
                } else {
                    GateState::Deferred { detail: detail.clone() }
                };
                let group = candidate.group.clone();
                let reason = match &group {
                    Some(group) => {
                        format!("missed the train with group {group}: {service} gate {gate_name} failed ({detail})")
                    }
                    None => format!("missed the train: gate {gate_name} failed ({detail})"),
                };
                candidate.missed = Some(reason.clone());
                let artifact_id = artifact_id.to_owned();
                self.effects.push(Effect::CarryOver { artifact_id, reason: reason.clone(), reject });
                match group {
                    Some(group) => {
                        let members = self.miss_group(&group, &reason);
                        let text = format!("{} {reason}", members.join(", "));
                        self.effects.push(Effect::Notify { notice: Notice::GateFailed, text: text.clone() });
                        self.note(text);
                    }
                    None => {
                        self.effects
                            .push(Effect::Notify { notice: Notice::GateFailed, text: format!("{service} {reason}") });
                        self.note(format!("{service} {reason}"));
                    }
                }
            }
            GateOutcome::Awaiting(detail) => {
                if matches!(gate.state, GateState::Awaiting { .. }) {
                    return;
                }
                gate.state = GateState::Awaiting { detail: detail.clone() };
                let text = format!("{service} waits for {gate_name}: {detail}");
                self.effects.push(Effect::Notify { notice: Notice::ApprovalRequested, text: text.clone() });
                self.note(text);
                self.schedule_approval_expiry();
            }
            GateOutcome::Blocked(detail) => {
                gate.state = GateState::Blocked { detail: detail.clone() };
                let text = format!("the train is blocked by gate {gate_name} of {service}: {detail}");
                self.effects.push(Effect::Notify { notice: Notice::GateFailed, text: text.clone() });
                self.hold(HoldReason::Gates, text);
            }
            GateOutcome::Inconclusive(detail) => {
                gate.state = GateState::Inconclusive { detail: detail.clone() };
                self.hold(HoldReason::Gates, format!("gate {gate_name} of {service} is inconclusive ({detail})"));
            }
            GateOutcome::Errored(detail) if gate.attempts < GATE_ATTEMPTS => {
                gate.attempts += 1;
                let key = format!("{train_id}:gate:{artifact_id}:{gate_name}:{}", gate.attempts);
                self.effects.push(Effect::RunGate {
                    artifact_id: artifact_id.to_owned(),
                    gate: gate_name.to_owned(),
                    key,
                });
                self.note(format!("gate {gate_name} of {service} errored ({detail}); retrying"));
            }
            GateOutcome::Errored(detail) => {
                gate.state = GateState::Errored { detail: detail.clone() };
                let attempts = gate.attempts;
                self.hold(
                    HoldReason::Gates,
                    format!("gate {gate_name} of {service} errored {attempts} times ({detail})"),
                );
            }
        }
    }

    fn undecided_gates(&self) -> bool {
        self.run.candidates.iter().filter(|c| c.boarded()).flat_map(|c| &c.gates).any(|g| {
            matches!(g.state, GateState::Inconclusive { .. } | GateState::Errored { .. } | GateState::Blocked { .. })
        })
    }

    fn operator(&mut self, actor: &str, action: &Action, reason: &str) -> Result<(), Refusal> {
        let reason = reason.trim();
        if reason.is_empty() && !matches!(action, Action::Resume | Action::Promote) {
            return Err(Refusal::NotNow("a reason is required".into()));
        }
        match action {
            Action::Hold => {
                if self.run.phase == TrainState::Held {
                    return Err(Refusal::NotNow("the train is already held".into()));
                }
                self.hold(HoldReason::Operator, format!("held by {actor}: {reason}"));
            }
            Action::Resume => {
                if self.run.phase != TrainState::Held {
                    return Err(Refusal::NotNow("the train is not held".into()));
                }
                match self.run.hold {
                    Some(HoldReason::Gates) if self.undecided_gates() => {
                        return Err(Refusal::NotNow("a gate is still undecided: waive it or let it run again".into()));
                    }
                    Some(HoldReason::Analysis) => {
                        return Err(Refusal::NotNow("the canary judge gave no pass: promote or roll back".into()));
                    }
                    Some(HoldReason::Rollback) if self.run.step_status == StepStatus::RollingBack => {
                        return Err(Refusal::NotNow(
                            "a rollback failed: roll back again, or restore by hand and abort".into(),
                        ));
                    }
                    _ => {}
                }
                self.unpause(format!(
                    "resumed by {actor}{}",
                    if reason.is_empty() { String::new() } else { format!(": {reason}") }
                ));
            }
            Action::Promote => {
                let held_on_analysis =
                    self.run.phase == TrainState::Held && self.run.hold == Some(HoldReason::Analysis);
                let soaking = matches!(self.run.step_status, StepStatus::Soaking { .. }) && !self.paused();
                if !(held_on_analysis || soaking) {
                    return Err(Refusal::NotNow(
                        "nothing to promote: no step is soaking or awaiting a decision".into(),
                    ));
                }
                if held_on_analysis {
                    self.unpause(format!("promoted by {actor}"));
                }
                let name = self.run.rollout[self.run.current_step].name.clone();
                self.step_succeeded(format!("{name}: promoted by {actor}"));
            }
            Action::Abort => {
                let gave_up_rollback = self.run.hold == Some(HoldReason::Rollback);
                if self.run.has_deployed() && !gave_up_rollback {
                    return Err(Refusal::NotNow("services are already deployed: roll back instead".into()));
                }
                self.go(TrainState::Aborted, format!("aborted by {actor}: {reason}"));
            }
            Action::RollBack => {
                if !self.run.has_deployed() {
                    return Err(Refusal::NotNow("nothing is deployed yet: abort instead".into()));
                }
                if self.run.step_status == StepStatus::RollingBack && self.run.hold != Some(HoldReason::Rollback) {
                    return Err(Refusal::NotNow("a rollback is already running".into()));
                }
                self.no_service_rolling_back()?;
                if let Some(why) = self.run.roll_forward_only() {
                    return Err(Refusal::NotNow(format!("the train is roll-forward-only ({why}): fix forward")));
                }
                self.start_rollback(format!("rollback by {actor}: {reason}"));
            }
            Action::RollBackServices { services } => self.roll_back_services(actor, services, reason)?,
            Action::RemoveCandidate { artifact_id } => self.remove_candidate(actor, artifact_id, reason)?,
            Action::WaiveGate { artifact_id, gate } => self.waive(actor, artifact_id, gate, reason)?,
            Action::RequestOverride { artifact_id, gate } => self.request_override(actor, artifact_id, gate, reason)?,
            Action::GrantOverride { artifact_id, gate } => self.grant_override(actor, artifact_id, gate, reason)?,
        }
        Ok(())
    }

    /// The gate `gate` of candidate `artifact_id`, while the train is in pre-flight.
    fn gate_in_preflight(&mut self, artifact_id: &str, gate: &str, what: &str) -> Result<(String, &mut Gate), Refusal> {
        if self.working_phase() != TrainState::Preflight {
            return Err(Refusal::NotNow(format!("gates can be {what} only during pre-flight")));
        }
        let candidate = self
            .run
            .candidates
            .iter_mut()
            .find(|c| c.artifact_id == artifact_id)
            .ok_or_else(|| Refusal::NotNow(format!("artifact {artifact_id} is not on this train")))?;
        let service = candidate.service.clone();
        let found = candidate
            .gates
            .iter_mut()
            .find(|g| g.name == gate)
            .ok_or_else(|| Refusal::NotNow(format!("{service} has no gate {gate}")))?;
        if found.state.clears() {
            return Err(Refusal::NotNow(format!("gate {gate} has already cleared")));
        }
        if is_approval_gate(gate) {
            return Err(Refusal::NotNow(format!(
                "gate {gate} of {service} is decided by approvers only: ask them to approve or reject it"
            )));
        }
        Ok((service, found))
    }

    /// Lets an inconclusive or errored gate through.
    fn waive(&mut self, actor: &str, artifact_id: &str, gate: &str, reason: &str) -> Result<(), Refusal> {
        let (service, found) = self.gate_in_preflight(artifact_id, gate, "waived")?;
        match &found.state {
            GateState::Inconclusive { .. } | GateState::Errored { .. } => {}
            GateState::Failed { .. } | GateState::Blocked { .. } => {
                return Err(Refusal::NotNow(format!(
                    "gate {gate} of {service} {}: a waiver covers only an inconclusive or errored gate; \
                     ask an approver for an override, fix it with a new build or take {service} off the train",
                    if matches!(found.state, GateState::Failed { .. }) { "failed" } else { "is blocked" }
                )));
            }
            GateState::Deferred { .. } => {
                return Err(Refusal::NotNow(format!(
                    "gate {gate} deferred {service} to a later train: a waiver covers only an inconclusive or errored gate"
                )));
            }
            _ => {
                return Err(Refusal::NotNow(format!(
                    "gate {gate} of {service} has not answered yet: a waiver covers only an inconclusive or errored gate"
                )));
            }
        }
        found.state = GateState::Waived { by: actor.to_owned(), reason: reason.to_owned() };
        self.note(format!("gate {gate} of {service} waived by {actor}: {reason}"));
        self.gate_cleared(artifact_id);
        Ok(())
    }

    /// Records a release manager's request that an approver let a failed or blocked gate through.
    fn request_override(&mut self, actor: &str, artifact_id: &str, gate: &str, reason: &str) -> Result<(), Refusal> {
        if !self.run.overrides_allowed {
            return Err(Refusal::NotNow(
                "this train's definition forbids overrides (overrides = false): fix it with a new build or take the service off the train".into(),
            ));
        }
        let now = self.now;
        let (service, found) = self.gate_in_preflight(artifact_id, gate, "overridden")?;
        if !matches!(found.state, GateState::Failed { .. } | GateState::Blocked { .. }) {
            return Err(Refusal::NotNow(format!(
                "gate {gate} of {service} is {}: an override is for a failed or blocked gate{}",
                found.state.name(),
                if matches!(found.state, GateState::Inconclusive { .. } | GateState::Errored { .. }) {
                    "; a release manager can waive this one"
                } else {
                    ""
                }
            )));
        }
        if let Some(open) = found.override_request.as_ref().filter(|r| r.open_at(now)) {
            return Err(Refusal::NotNow(format!(
                "{} already asked for an override of gate {gate} of {service}; it waits for an approver",
                open.by
            )));
        }
        found.override_request = Some(OverrideRequest {
            by: actor.to_owned(),
            reason: reason.to_owned(),
            at: now,
            expires_at: now + OVERRIDE_REQUEST_MS,
        });
        let text = format!(
            "{actor} asks an approver to override gate {gate} of {service} ({reason}); the request lapses in {} hours",
            OVERRIDE_REQUEST_MS / 3_600_000
        );
        self.effects.push(Effect::Notify { notice: Notice::ApprovalRequested, text: text.clone() });
        self.note(text);
        Ok(())
    }

    /// Grants an open override request: the gate clears and its candidate boards again.
    fn grant_override(&mut self, actor: &str, artifact_id: &str, gate: &str, reason: &str) -> Result<(), Refusal> {
        let now = self.now;
        let (service, found) = self.gate_in_preflight(artifact_id, gate, "overridden")?;
        let Some(request) = found.override_request.clone() else {
            return Err(Refusal::NotNow(format!(
                "nobody asked for an override of gate {gate} of {service}: a release manager asks first"
            )));
        };
        if !request.open_at(now) {
            return Err(Refusal::NotNow(format!(
                "the request to override gate {gate} of {service} lapsed; a release manager must ask again"
            )));
        }
        if request.by.eq_ignore_ascii_case(actor) {
            return Err(Refusal::NotNow(format!("{actor} asked for this override; a different person must grant it")));
        }
        let rejected = matches!(found.state, GateState::Failed { .. });
        let was = found.state.detail();
        found.state = GateState::Overridden {
            requested_by: request.by.clone(),
            granted_by: actor.to_owned(),
            reason: format!("{}; granted: {reason}", request.reason),
            was,
        };
        found.override_request = None;
        let text = format!(
            "gate {gate} of {service} overridden: asked by {} ({}), granted by {actor} ({reason})",
            request.by, request.reason
        );
        if rejected {
            self.effects.push(Effect::Reinstate { artifact_id: artifact_id.to_owned(), reason: text.clone() });
        }
        self.note(text);
        self.gate_cleared(artifact_id);
        Ok(())
    }

    /// After a gate of `artifact_id` was waived or overridden: puts the
    /// candidate back on the train if that gate had taken it off (its group
    /// with it) and nothing else keeps it off, and resumes a train held only by gates.
    fn gate_cleared(&mut self, artifact_id: &str) {
        let reboard = self.run.candidates.iter().find(|c| c.artifact_id == artifact_id).and_then(|c| {
            let kept_off =
                c.gates.iter().any(|g| matches!(g.state, GateState::Failed { .. } | GateState::Deferred { .. }));
            let was = c.missed.clone().filter(|_| !kept_off && c.rolled_back.is_none())?;
            Some((was, c.group.clone()))
        });
        if let Some((was, group)) = reboard {
            for peer in self.run.candidates.iter_mut().filter(|c| {
                c.artifact_id == artifact_id
                    || (group.is_some() && c.group == group && c.missed.as_deref() == Some(was.as_str()))
            }) {
                peer.missed = None;
            }
        }
        if self.run.hold == Some(HoldReason::Gates) && !self.undecided_gates() {
            self.unpause("every held gate is decided".into());
        }
    }

    /// Takes a candidate and its group off the train before anything is deployed.
    fn remove_candidate(&mut self, actor: &str, artifact_id: &str, reason: &str) -> Result<(), Refusal> {
        let deployed = self.run.has_deployed();
        let candidate = self
            .run
            .candidates
            .iter_mut()
            .find(|c| c.artifact_id == artifact_id)
            .ok_or_else(|| Refusal::NotNow(format!("artifact {artifact_id} is not on this train")))?;
        let service = candidate.service.clone();
        if !candidate.boarded() {
            return Err(Refusal::NotNow(format!("{service} is already off this train")));
        }
        if deployed {
            return Err(Refusal::NotNow(format!(
                "{service} is already deployed: roll it back alone (roll_back_services) instead"
            )));
        }
        let why = format!("taken off the train by {actor}: {reason}");
        candidate.missed = Some(why.clone());
        let group = candidate.group.clone();
        self.effects.push(Effect::CarryOver {
            artifact_id: artifact_id.to_owned(),
            reason: why.clone(),
            reject: false,
        });
        let members = match group {
            Some(group) => self.miss_group(&group, &why),
            None => vec![service],
        };
        self.note(format!("{} {why}", members.join(", ")));
        if self.run.hold == Some(HoldReason::Gates) && !self.undecided_gates() {
            self.unpause("every held gate is decided".into());
        }
        Ok(())
    }

    /// Rolls back `requested` services (their atomic groups whole) and keeps
    /// the rest deployed, or retries such a rollback that failed. Naming every
    /// service left on the train is a rollback of the whole train.
    fn roll_back_services(&mut self, actor: &str, requested: &[String], reason: &str) -> Result<(), Refusal> {
        if requested.is_empty() {
            return Err(Refusal::NotNow("name the services to roll back".into()));
        }
        if !self.run.has_deployed() {
            return Err(Refusal::NotNow("nothing is deployed yet: abort instead".into()));
        }
        if self.run.step_status == StepStatus::RollingBack {
            return Err(Refusal::NotNow("the whole train is rolling back".into()));
        }
        if self.run.step_status == StepStatus::Deploying {
            return Err(Refusal::NotNow("a step is deploying: wait until it is deployed, then roll back".into()));
        }
        self.no_service_rolling_back()?;
        if let Some(index) = self.failed_service_rollback(requested)? {
            self.retry_service_rollback(index, actor, reason);
            return Ok(());
        }
        let chosen = self.with_groups(requested)?;
        let blocked: Vec<String> = self
            .run
            .candidates
            .iter()
            .filter(|c| chosen.contains(&c.service) && !c.irreversible.is_empty())
            .map(|c| format!("{} ({})", c.service, c.irreversible.join(", ")))
            .collect();
        if !blocked.is_empty() {
            let why = blocked.join("; ");
            return Err(Refusal::NotNow(format!("irreversible migrations in {why}: fix forward")));
        }
        let why = format!("by {actor}: {reason}");
        if self.run.candidates.iter().filter(|c| c.boarded()).all(|c| chosen.contains(&c.service)) {
            self.start_rollback(format!("rollback of every service on the train {why}"));
            return Ok(());
        }
        let mark = format!("rolled back {why}");
        for candidate in self.run.candidates.iter_mut().filter(|c| chosen.contains(&c.service)) {
            candidate.rolled_back = Some(mark.clone());
            // The named builds are bad; their group's other members are not, and may board again.
            let reject = requested.contains(&candidate.service);
            let artifact_id = candidate.artifact_id.clone();
            self.effects.push(Effect::CarryOver { artifact_id, reason: mark.clone(), reject });
        }
        self.run.service_rollbacks.push(ServiceRollback {
            services: chosen,
            reason: why,
            started_at: self.now,
            finished_at: None,
            failure: None,
            attempts: 0,
        });
        self.retry_service_rollback(self.run.service_rollbacks.len() - 1, actor, reason);
        Ok(())
    }

    /// Refuses while a rollback of some services is still running: one rollback at a time.
    fn no_service_rolling_back(&self) -> Result<(), Refusal> {
        match self.run.service_rollback_running() {
            Some(running) => Err(Refusal::NotNow(format!(
                "the rollback of {} is still running: wait for it to finish",
                running.services.join(", ")
            ))),
            None => Ok(()),
        }
    }

    /// The requested services with the boarded members of their atomic groups, in boarding order.
    fn with_groups(&self, requested: &[String]) -> Result<Vec<String>, Refusal> {
        let mut groups = Vec::new();
        for service in requested {
            let candidate = self
                .run
                .candidates
                .iter()
                .find(|c| &c.service == service)
                .ok_or_else(|| Refusal::NotNow(format!("{service} is not on this train")))?;
            if candidate.missed.is_some() {
                return Err(Refusal::NotNow(format!("{service} missed this train: it was never deployed")));
            }
            if candidate.rolled_back.is_some() {
                return Err(Refusal::NotNow(format!("{service} is already rolled back")));
            }
            groups.extend(candidate.group.clone());
        }
        Ok(self
            .run
            .candidates
            .iter()
            .filter(|c| c.boarded())
            .filter(|c| requested.contains(&c.service) || c.group.as_ref().is_some_and(|g| groups.contains(g)))
            .map(|c| c.service.clone())
            .collect())
    }

    /// The failed service rollback that `requested` asks to try again, if it does.
    fn failed_service_rollback(&self, requested: &[String]) -> Result<Option<usize>, Refusal> {
        let Some(index) = self.run.service_rollbacks.iter().rposition(|r| r.failure.is_some()) else {
            return Ok(None);
        };
        let failed = &self.run.service_rollbacks[index];
        let overlaps = requested.iter().any(|s| failed.services.contains(s));
        if !overlaps {
            return Ok(None);
        }
        if !requested.iter().all(|s| failed.services.contains(s)) {
            let services = failed.services.join(", ");
            return Err(Refusal::NotNow(format!("the rollback of {services} failed: try it again on its own first")));
        }
        Ok(Some(index))
    }

    /// Issues the `index`th service rollback (again), leaving a hold it caused.
    fn retry_service_rollback(&mut self, index: usize, actor: &str, reason: &str) {
        if self.run.phase == TrainState::Held && self.run.hold == Some(HoldReason::Rollback) {
            self.unpause(format!("rolling back again, by {actor}: {reason}"));
        }
        let record = &mut self.run.service_rollbacks[index];
        record.failure = None;
        record.attempts += 1;
        let services = record.services.clone();
        let key = match record.attempts {
            1 => self.key(&format!("rollback-services:{index}")),
            n => self.key(&format!("rollback-services:{index}:{n}")),
        };
        let text = format!("rolling back {} alone, by {actor}: {reason}", services.join(", "));
        let reason = format!("by {actor}: {reason}");
        let step = self.run.steps.last().map_or(0, |r| r.step);
        self.effects.push(Effect::RollBackServices { index, step, services, key, reason });
        self.effects.push(Effect::Notify { notice: Notice::RollbackStarted, text: text.clone() });
        self.note(text);
    }

    /// The deployer answered the `index`th service rollback.
    fn services_rolled_back(&mut self, index: usize, ok: bool, detail: &str) {
        let now = self.now;
        let Some(record) = self.run.service_rollbacks.get_mut(index).filter(|r| r.running()) else { return };
        let services = record.services.join(", ");
        if ok {
            record.finished_at = Some(now);
            let seconds = (now - record.started_at) / 1000;
            self.note(format!("{services} rolled back in {seconds} s; the rest of the train stays deployed"));
        } else {
            record.failure = Some(detail.to_owned());
            self.hold(
                HoldReason::Rollback,
                format!(
                    "rolling back {services} failed ({detail}): roll {services} back again, or restore it by hand and resume"
                ),
            );
        }
    }

    /// Settles the record of the current step.
    fn finish_step(&mut self, succeeded: bool) {
        let (step, now) = (self.run.current_step, self.now);
        if let Some(record) = self.record_of(step) {
            record.finished_at = Some(now);
            record.succeeded = Some(succeeded);
        }
    }

    fn step_succeeded(&mut self, reason: String) {
        self.finish_step(true);
        self.note(reason);
        self.run.current_step += 1;
        self.run.step_status = StepStatus::NotStarted;
    }

    /// A step failed: roll it back, or, when the train cannot go back, hold it for people to fix forward.
    fn step_failed(&mut self, reason: String) {
        self.finish_step(false);
        match self.run.roll_forward_only() {
            Some(why) => self.hold(
                HoldReason::Analysis,
                format!("{reason}; not rolled back because the train is roll-forward-only ({why}): fix forward, then promote"),
            ),
            None => self.start_rollback(reason),
        }
    }

    fn start_rollback(&mut self, reason: String) {
        let mut noted = false;
        if self.paused() {
            // Leaving a hold or a suspension is a change of phase like any other: on the timeline.
            if let Some(back) = self.run.paused_from.take() {
                self.timeline.push(TimelineEntry { from: self.run.phase, to: back, reason: reason.clone() });
                self.run.phase = back;
                noted = true;
            }
            self.run.hold = None;
        }
        if self.run.step_status != StepStatus::NotStarted {
            self.finish_step(false);
        }
        let step = self.run.current_step.min(self.run.rollout.len().saturating_sub(1));
        self.run.current_step = step;
        self.run.step_status = StepStatus::RollingBack;
        // Time to rollback (M3) counts from the first trigger, through any retries.
        self.run.rollback_started_at.get_or_insert(self.now);
        self.run.rollback_attempts += 1;
        let key = match self.run.rollback_attempts {
            1 => self.key(&format!("rollback:{step}")),
            n => self.key(&format!("rollback:{step}:{n}")),
        };
        self.effects.push(Effect::RollBack { step, key, reason: reason.clone() });
        self.effects.push(Effect::Notify { notice: Notice::RollbackStarted, text: reason.clone() });
        if !noted {
            self.note(reason);
        }
    }

    /// Issues what comes next, unless the train is paused or waiting.
    fn advance(&mut self) {
        if self.paused() || self.run.phase.is_final() {
            return;
        }
        let in_rollout = matches!(self.run.phase, TrainState::Staging | TrainState::Canary | TrainState::Cutover);
        if self.run.phase == TrainState::Preflight {
            let pending =
                self.run.candidates.iter().filter(|c| c.boarded()).flat_map(|c| &c.gates).any(|g| !g.state.clears());
            if pending {
                return;
            }
            if !self.run.candidates.iter().any(Candidate::boarded) {
                self.go(TrainState::Skipped, "every candidate missed the train");
                self.effects
                    .push(Effect::Notify { notice: Notice::Skipped, text: "every candidate missed the train".into() });
                return;
            }
        } else if !in_rollout {
            return;
        }
        if self.run.current_step >= self.run.rollout.len() {
            self.go(TrainState::Monitoring, "every rollout step succeeded");
            self.run.rolled_out_at = Some(self.now);
            let at = self.now + self.run.monitoring_ms;
            self.effects.push(Effect::SetTimer { at, timer: Timer::MonitoringElapsed });
            self.check_burn(self.run.current_step);
            return;
        }
        let index = self.run.current_step;
        let rollout_step = self.run.rollout[index].clone();
        match self.run.step_status {
            StepStatus::NotStarted => {
                if rollout_step.environment == Environment::Production {
                    if self.now < self.run.cutover_at {
                        if !self.run.cutover_timer_set {
                            self.run.cutover_timer_set = true;
                            self.effects.push(Effect::SetTimer { at: self.run.cutover_at, timer: Timer::CutoverDue });
                        }
                        return;
                    }
                    if let Some(freeze) = self.run.frozen_by.clone() {
                        self.pause(TrainState::Suspended, format!("freeze {freeze} holds: waiting for it to end"));
                        return;
                    }
                }
                if self.run.waiting_for.is_some() || self.run.service_rollback_running().is_some() {
                    return;
                }
                self.run.step_status = StepStatus::Deploying;
                self.run.steps.push(StepRecord {
                    step: index,
                    started_at: self.now,
                    deployed_at: None,
                    verdict: None,
                    finished_at: None,
                    succeeded: None,
                });
                let phase = TrainRun::phase_of(&rollout_step);
                let reason = format!("{} started ({}%)", rollout_step.name, rollout_step.weight);
                if self.run.phase == phase {
                    self.note(reason);
                } else {
                    self.go(phase, reason);
                }
                self.effects.push(Effect::Deploy { step: index, key: self.key(&format!("deploy:{index}")) });
            }
            StepStatus::Soaking { until } if self.now >= until => {
                self.run.step_status = StepStatus::Judging;
                self.effects.push(Effect::Judge { step: index, key: self.key(&format!("judge:{index}")) });
            }
            _ => {}
        }
    }
}
