//! Trains: opening one. The scheduler opens the trains its cadences
//! created, the emergency endpoint opens one on demand and the demo driver
//! keeps a fast one in flight; all three go through [`open`].

use crate::engine::{default_rollout, RolloutStep, TrainRun};
use crate::runtime::{self, RuntimeError};
use crate::store::definitions::Definition;
use crate::store::trains::Transition;
use crate::store::{self, Conn};
use crate::train_kind::TrainKind;
use crate::train_state::TrainState;

/// A stored `Scheduled` train about to open for planning.
pub struct Opening<'a> {
    pub train_id: &'a str,
    pub definition: &'a Definition,
    pub kind: TrainKind,
    pub cutover_at: i64,
    /// When planning closes and assembly starts.
    pub planning_closes_at: i64,
    /// Who opens it, and why, for the timeline.
    pub actor: &'a str,
    pub reason: &'a str,
    /// The demo's pace instead of the definition's; `None` for every real train.
    pub demo_pace: Option<DemoPace>,
}

/// The live demo's rollout, which takes seconds instead of hours.
pub struct DemoPace {
    pub rollout: Vec<RolloutStep>,
    pub monitoring_ms: i64,
    pub burn_check_ms: i64,
}

/// Opens `opening.train_id` (`Scheduled` → `Planning`) and starts its engine
/// with the rollout its definition and kind give. `false` when the train
/// was no longer `Scheduled` (another replica or request opened it first).
pub async fn open(tx: &mut Conn, opening: Opening<'_>, now: i64) -> Result<bool, RuntimeError> {
    let change = Transition {
        from: TrainState::Scheduled,
        to: TrainState::Planning,
        at: now,
        actor: opening.actor,
        reason: opening.reason,
    };
    if !store::trains::transition(tx, opening.train_id, change).await? {
        return Ok(false);
    }
    let run = match opening.demo_pace {
        Some(pace) => TrainRun {
            burn_check_ms: pace.burn_check_ms,
            ..TrainRun::opened(opening.train_id, opening.cutover_at, pace.rollout, pace.monitoring_ms)
        },
        None => {
            let definition = opening.definition;
            // A train follows its kind's policy (a rehearsal never gets a production step).
            let policy = store::kinds::policy(tx, opening.kind).await?;
            let declared: Vec<RolloutStep> = serde_json::from_str(&definition.rollout).unwrap_or_default();
            let rollout = policy.rollout(if declared.is_empty() { default_rollout() } else { declared });
            TrainRun {
                overrides_allowed: definition.overrides_allowed(),
                ..TrainRun::opened(
                    opening.train_id,
                    opening.cutover_at,
                    rollout,
                    policy.monitoring_ms(definition.monitoring_ms),
                )
            }
        }
    };
    runtime::start_in(tx, &run, opening.planning_closes_at, now).await?;
    Ok(true)
}
