//! What people do to a train: hold, resume, promote, abort, roll back
//! (all or some services), remove a candidate, waive a gate, ask for and
//! grant an override. Each is refused when it makes no sense now.

use super::super::effect::{Effect, Notice};
use super::super::event::Action;
use super::super::model::{
    is_approval_gate, Gate, GateState, HoldReason, OverrideRequest, ServiceRollback, StepStatus, OVERRIDE_REQUEST_MS,
};
use super::{Machine, Refusal};
use crate::train_state::TrainState;

impl Machine {
    pub(super) fn operator(&mut self, actor: &str, action: &Action, reason: &str) -> Result<(), Refusal> {
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
                if self.run.hold == Some(HoldReason::Metrics) {
                    // The person accepted the gap in the metrics.
                    self.run.metrics_missing = None;
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
    pub(super) fn gate_in_preflight(
        &mut self,
        artifact_id: &str,
        gate: &str,
        what: &str,
    ) -> Result<(String, &mut Gate), Refusal> {
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
    pub(super) fn waive(&mut self, actor: &str, artifact_id: &str, gate: &str, reason: &str) -> Result<(), Refusal> {
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
    pub(super) fn request_override(
        &mut self,
        actor: &str,
        artifact_id: &str,
        gate: &str,
        reason: &str,
    ) -> Result<(), Refusal> {
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
    pub(super) fn grant_override(
        &mut self,
        actor: &str,
        artifact_id: &str,
        gate: &str,
        reason: &str,
    ) -> Result<(), Refusal> {
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
            self.effects.push(Effect::Reinstate { artifact_id: artifact_id.into(), reason: text.clone() });
        }
        self.note(text);
        self.gate_cleared(artifact_id);
        Ok(())
    }

    /// After a gate of `artifact_id` was waived or overridden: puts the
    /// candidate back on the train if that gate had taken it off (its group
    /// with it) and nothing else keeps it off, and resumes a train held only by gates.
    pub(super) fn gate_cleared(&mut self, artifact_id: &str) {
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
    pub(super) fn remove_candidate(&mut self, actor: &str, artifact_id: &str, reason: &str) -> Result<(), Refusal> {
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
        self.effects.push(Effect::CarryOver { artifact_id: artifact_id.into(), reason: why.clone(), reject: false });
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
    pub(super) fn roll_back_services(
        &mut self,
        actor: &str,
        requested: &[String],
        reason: &str,
    ) -> Result<(), Refusal> {
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
    pub(super) fn no_service_rolling_back(&self) -> Result<(), Refusal> {
        match self.run.service_rollback_running() {
            Some(running) => Err(Refusal::NotNow(format!(
                "the rollback of {} is still running: wait for it to finish",
                running.services.join(", ")
            ))),
            None => Ok(()),
        }
    }

    /// The requested services with the boarded members of their atomic groups, in boarding order.
    pub(super) fn with_groups(&self, requested: &[String]) -> Result<Vec<String>, Refusal> {
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
    pub(super) fn failed_service_rollback(&self, requested: &[String]) -> Result<Option<usize>, Refusal> {
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
    pub(super) fn retry_service_rollback(&mut self, index: usize, actor: &str, reason: &str) {
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
}
