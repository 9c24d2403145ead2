//! What an operator may do to a train now. The answer comes from the engine
//! itself (each action is tried on a copy of the run and kept when not
//! refused), so a console built on it can never offer a button the engine
//! then refuses, and no second copy of the rules exists.

use super::{step, Action, Event, TrainRun};
use crate::time::Instant;

/// The actions `run` accepts from an operator at `now`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allowed {
    /// Of hold, resume, promote, abort and roll back, those allowed, in that order.
    pub train: Vec<Action>,
    /// Boarded services that can be rolled back alone (with their atomic
    /// groups) while the rest of the train stays deployed.
    pub services_alone: Vec<String>,
}

/// Whether the engine accepts `action` on `run` at `now`.
pub fn allows(run: &TrainRun, action: &Action, now: Instant) -> bool {
    let probe = Event::Operator {
        actor: "(asking what is allowed)".into(),
        action: action.clone(),
        // Every action accepts a reason; some require one.
        reason: "asking what is allowed".into(),
    };
    step(run, &probe, now).is_ok()
}

/// Everything an operator may do to `run` at `now`.
pub fn allowed(run: &TrainRun, now: Instant) -> Allowed {
    let train = [Action::Hold, Action::Resume, Action::Promote, Action::Abort, Action::RollBack]
        .into_iter()
        .filter(|action| allows(run, action, now))
        .collect();
    // Naming every service on board is a whole-train rollback, not one "alone";
    // a failed rollback of some services can be tried again whatever is left.
    let boarded: Vec<&str> = run.candidates.iter().filter(|c| c.boarded()).map(|c| c.service.as_str()).collect();
    let mut probes: Vec<&str> = if boarded.len() < 2 { Vec::new() } else { boarded };
    for failed in run.service_rollbacks.iter().filter(|r| r.failure.is_some()) {
        for service in &failed.services {
            if !probes.contains(&service.as_str()) {
                probes.push(service);
            }
        }
    }
    let services_alone = probes
        .into_iter()
        .filter(|service| allows(run, &Action::RollBackServices { services: vec![(*service).to_owned()] }, now))
        .map(str::to_owned)
        .collect();
    Allowed { train, services_alone }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::default_rollout;

    fn operator(action: Action) -> Event {
        Event::Operator { actor: "rm".into(), action, reason: "checking".into() }
    }

    #[test]
    fn a_planning_train_can_be_held_or_aborted_and_a_held_one_resumed() {
        let run = TrainRun::opened("t1", Instant::from_ms(3_600_000), default_rollout(), 1_800_000);
        assert_eq!(allowed(&run, Instant::EPOCH).train, vec![Action::Hold, Action::Abort]);
        assert!(allowed(&run, Instant::EPOCH).services_alone.is_empty(), "nothing is deployed");

        let held = step(&run, &operator(Action::Hold), Instant::EPOCH).expect("hold").run;
        assert_eq!(allowed(&held, Instant::EPOCH).train, vec![Action::Resume, Action::Abort]);

        let aborted = step(&held, &operator(Action::Abort), Instant::EPOCH).expect("abort").run;
        assert_eq!(allowed(&aborted, Instant::EPOCH), Allowed::default(), "an ended train allows nothing");
    }

    #[test]
    fn whatever_is_allowed_the_engine_accepts() {
        let run = TrainRun::opened("t1", Instant::from_ms(3_600_000), default_rollout(), 1_800_000);
        let held = step(&run, &operator(Action::Hold), Instant::EPOCH).expect("hold").run;
        for state in [run, held] {
            for action in allowed(&state, Instant::EPOCH).train {
                assert!(
                    step(&state, &operator(action.clone()), Instant::EPOCH).is_ok(),
                    "{action:?} in {}",
                    state.phase
                );
            }
        }
    }
}
