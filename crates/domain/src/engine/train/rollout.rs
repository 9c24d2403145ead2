//! The rollout: gates finishing, steps succeeding or failing, rollbacks,
//! and `advance`, which moves a train as far as it can go on its own.

use super::super::effect::{Effect, Notice, Timer};
use super::super::event::GateOutcome;
use super::super::model::{Candidate, Environment, GateState, HoldReason, StepRecord, StepStatus, TrainRun};
use super::{Machine, TimelineEntry, GATE_ATTEMPTS};
use crate::ids::ArtifactId;
use crate::train_state::TrainState;

impl Machine {
    /// The phase the train is in, or will return to when unpaused.
    pub(super) fn working_phase(&self) -> TrainState {
        if self.paused() {
            self.run.paused_from.unwrap_or(self.run.phase)
        } else {
            self.run.phase
        }
    }

    pub(super) fn gate_finished(&mut self, artifact_id: &str, gate_name: &str, outcome: &GateOutcome) {
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
                let artifact_id = ArtifactId::from(artifact_id);
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
                self.effects.push(Effect::RunGate { artifact_id: artifact_id.into(), gate: gate_name.to_owned(), key });
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

    pub(super) fn undecided_gates(&self) -> bool {
        self.run.candidates.iter().filter(|c| c.boarded()).flat_map(|c| &c.gates).any(|g| {
            matches!(g.state, GateState::Inconclusive { .. } | GateState::Errored { .. } | GateState::Blocked { .. })
        })
    }

    /// The deployer answered the `index`th service rollback.
    pub(super) fn services_rolled_back(&mut self, index: usize, ok: bool, detail: &str) {
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
    pub(super) fn finish_step(&mut self, succeeded: bool) {
        let (step, now) = (self.run.current_step, self.now);
        if let Some(record) = self.record_of(step) {
            record.finished_at = Some(now);
            record.succeeded = Some(succeeded);
        }
    }

    pub(super) fn step_succeeded(&mut self, reason: String) {
        self.finish_step(true);
        self.note(reason);
        self.run.current_step += 1;
        self.run.step_status = StepStatus::NotStarted;
    }

    /// A step failed: roll it back, or, when the train cannot go back, hold it for people to fix forward.
    pub(super) fn step_failed(&mut self, reason: String) {
        self.finish_step(false);
        match self.run.roll_forward_only() {
            Some(why) => self.hold(
                HoldReason::Analysis,
                format!("{reason}; not rolled back because the train is roll-forward-only ({why}): fix forward, then promote"),
            ),
            None => self.start_rollback(reason),
        }
    }

    pub(super) fn start_rollback(&mut self, reason: String) {
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
    pub(super) fn advance(&mut self) {
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
                let reason = match &rollout_step.region {
                    Some(region) => format!("{} started ({}% of {region})", rollout_step.name, rollout_step.weight),
                    None => format!("{} started ({}%)", rollout_step.name, rollout_step.weight),
                };
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
