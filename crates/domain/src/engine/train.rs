//! The train state machine: events in, the next state, effects and
//! timeline out. Operator actions are in `operator`, the rollout in `rollout`.

mod operator;
mod rollout;

use super::effect::{Effect, Notice, Timer};
use super::event::{Burn, BurnSpeed, Event, Verdict};
use super::model::{
    Burning, Candidate, Environment, Gate, GateState, HoldReason, StepRecord, StepStatus, TrainRun,
    APPROVAL_REMINDER_MS, BURN_CHECK_MS,
};
use crate::time::Instant;
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
pub fn step(run: &TrainRun, event: &Event, now: Instant) -> Result<Outcome, Refusal> {
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
    now: Instant,
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
            self.run.paused_at = None;
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
            self.run.paused_at = Some(self.now);
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
        self.run.paused_at = None;
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
                        // A controller's confirmation says who applied which revision; keep it on the timeline.
                        if detail != "deployed" {
                            let name = &self.run.rollout[*step].name;
                            self.note(format!("{name}: {detail}"));
                        }
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
            Event::Drift { drifting, detail, .. } => {
                if *drifting {
                    self.effects.push(Effect::Notify { notice: Notice::Drift, text: detail.clone() });
                }
                self.note(detail.clone());
            }
            Event::DeployOverdue { step, detail } => {
                if *step == self.run.current_step && self.run.step_status == StepStatus::Deploying {
                    let name = self.run.rollout[*step].name.clone();
                    self.hold(
                        HoldReason::Deploy,
                        format!("{name}: {detail}; resume to keep waiting for it, or roll back"),
                    );
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
                    let at = self.run.cutover_at.rfc3339();
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
                } else if let Some(why) = self.run.metrics_missing.clone() {
                    // Seed F5: no data after cutover is never a silent success.
                    self.hold(
                        HoldReason::Metrics,
                        format!("monitoring ended without metrics ({why}); resume to accept the gap, or roll back"),
                    );
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
            Burn::Breached { speed, service, detail } => {
                self.run.metrics_missing = None;
                self.run.burning =
                    Some(Burning { speed: *speed, service: service.clone(), detail: detail.clone(), at: self.now });
                let what = match self.run.rollout.get(step) {
                    Some(rollout_step) => rollout_step.name.clone(),
                    None => "monitoring".to_owned(),
                };
                match speed {
                    BurnSpeed::Fast => {
                        if let Some(record) = self.record_of(step) {
                            record.verdict = Some(Verdict::Fail);
                        }
                        self.step_failed(format!(
                            "{what}: error budget burning past the fast-burn threshold ({detail})"
                        ));
                        return;
                    }
                    BurnSpeed::Slow if self.run.phase != TrainState::Held => self.hold(
                        HoldReason::Burn,
                        format!(
                            "{what}: error budget burning past the slow-burn threshold ({detail}); resume or roll back"
                        ),
                    ),
                    BurnSpeed::Slow => {}
                }
            }
            Burn::Unknown(detail) => {
                if self.run.metrics_missing.is_none() {
                    self.note(format!("error-budget burn could not be checked ({detail})"));
                }
                self.run.metrics_missing = Some(detail.clone());
            }
            Burn::Calm => self.run.metrics_missing = None,
        }
        let at = self.now + self.run.burn_check_ms;
        let soaking_past = matches!(self.run.step_status, StepStatus::Soaking { until } if at < until);
        if soaking_past || self.working_phase() == TrainState::Monitoring {
            self.effects.push(Effect::SetTimer { at, timer: Timer::BurnCheck { step } });
        }
    }
}
