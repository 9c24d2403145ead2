//! One effect carried out through the [`Integrations`], and the event the
//! engine hears from it (or from its final failure).

use super::{Deployment, EffectContext, Integrations};
use crate::engine::{self, Effect, Event};

/// Carries out one effect; the event it yields goes back into the engine.
pub(super) async fn execute(
    integrations: &dyn Integrations,
    context: &EffectContext,
    effect: &Effect,
) -> anyhow::Result<Option<Event>> {
    Ok(match effect {
        Effect::Assemble => Some(Event::Assembled { candidates: integrations.assemble(context).await? }),
        Effect::RunGate { artifact_id, gate, .. } => Some(Event::GateFinished {
            artifact_id: artifact_id.clone(),
            gate: gate.clone(),
            outcome: integrations.run_gate(context, artifact_id, gate).await?,
        }),
        Effect::Deploy { step, .. } => match integrations.deploy(context, *step).await? {
            Deployment::Done => Some(Event::Deployed { step: *step, ok: true, detail: "deployed".into() }),
            // The deployer's status callback delivers `Deployed` later.
            Deployment::Pending => None,
        },
        Effect::Judge { step, .. } => {
            let (verdict, detail) = integrations.judge(context, *step).await?;
            Some(Event::Judged { step: *step, verdict, detail })
        }
        Effect::RollBack { step, .. } => match integrations.roll_back(context, *step, &[]).await? {
            Deployment::Done => Some(Event::RolledBack { step: *step }),
            // The deployer's status callback delivers `RolledBack` (or `RollbackFailed`) later.
            Deployment::Pending => None,
        },
        Effect::RollBackServices { index, step, services, .. } => {
            match integrations.roll_back(context, *step, services).await? {
                Deployment::Done => {
                    Some(Event::ServicesRolledBack { index: *index, ok: true, detail: "rolled back".into() })
                }
                // The deployer's status callback delivers `ServicesRolledBack` later.
                Deployment::Pending => None,
            }
        }
        Effect::SetTimer { timer, .. } => Some(timer.event()),
        Effect::CheckBurn { step, .. } => {
            Some(Event::BurnChecked { step: *step, burn: integrations.check_burn(context, *step).await? })
        }
        Effect::MeasureRelease { from, to, .. } => {
            integrations.measure(context, *from, *to).await?;
            None
        }
        Effect::CarryOver { artifact_id, reason, reject } => {
            if *reject {
                integrations.reject(context, artifact_id, reason).await?;
            }
            None
        }
        Effect::Reinstate { artifact_id, reason } => {
            integrations.reinstate(context, artifact_id, reason).await?;
            None
        }
        Effect::Notify { notice, text } => {
            integrations.notify(context, *notice, text).await?;
            None
        }
    })
}

/// What the engine hears when an effect failed on every attempt.
pub(super) fn failure_event(effect: &Effect, message: &str) -> Option<Event> {
    match effect {
        Effect::Deploy { step, .. } => Some(Event::Deployed { step: *step, ok: false, detail: message.to_owned() }),
        Effect::Judge { step, .. } => Some(Event::Judged {
            step: *step,
            verdict: engine::Verdict::NoData,
            detail: format!("analysis failed: {message}"),
        }),
        Effect::RunGate { artifact_id, gate, .. } => Some(Event::GateFinished {
            artifact_id: artifact_id.clone(),
            gate: gate.clone(),
            outcome: engine::GateOutcome::Errored(message.to_owned()),
        }),
        Effect::CheckBurn { step, .. } => {
            Some(Event::BurnChecked { step: *step, burn: engine::Burn::Unknown(message.to_owned()) })
        }
        Effect::RollBack { step, .. } => Some(Event::RollbackFailed { step: *step, detail: message.to_owned() }),
        Effect::RollBackServices { index, .. } => {
            Some(Event::ServicesRolledBack { index: *index, ok: false, detail: message.to_owned() })
        }
        _ => None,
    }
}
