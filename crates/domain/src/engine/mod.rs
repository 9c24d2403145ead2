//! The train engine: a pure state machine. [`step`] takes a train's state,
//! one event and the current instant, and returns the next state, the
//! effects to carry out (deploy, judge, roll back, set a timer, notify) and
//! the timeline entries to record. No I/O and no clock reads happen here;
//! the runtime stores the outcome in one transaction and executes the
//! effects with their idempotency keys, feeding results back as events.

mod actions;
mod effect;
mod event;
mod model;
mod train;

pub use actions::{allowed, allows, Allowed};
pub use effect::{Effect, Notice, Timer};
pub use event::{Action, Boarding, Burn, BurnSpeed, Event, GateOutcome, Group, Verdict};
pub use model::{
    default_rollout, is_approval_gate, Burning, Candidate, Environment, Gate, GateState, HoldReason, OverrideRequest,
    RolloutStep, ServiceRollback, StepRecord, StepStatus, TrainRun, BURN_CHECK_MS, COMPLIANCE_GATE,
    OVERRIDE_REQUEST_MS, SCHEMA_GATE,
};
pub use train::{step, Outcome, Refusal, TimelineEntry, GATE_ATTEMPTS};

#[cfg(test)]
mod simulation;
