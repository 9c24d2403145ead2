//! Deterministic simulations: whole trains driven through the engine on a
//! simulated clock, with a scripted world answering the effects.

use std::collections::{BTreeMap, HashSet};

use super::*;
use crate::time::Instant;
use crate::train_state::TrainState;

const MINUTE: i64 = 60_000;
const OPENED: Instant = Instant::from_ms(1_000_000);
const CUTOVER: Instant = Instant::from_ms(1_000_000 + 120 * MINUTE);

fn rollout() -> Vec<RolloutStep> {
    vec![
        RolloutStep::new("staging", Environment::Staging, 100, 10 * MINUTE),
        RolloutStep::new("canary 5% eu-west", Environment::Production, 5, 15 * MINUTE),
        RolloutStep::new("50%", Environment::Production, 50, 15 * MINUTE),
        RolloutStep::new("100%", Environment::Production, 100, 0),
    ]
}

/// How the outside world answers.
#[derive(Default)]
struct World {
    candidates: Vec<Boarding>,
    gates: BTreeMap<(String, String), Vec<GateOutcome>>,
    verdicts: BTreeMap<usize, Verdict>,
    failing_deploys: HashSet<usize>,
    /// Steps the GitOps controller never applies: the watcher reports them overdue after ten minutes.
    unapplied_deploys: HashSet<usize>,
    /// Rollbacks fail.
    failing_rollbacks: bool,
    /// From this instant on, burn checks report a fast burn (or `burn_answer`).
    burning_from: Option<Instant>,
    /// What burn checks answer from `burning_from` on, instead of a fast burn.
    burn_answer: Option<Burn>,
    /// Events injected when the clock reaches an instant.
    scheduled: Vec<(Instant, Event)>,
}

impl World {
    fn standard() -> Self {
        let boarding = |id: &str, service: &str| Boarding {
            group: None,
            artifact_id: id.into(),
            service: service.into(),
            gates: vec!["tests".into(), "security".into()],
            irreversible: Vec::new(),
        };
        Self { candidates: vec![boarding("a1", "ledger"), boarding("a2", "checkout")], ..Self::default() }
    }
}

/// Everything that happened in a run.
struct Trace {
    run: TrainRun,
    now: Instant,
    timeline: Vec<TimelineEntry>,
    effects: Vec<Effect>,
}

impl Trace {
    fn phases(&self) -> Vec<TrainState> {
        let mut phases = vec![TrainState::Planning];
        phases.extend(self.timeline.iter().filter(|e| e.from != e.to).map(|e| e.to));
        phases
    }

    fn said(&self, text: &str) -> bool {
        self.timeline.iter().any(|e| e.reason.contains(text))
    }

    /// The timeline one entry per line, as a failed assertion prints it.
    fn printed(&self) -> String {
        self.timeline.iter().map(|e| format!("  {} -> {}: {}\n", e.from, e.to, e.reason)).collect()
    }
}

/// Asserts that some entry of `trace`'s timeline says `text`; when none does,
/// the failure prints the whole timeline.
macro_rules! assert_timeline {
    ($trace:expr, says $text:expr) => {{
        let (trace, text): (&Trace, &str) = (&$trace, &$text);
        assert!(trace.said(text), "the timeline never says {text:?}; it reads:\n{}", trace.printed());
    }};
}

fn drive(mut world: World) -> Trace {
    let mut run = TrainRun::opened("t1", CUTOVER, rollout(), 30 * MINUTE);
    let mut now = OPENED;
    let mut timers: Vec<(Instant, Event)> = vec![(OPENED + MINUTE, Event::PlanningClosed)];
    timers.append(&mut world.scheduled);
    let mut inbox: Vec<Event> = Vec::new();
    let mut trace_timeline = Vec::new();
    let mut trace_effects = Vec::new();
    for _ in 0..1000 {
        if run.phase.is_final() {
            break;
        }
        let event = if inbox.is_empty() {
            timers.sort_by_key(|(at, _)| *at);
            if timers.is_empty() {
                break;
            }
            let (at, event) = timers.remove(0);
            now = now.max(at);
            event
        } else {
            inbox.remove(0)
        };
        let Ok(outcome) = step(&run, &event, now) else { continue };
        run = outcome.run;
        trace_timeline.extend(outcome.timeline);
        for effect in outcome.effects {
            match &effect {
                Effect::Assemble => inbox.push(Event::Assembled { candidates: world.candidates.clone() }),
                Effect::RunGate { artifact_id, gate, .. } => {
                    let script = world.gates.entry((artifact_id.to_string(), gate.clone())).or_default();
                    let outcome = if script.is_empty() { GateOutcome::Passed } else { script.remove(0) };
                    inbox.push(Event::GateFinished { artifact_id: artifact_id.clone(), gate: gate.clone(), outcome });
                }
                Effect::Deploy { step, .. } if world.unapplied_deploys.contains(step) => {
                    let detail =
                        "Argo CD has not applied revision 1a2b3c4 after 10 min (sync OutOfSync, health Healthy)";
                    timers.push((now + 10 * MINUTE, Event::DeployOverdue { step: *step, detail: detail.into() }));
                }
                Effect::Deploy { step, .. } => {
                    let ok = !world.failing_deploys.contains(step);
                    inbox.push(Event::Deployed {
                        step: *step,
                        ok,
                        detail: if ok { "ok" } else { "502 from deployer" }.into(),
                    });
                }
                Effect::Judge { step, .. } => {
                    let verdict = world.verdicts.get(step).copied().unwrap_or(Verdict::Pass);
                    inbox.push(Event::Judged { step: *step, verdict, detail: format!("{verdict:?}") });
                }
                Effect::RollBack { step, .. } if world.failing_rollbacks => {
                    inbox.push(Event::RollbackFailed { step: *step, detail: "registry unreachable".into() });
                }
                Effect::RollBack { step, .. } => timers.push((now + 3 * MINUTE, Event::RolledBack { step: *step })),
                Effect::RollBackServices { index, .. } => {
                    let (ok, detail) =
                        if world.failing_rollbacks { (false, "registry unreachable") } else { (true, "ok") };
                    let event = Event::ServicesRolledBack { index: *index, ok, detail: detail.into() };
                    timers.push((now + 3 * MINUTE, event));
                }
                Effect::SetTimer { at, timer } => timers.push((*at, timer.event())),
                Effect::CheckBurn { step, .. } => {
                    let burning = world.burning_from.is_some_and(|from| now >= from);
                    let burn = if burning {
                        world.burn_answer.clone().unwrap_or_else(|| Burn::Breached {
                            speed: BurnSpeed::Fast,
                            service: "ledger".into(),
                            detail: "ledger 20× over 1h and 5m".into(),
                        })
                    } else {
                        Burn::Calm
                    };
                    inbox.push(Event::BurnChecked { step: *step, burn });
                }
                Effect::CarryOver { .. }
                | Effect::Notify { .. }
                | Effect::MeasureRelease { .. }
                | Effect::Reinstate { .. } => {}
            }
            trace_effects.push(effect);
        }
    }
    Trace { run, now, timeline: trace_timeline, effects: trace_effects }
}

fn keys(effects: &[Effect]) -> Vec<&str> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::RunGate { key, .. }
            | Effect::Deploy { key, .. }
            | Effect::Judge { key, .. }
            | Effect::RollBack { key, .. }
            | Effect::RollBackServices { key, .. }
            | Effect::CheckBurn { key, .. } => Some(key.as_str()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_train_runs_from_planning_to_completion() {
    let trace = drive(World::standard());
    use TrainState::*;
    assert_eq!(trace.phases(), vec![Planning, Assembling, Preflight, Staging, Canary, Cutover, Monitoring, Completed]);
    let deploys: Vec<usize> = trace
        .effects
        .iter()
        .filter_map(|e| if let Effect::Deploy { step, .. } = e { Some(*step) } else { None })
        .collect();
    assert_eq!(deploys, vec![0, 1, 2, 3]);
    // Production waits for the cutover instant even though staging finished early.
    assert_timeline!(trace, says "canary 5% eu-west started");
    assert!(trace.now >= CUTOVER + 30 * MINUTE + 30 * MINUTE, "two soaks and the monitoring window after cutover");
    let all_keys = keys(&trace.effects);
    assert_eq!(all_keys.len(), all_keys.iter().collect::<HashSet<_>>().len(), "every idempotency key is unique");
}

#[test]
fn a_candidate_that_fails_a_gate_misses_the_train_and_the_rest_goes_on() {
    let mut world = World::standard();
    world.gates.insert(("a2".into(), "security".into()), vec![GateOutcome::Failed("2 critical findings".into())]);
    let trace = drive(world);
    assert_eq!(trace.run.phase, TrainState::Completed);
    let checkout = trace.run.candidates.iter().find(|c| c.service == "checkout").expect("checkout");
    assert_eq!(checkout.missed.as_deref(), Some("missed the train: gate security failed (2 critical findings)"));
    assert!(trace.run.candidates.iter().find(|c| c.service == "ledger").expect("ledger").boarded());
    assert!(trace.effects.iter().any(|e| matches!(e, Effect::CarryOver { artifact_id, .. } if artifact_id == "a2")));
}

#[test]
fn when_every_candidate_misses_the_train_it_is_skipped() {
    let mut world = World::standard();
    for id in ["a1", "a2"] {
        world.gates.insert((id.into(), "tests".into()), vec![GateOutcome::Failed("red".into())]);
    }
    let trace = drive(world);
    assert_eq!(trace.run.phase, TrainState::Skipped);
    assert!(!trace.effects.iter().any(|e| matches!(e, Effect::Deploy { .. })));
}

#[test]
fn a_canary_regression_rolls_the_step_back_automatically() {
    let mut world = World::standard();
    world.verdicts.insert(1, Verdict::Fail);
    let trace = drive(world);
    assert_eq!(trace.run.phase, TrainState::RolledBack);
    assert!(trace.effects.iter().any(|e| matches!(e, Effect::RollBack { step: 1, .. })));
    assert!(
        !trace.effects.iter().any(|e| matches!(e, Effect::Deploy { step: 2, .. })),
        "never promoted past the canary"
    );
    assert_timeline!(trace, says "rollback finished in 180 s");
}

#[test]
fn a_deployer_failure_rolls_back_too() {
    let mut world = World::standard();
    world.failing_deploys.insert(2);
    let trace = drive(world);
    assert_eq!(trace.run.phase, TrainState::RolledBack);
    assert_timeline!(trace, says "deploying 50% failed: 502 from deployer");
}

#[test]
fn a_freeze_suspends_the_train_until_it_ends_then_it_resumes_by_itself() {
    let mut world = World::standard();
    world.scheduled = vec![
        (OPENED + 30 * MINUTE, Event::FreezeStarted { name: "year-end".into() }),
        (CUTOVER + 240 * MINUTE, Event::FreezeEnded),
    ];
    let trace = drive(world);
    assert_eq!(trace.run.phase, TrainState::Completed);
    let phases = trace.phases();
    let suspended = phases.iter().position(|p| *p == TrainState::Suspended).expect("suspended");
    assert_eq!(phases[suspended - 1], TrainState::Staging, "staging may run during a freeze; production may not");
    assert_eq!(phases[suspended + 1], TrainState::Staging);
    assert_timeline!(trace, says "freeze year-end holds");
    assert_timeline!(trace, says "freeze year-end ended");
}

#[test]
fn an_errored_gate_is_retried_with_new_keys_then_holds_the_train() {
    let mut world = World::standard();
    let errors = vec![GateOutcome::Errored("scanner timed out".into()); 3];
    world.gates.insert(("a1".into(), "security".into()), errors);
    let trace = drive(world);
    assert_eq!(trace.run.phase, TrainState::Held);
    let attempts: Vec<&str> =
        keys(&trace.effects).into_iter().filter(|k| k.starts_with("t1:gate:a1:security")).collect();
    assert_eq!(attempts, vec!["t1:gate:a1:security:1", "t1:gate:a1:security:2", "t1:gate:a1:security:3"]);
}

#[test]
fn an_inconclusive_gate_holds_until_a_person_waives_it() {
    let mut run = TrainRun::opened("t1", CUTOVER, rollout(), 0);
    let boarding = World::standard().candidates;
    for event in [Event::PlanningClosed, Event::Assembled { candidates: boarding }] {
        run = step(&run, &event, OPENED).expect("accepted").run;
    }
    let inconclusive = Event::GateFinished {
        artifact_id: "a1".into(),
        gate: "security".into(),
        outcome: GateOutcome::Inconclusive("scanner returned no results".into()),
    };
    run = step(&run, &inconclusive, OPENED).expect("accepted").run;
    assert_eq!(run.phase, TrainState::Held);
    let resume = Event::Operator { actor: "rm".into(), action: Action::Resume, reason: String::new() };
    assert!(matches!(step(&run, &resume, OPENED), Err(Refusal::NotNow(_))), "inconclusive never counts as passed");

    let waive = |reason: &str| Event::Operator {
        actor: "rm".into(),
        action: Action::WaiveGate { artifact_id: "a1".into(), gate: "security".into() },
        reason: reason.into(),
    };
    assert_eq!(step(&run, &waive("  "), OPENED), Err(Refusal::NotNow("a reason is required".into())));
    let outcome = step(&run, &waive("scanner outage; manual scan clean"), OPENED).expect("waived");
    assert_eq!(outcome.run.phase, TrainState::Preflight, "back to pre-flight, other gates still pending");
    let gate = &outcome.run.candidates[0].gates[1];
    assert_eq!(gate.state, GateState::Waived { by: "rm".into(), reason: "scanner outage; manual scan clean".into() });
}

#[test]
fn a_marginal_verdict_waits_for_a_person_to_promote() {
    let mut world = World::standard();
    world.verdicts.insert(1, Verdict::Marginal);
    let trace = drive(world);
    assert_eq!(trace.run.phase, TrainState::Held);
    let promote = Event::Operator { actor: "rm".into(), action: Action::Promote, reason: String::new() };
    let outcome = step(&trace.run, &promote, trace.now).expect("promoted");
    assert_eq!(outcome.run.phase, TrainState::Canary);
    assert!(outcome.effects.iter().any(|e| matches!(e, Effect::Deploy { step: 2, .. })));
}

#[test]
fn operators_cannot_abort_what_is_deployed_and_refusals_change_nothing() {
    let mut world = World::standard();
    world.verdicts.insert(1, Verdict::NoData);
    let trace = drive(world);
    let abort = Event::Operator { actor: "rm".into(), action: Action::Abort, reason: "changed my mind".into() };
    assert_eq!(
        step(&trace.run, &abort, trace.now),
        Err(Refusal::NotNow("services are already deployed: roll back instead".into()))
    );
    let roll_back = Event::Operator { actor: "rm".into(), action: Action::RollBack, reason: "no data".into() };
    let outcome = step(&trace.run, &roll_back, trace.now).expect("rollback accepted");
    assert!(outcome.effects.iter().any(|e| matches!(e, Effect::RollBack { step: 1, .. })));
    let done = step(&outcome.run, &Event::RolledBack { step: 1 }, trace.now + MINUTE).expect("done").run;
    assert_eq!(step(&done, &abort, trace.now), Err(Refusal::Final(TrainState::RolledBack)));
}

#[test]
fn an_empty_train_is_skipped() {
    let trace = drive(World::default());
    assert_eq!(trace.phases(), vec![TrainState::Planning, TrainState::Assembling, TrainState::Skipped]);
}

#[test]
fn a_gate_awaiting_approvers_keeps_the_train_in_preflight_until_they_decide() {
    let mut world = World::standard();
    let waiting = GateOutcome::Awaiting("0 of 2 approvals".into());
    world.gates.insert(("a1".into(), "security".into()), vec![waiting.clone()]);
    world.gates.insert(("a2".into(), "security".into()), vec![waiting]);
    // The approvers decide 40 minutes after opening: ledger approved, checkout rejected.
    let decided = |artifact: &str, outcome: GateOutcome| Event::GateFinished {
        artifact_id: artifact.into(),
        gate: "security".into(),
        outcome,
    };
    world.scheduled = vec![
        (OPENED + 40 * MINUTE, decided("a1", GateOutcome::Passed)),
        (OPENED + 41 * MINUTE, decided("a2", GateOutcome::Failed("rejected by carol: no change ticket".into()))),
    ];
    let trace = drive(world);
    use TrainState::*;
    assert_eq!(trace.phases(), vec![Planning, Assembling, Preflight, Staging, Canary, Cutover, Monitoring, Completed]);
    assert!(!trace.phases().contains(&Held), "waiting for people is not a hold");
    assert_timeline!(trace, says "ledger waits for security: 0 of 2 approvals");
    let asked = trace.effects.iter().filter(|e| matches!(e, Effect::Notify { notice: Notice::ApprovalRequested, .. }));
    assert_eq!(asked.count(), 2, "approvers are asked once per candidate");
    let checkout = trace.run.candidates.iter().find(|c| c.service == "checkout").expect("checkout");
    assert_eq!(
        checkout.missed.as_deref(),
        Some("missed the train: gate security failed (rejected by carol: no change ticket)")
    );
    let staging_started = trace.timeline.iter().position(|e| e.to == Staging).expect("staging");
    let approved =
        trace.timeline.iter().position(|e| e.reason.contains("checkout missed the train")).expect("rejected");
    assert!(approved < staging_started, "the train left pre-flight only after both were decided");
}

#[test]
fn a_train_with_an_irreversible_migration_holds_instead_of_rolling_back_and_goes_forward() {
    let mut world = World::standard();
    world.candidates[0].irreversible = vec!["drop_legacy_ledger".into()];
    world.verdicts.insert(1, Verdict::Fail);
    let trace = drive(world);
    assert_timeline!(trace, says "roll-forward-only: irreversible migrations in ledger (drop_legacy_ledger)");
    assert_eq!(trace.run.phase, TrainState::Held, "a failing canary holds the train");
    assert_timeline!(trace, says "not rolled back because the train is roll-forward-only");
    assert!(!trace.effects.iter().any(|e| matches!(e, Effect::RollBack { .. })), "nothing is rolled back");

    let roll_back = Event::Operator { actor: "rm".into(), action: Action::RollBack, reason: "try anyway".into() };
    let refusal = step(&trace.run, &roll_back, trace.now).expect_err("refused");
    assert!(refusal.to_string().contains("roll-forward-only"), "{refusal}");
    let promote =
        Event::Operator { actor: "rm".into(), action: Action::Promote, reason: "fixed forward in 2.0.1".into() };
    let promoted = step(&trace.run, &promote, trace.now).expect("promote goes forward");
    assert_ne!(promoted.run.phase, TrainState::Held);
}

#[test]
fn a_fast_error_budget_burn_during_the_canary_soak_rolls_it_back_before_the_judge() {
    let mut world = World::standard();
    // The canary (step 1) goes out at cutover; its errors cross the fast-burn rule 4 minutes in.
    world.burning_from = Some(CUTOVER + 4 * MINUTE);
    let trace = drive(world);
    assert_eq!(trace.run.phase, TrainState::RolledBack);
    assert_timeline!(trace, says "canary 5% eu-west: error budget burning past the fast-burn threshold");
    assert!(!trace.effects.iter().any(|e| matches!(e, Effect::Judge { step: 1, .. })), "rolled back before judging");
    let checks = trace.effects.iter().filter(|e| matches!(e, Effect::CheckBurn { step: 1, .. })).count();
    assert_eq!(checks, 5, "checked at deploy and every minute until the burn showed: {:?}", keys(&trace.effects));
    let canary = trace.run.steps.iter().find(|r| r.step == 1).expect("canary record");
    assert_eq!((canary.verdict, canary.succeeded), (Some(Verdict::Fail), Some(false)), "M5 counts a failed check");
    assert!(
        !trace.effects.iter().any(|e| matches!(e, Effect::CheckBurn { step: 0, .. })),
        "staging has no SLO traffic"
    );
}

#[test]
fn a_burn_after_the_last_step_rolls_back_during_monitoring() {
    let mut world = World::standard();
    world.burning_from = Some(CUTOVER + 30 * MINUTE + 15 * MINUTE + 10 * MINUTE);
    let trace = drive(world);
    assert_eq!(trace.run.phase, TrainState::RolledBack);
    assert_timeline!(trace, says "monitoring: error budget burning past the fast-burn threshold");
    assert!(trace.effects.iter().any(|e| matches!(e, Effect::RollBack { step: 3, .. })));
}

#[test]
fn a_slow_burn_holds_the_train_for_a_person_and_it_goes_on_when_resumed() {
    let mut world = World::standard();
    world.burning_from = Some(CUTOVER + 4 * MINUTE);
    world.burn_answer = Some(Burn::Breached {
        speed: BurnSpeed::Slow,
        service: "checkout".into(),
        detail: "checkout 7× over 6 hours and 30 minutes".into(),
    });
    let trace = drive(world);
    assert_eq!((trace.run.phase, trace.run.hold.clone()), (TrainState::Held, Some(HoldReason::Burn)));
    assert_timeline!(trace, says "error budget burning past the slow-burn threshold (checkout 7×");
    let burning = trace.run.burning.clone().expect("the burn is kept for the alert");
    assert_eq!((burning.speed, burning.service.as_str()), (BurnSpeed::Slow, "checkout"));
    assert!(trace.run.paused_at.is_some(), "when the hold began, for the held-too-long alert");
    let resume = Event::Operator { actor: "rm".into(), action: Action::Resume, reason: "known noisy".into() };
    let resumed = step(&trace.run, &resume, trace.now).expect("resumed");
    assert_eq!(resumed.run.phase, TrainState::Canary);
    assert_eq!(resumed.run.paused_at, None);
}

#[test]
fn monitoring_without_metrics_holds_instead_of_completing_silently() {
    let mut world = World::standard();
    // Seed F5: after the last step the metrics source returns nothing.
    world.burning_from = Some(CUTOVER + 30 * MINUTE + 15 * MINUTE + 5 * MINUTE);
    world.burn_answer = Some(Burn::Unknown("ledger: no events over the last 1 hour".into()));
    let trace = drive(world);
    assert_eq!((trace.run.phase, trace.run.hold.clone()), (TrainState::Held, Some(HoldReason::Metrics)));
    assert_timeline!(trace, says "monitoring ended without metrics (ledger: no events over the last 1 hour)");
    let resume = Event::Operator { actor: "rm".into(), action: Action::Resume, reason: "exporter was down".into() };
    let resumed = step(&trace.run, &resume, trace.now).expect("a person accepts the gap");
    assert_eq!(resumed.run.metrics_missing, None);
    let completed = step(&resumed.run, &Event::MonitoringElapsed, trace.now + BURN_CHECK_MS).expect("elapsed");
    assert_eq!(completed.run.phase, TrainState::Completed);
}

#[test]
fn a_finished_rollout_is_measured_once_with_its_production_span_and_step_records() {
    let trace = drive(World::standard());
    let measures: Vec<(Instant, Instant)> = trace
        .effects
        .iter()
        .filter_map(|e| if let Effect::MeasureRelease { from, to, .. } = e { Some((*from, *to)) } else { None })
        .collect();
    assert_eq!(measures, vec![(CUTOVER, trace.now)], "from the first production deploy to the end");
    assert_eq!(trace.run.steps.iter().map(|r| r.step).collect::<Vec<_>>(), vec![0, 1, 2, 3]);
    assert!(trace.run.steps.iter().all(|r| r.succeeded == Some(true) && r.deployed_at.is_some()));
    assert_eq!(trace.run.rolled_out_at, Some(CUTOVER + 30 * MINUTE), "two 15-minute soaks after cutover");
    let all_keys = keys(&trace.effects);
    assert_eq!(all_keys.len(), all_keys.iter().collect::<HashSet<_>>().len(), "burn checks get their own keys");

    let skipped = drive(World::default());
    assert!(!skipped.effects.iter().any(|e| matches!(e, Effect::MeasureRelease { .. })), "nothing deployed");
}

#[test]
fn a_deferred_candidate_misses_the_train_without_being_rejected() {
    let mut world = World::standard();
    let exhausted = GateOutcome::Deferred("error budget exhausted: -50.0% left".into());
    world.gates.insert(("a2".into(), "security".into()), vec![exhausted]);
    let trace = drive(world);
    assert_eq!(trace.run.phase, TrainState::Completed);
    let checkout = trace.run.candidates.iter().find(|c| c.service == "checkout").expect("checkout");
    assert!(checkout.missed.as_deref().is_some_and(|m| m.contains("error budget exhausted")));
    let security = checkout.gates.iter().find(|g| g.name == "security").expect("security gate");
    assert_eq!(security.state.name(), "deferred", "shown as deferred, not failed");
    let carried: Vec<bool> = trace
        .effects
        .iter()
        .filter_map(|e| if let Effect::CarryOver { reject, .. } = e { Some(*reject) } else { None })
        .collect();
    assert_eq!(carried, vec![false], "carried to the next train, not rejected");
}

#[test]
fn a_failed_rollback_holds_the_train_until_people_roll_back_again_or_abort() {
    let mut world = World::standard();
    world.verdicts.insert(1, Verdict::Fail);
    world.failing_rollbacks = true;
    let trace = drive(world);
    assert_eq!((trace.run.phase, trace.run.hold.clone()), (TrainState::Held, Some(HoldReason::Rollback)));
    assert_timeline!(trace, says "rolling back canary 5% eu-west failed (registry unreachable)");
    let operator = |action: Action| Event::Operator { actor: "rm".into(), action, reason: "restored by hand".into() };
    assert!(matches!(step(&trace.run, &operator(Action::Resume), trace.now), Err(Refusal::NotNow(_))));

    let again = step(&trace.run, &operator(Action::RollBack), trace.now).expect("rolled back again");
    assert!(again.effects.iter().any(|e| matches!(e, Effect::RollBack { key, .. } if key == "t1:rollback:1:2")));
    assert_eq!(again.timeline[0].from, TrainState::Held, "leaving the hold is on the timeline");
    assert_eq!(again.timeline[0].to, TrainState::Canary);
    let done = step(&again.run, &Event::RolledBack { step: 1 }, trace.now + MINUTE).expect("done").run;
    assert_eq!(done.phase, TrainState::RolledBack);
    assert_eq!(done.rollback_started_at, trace.run.rollback_started_at, "M3 counts from the first trigger");

    let aborted = step(&trace.run, &operator(Action::Abort), trace.now).expect("a person took over");
    assert_eq!(aborted.run.phase, TrainState::Aborted);
}

#[test]
fn a_step_the_controller_never_applies_holds_the_train_until_people_decide() {
    let mut world = World::standard();
    world.unapplied_deploys.insert(1);
    let trace = drive(world);
    assert_eq!((trace.run.phase, trace.run.hold.clone()), (TrainState::Held, Some(HoldReason::Deploy)));
    assert_timeline!(trace, says "canary 5% eu-west: Argo CD has not applied revision 1a2b3c4 after 10 min");
    let operator = |action: Action| Event::Operator { actor: "rm".into(), action, reason: "looked at Argo CD".into() };

    let resumed = step(&trace.run, &operator(Action::Resume), trace.now).expect("resumed").run;
    assert_eq!((resumed.phase, resumed.step_status), (TrainState::Canary, StepStatus::Deploying));
    let applied = Event::Deployed { step: 1, ok: true, detail: "applied".into() };
    let soaking = step(&resumed, &applied, trace.now + MINUTE).expect("applied late").run;
    assert!(matches!(soaking.step_status, StepStatus::Soaking { .. }), "{:?}", soaking.step_status);

    let rolled = step(&trace.run, &operator(Action::RollBack), trace.now).expect("rolled back instead");
    assert!(rolled.effects.iter().any(|e| matches!(e, Effect::RollBack { step: 1, .. })));
    let late = Event::DeployOverdue { step: 1, detail: "still nothing".into() };
    let ignored = step(&rolled.run, &late, trace.now + MINUTE).expect("ignored");
    assert_eq!(ignored.run.hold, None, "an overdue report after the rollback began changes nothing");
}

#[test]
fn approvers_are_reminded_before_cutover_and_a_request_still_open_at_cutover_expires() {
    let mut world = World::standard();
    let waiting = GateOutcome::Awaiting("1 of 2 approvals".into());
    world.gates.insert(("a1".into(), "security".into()), vec![waiting]);
    let trace = drive(world);
    assert_eq!(trace.run.phase, TrainState::Completed, "the rest of the train went on");
    let notices: Vec<&Notice> = trace
        .effects
        .iter()
        .filter_map(|e| if let Effect::Notify { notice, .. } = e { Some(notice) } else { None })
        .filter(|n| matches!(n, Notice::ApprovalRequested | Notice::ApprovalExpiring))
        .collect();
    assert_eq!(notices, vec![&Notice::ApprovalRequested, &Notice::ApprovalExpiring], "asked once, reminded once");
    let reminded = trace.timeline.iter().find(|e| e.reason.starts_with("still waiting")).expect("a reminder");
    assert!(reminded.reason.contains("ledger: security (1 of 2 approvals)"), "{}", reminded.reason);
    let timers: Vec<Instant> = trace
        .effects
        .iter()
        .filter_map(|e| match e {
            Effect::SetTimer { at, timer: Timer::ApprovalReminder | Timer::ApprovalsExpire } => Some(*at),
            _ => None,
        })
        .collect();
    // Asked 119 minutes before cutover: reminded half-way (an hour ahead would come sooner), then expired at cutover.
    assert_eq!(timers, vec![OPENED + MINUTE + (CUTOVER - (OPENED + MINUTE)) / 2, CUTOVER]);
    let ledger = trace.run.candidates.iter().find(|c| c.service == "ledger").expect("ledger");
    assert_eq!(
        ledger.missed.as_deref(),
        Some("missed the train: approvals did not arrive before cutover (security: 1 of 2 approvals)")
    );
    let carried = trace
        .effects
        .iter()
        .any(|e| matches!(e, Effect::CarryOver { artifact_id, reject: false, .. } if artifact_id == "a1"));
    assert!(carried, "carried to the next train, not rejected");
    assert!(trace.run.candidates.iter().find(|c| c.service == "checkout").expect("checkout").boarded());
}

/// Three candidates; ledger and wallet form the group "ledger-core".
fn grouped() -> World {
    let group = Group { name: "ledger-core".into(), services: vec!["ledger".into(), "wallet".into()] };
    let boarding = |id: &str, service: &str, group: Option<&Group>| Boarding {
        artifact_id: id.into(),
        service: service.into(),
        gates: vec!["tests".into()],
        irreversible: Vec::new(),
        group: group.cloned(),
    };
    World {
        candidates: vec![
            boarding("a1", "ledger", Some(&group)),
            boarding("a2", "wallet", Some(&group)),
            boarding("a3", "checkout", None),
        ],
        ..World::default()
    }
}

fn carried(trace: &Trace) -> Vec<(&str, &str, bool)> {
    trace
        .effects
        .iter()
        .filter_map(|e| match e {
            Effect::CarryOver { artifact_id, reason, reject } => Some((artifact_id.as_str(), reason.as_str(), *reject)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_group_member_failing_a_gate_takes_the_whole_group_off_the_train_with_one_reason() {
    let mut world = grouped();
    world.gates.insert(("a2".into(), "tests".into()), vec![GateOutcome::Failed("3 tests failed".into())]);
    let trace = drive(world);
    assert_eq!(trace.run.phase, TrainState::Completed, "the rest of the train ships");
    let reason = "missed the train with group ledger-core: wallet gate tests failed (3 tests failed)";
    let missed: Vec<(&str, Option<&str>)> =
        trace.run.candidates.iter().map(|c| (c.service.as_str(), c.missed.as_deref())).collect();
    assert_eq!(missed, vec![("ledger", Some(reason)), ("wallet", Some(reason)), ("checkout", None)]);
    // Both carried; only the failing artifact is rejected for good.
    assert_eq!(carried(&trace), vec![("a2", reason, true), ("a1", reason, false)]);
    assert_eq!(trace.timeline.iter().filter(|e| e.reason.contains("group ledger-core")).count(), 1, "one note");
    assert_timeline!(trace, says format!("ledger, wallet {reason}"));
}

#[test]
fn a_group_boards_only_whole() {
    let mut world = grouped();
    world.candidates.retain(|b| b.service != "wallet");
    let trace = drive(world);
    let ledger = trace.run.candidates.iter().find(|c| c.service == "ledger").expect("ledger");
    assert_eq!(
        ledger.missed.as_deref(),
        Some("missed the train with group ledger-core: wallet has no candidate on it")
    );
    assert!(trace.run.candidates.iter().find(|c| c.service == "checkout").expect("checkout").boarded());
}

#[test]
fn a_group_kept_off_by_a_deferred_gate_is_not_waived_back_on() {
    let mut world = grouped();
    world.gates.insert(("a1".into(), "tests".into()), vec![GateOutcome::Deferred("flaky suite".into())]);
    let mut run = TrainRun::opened("t1", CUTOVER, rollout(), 30 * MINUTE);
    for event in [
        Event::PlanningClosed,
        Event::Assembled { candidates: world.candidates.clone() },
        Event::GateFinished {
            artifact_id: "a1".into(),
            gate: "tests".into(),
            outcome: GateOutcome::Deferred("flaky".into()),
        },
    ] {
        run = step(&run, &event, OPENED).expect("accepted").run;
    }
    assert!(run.candidates.iter().filter(|c| c.group.is_some()).all(|c| !c.boarded()));
    let waive = Event::Operator {
        actor: "user:pat".into(),
        action: Action::WaiveGate { artifact_id: "a1".into(), gate: "tests".into() },
        reason: "known flaky test, fixed in main".into(),
    };
    let refusal = step(&run, &waive, OPENED).expect_err("a deferral is not waived");
    assert!(refusal.to_string().contains("a waiver covers only an inconclusive or errored gate"), "{refusal}");
    assert!(run.candidates.iter().filter(|c| c.group.is_some()).all(|c| !c.boarded()), "the group stays off");
}

#[test]
fn a_waiver_never_decides_a_failed_blocked_or_approval_gate() {
    let waive = |gate: &str| Event::Operator {
        actor: "user:rita".into(),
        action: Action::WaiveGate { artifact_id: "a1".into(), gate: gate.into() },
        reason: "ship it anyway".into(),
    };
    let cases = [
        ("security", GateOutcome::Failed("CVE-2026-1234 (critical) in libfoo".into()), "failed"),
        ("tests", GateOutcome::Blocked("ledger-api@2 is not provided".into()), "is blocked"),
        (COMPLIANCE_GATE, GateOutcome::Awaiting("0 of 2 approvals".into()), "decided by approvers only"),
        (
            COMPLIANCE_GATE,
            GateOutcome::Failed("rejected by carol: no change ticket".into()),
            "decided by approvers only",
        ),
        (COMPLIANCE_GATE, GateOutcome::Errored("the approvals could not be read".into()), "decided by approvers only"),
        (SCHEMA_GATE, GateOutcome::Awaiting("drop_legacy needs a sign-off".into()), "decided by approvers only"),
    ];
    for (gate, outcome, said) in cases {
        let mut boarding = World::standard().candidates;
        boarding[0].gates = vec!["tests".into(), "security".into(), gate.to_owned()];
        boarding[0].gates.dedup();
        let mut run = TrainRun::opened("t1", CUTOVER, rollout(), 0);
        let finished = Event::GateFinished { artifact_id: "a1".into(), gate: gate.into(), outcome: outcome.clone() };
        for event in [Event::PlanningClosed, Event::Assembled { candidates: boarding }, finished] {
            run = step(&run, &event, OPENED).expect("accepted").run;
        }
        let refusal = step(&run, &waive(gate), OPENED).expect_err("refused");
        assert!(refusal.to_string().contains(said), "{gate} {outcome:?}: {refusal}");
        let state = &run.candidates[0].gates.iter().find(|g| g.name == gate).expect("gate").state;
        assert!(!state.clears(), "{gate} {outcome:?} stays undecided for the release manager");
    }
}

#[test]
fn no_step_starts_while_another_train_deploys_the_same_services() {
    let mut world = World::standard();
    let by = "payments-daily train t0 is deploying ledger".to_owned();
    world.scheduled.push((OPENED + MINUTE / 2, Event::DeploysBusy { by: by.clone() }));
    world.scheduled.push((OPENED + 60 * MINUTE, Event::DeploysFree));
    let trace = drive(world);
    assert_eq!(trace.run.phase, TrainState::Completed, "it goes on once the other train is done");
    assert_timeline!(trace, says format!("waiting: {by}"));
    assert_timeline!(trace, says "going on");
    let staging = trace.run.steps.first().expect("staging ran");
    assert_eq!(staging.started_at, OPENED + 60 * MINUTE, "staging waited for the other train, not just preflight");
    assert_eq!(trace.run.waiting_for, None);
}

fn operator(action: Action, reason: &str) -> Event {
    Event::Operator { actor: "rm".into(), action, reason: reason.into() }
}

fn roll_back(services: &[&str]) -> Action {
    Action::RollBackServices { services: services.iter().map(|s| (*s).to_owned()).collect() }
}

#[test]
fn rolling_back_one_service_during_monitoring_takes_its_group_and_leaves_the_rest_deployed() {
    let mut world = grouped();
    world.scheduled.push((CUTOVER + 40 * MINUTE, operator(roll_back(&["wallet"]), "wallet 500s on /pay")));
    let trace = drive(world);
    assert_eq!(trace.run.phase, TrainState::Completed, "the rest of the train completes");
    let marks: Vec<(&str, Option<&str>)> =
        trace.run.candidates.iter().map(|c| (c.service.as_str(), c.rolled_back.as_deref())).collect();
    let mark = "rolled back by rm: wallet 500s on /pay";
    assert_eq!(marks, vec![("ledger", Some(mark)), ("wallet", Some(mark)), ("checkout", None)]);
    let rollbacks: Vec<(&[String], &str)> = trace
        .effects
        .iter()
        .filter_map(|e| match e {
            Effect::RollBackServices { services, key, .. } => Some((services.as_slice(), key.as_str())),
            Effect::RollBack { .. } => panic!("the whole train was rolled back"),
            _ => None,
        })
        .collect();
    assert_eq!(rollbacks, vec![(&["ledger".to_owned(), "wallet".to_owned()][..], "t1:rollback-services:0")]);
    // Only the named build is rejected; its group partner may board again.
    assert_eq!(carried(&trace), vec![("a1", mark, false), ("a2", mark, true)]);
    assert_timeline!(trace, says "rolling back ledger, wallet alone, by rm: wallet 500s on /pay");
    assert_timeline!(trace, says "ledger, wallet rolled back in 180 s; the rest of the train stays deployed");
    assert_timeline!(trace, says "the services rolled back alone stay on their previous version");
    let record = &trace.run.service_rollbacks[0];
    assert_eq!((record.started_at, record.finished_at), (CUTOVER + 40 * MINUTE, Some(CUTOVER + 43 * MINUTE)));
}

#[test]
fn no_step_starts_while_a_service_rolls_back() {
    let mut world = World::standard();
    // The canary soaks until cutover + 15 min; the rollback runs from + 14 to + 17.
    world.scheduled.push((CUTOVER + 14 * MINUTE, operator(roll_back(&["checkout"]), "checkout leaks memory")));
    let trace = drive(world);
    assert_eq!(trace.run.phase, TrainState::Completed);
    let next = trace.run.steps.iter().find(|r| r.step == 2).expect("the 50% step ran");
    assert_eq!(next.started_at, CUTOVER + 17 * MINUTE, "it waited for the rollback to finish");
    assert_eq!(trace.run.candidates.iter().filter(|c| c.boarded()).count(), 1, "ledger went on alone");
}

#[test]
fn a_failed_service_rollback_holds_until_it_is_tried_again_or_a_person_resumes() {
    let mut world = World::standard();
    world.failing_rollbacks = true;
    world.scheduled.push((CUTOVER + 40 * MINUTE, operator(roll_back(&["ledger"]), "ledger errors")));
    let trace = drive(world);
    assert_eq!((trace.run.phase, trace.run.hold.clone()), (TrainState::Held, Some(HoldReason::Rollback)));
    assert_timeline!(trace, says "rolling back ledger failed (registry unreachable): roll ledger back again");
    let now = trace.now;

    let again = step(&trace.run, &operator(roll_back(&["ledger"]), "registry is back"), now).expect("retried");
    assert_eq!(again.run.phase, TrainState::Monitoring, "the hold is left");
    assert!(again
        .effects
        .iter()
        .any(|e| matches!(e, Effect::RollBackServices { key, .. } if key == "t1:rollback-services:0:2")));
    let done = step(&again.run, &Event::ServicesRolledBack { index: 0, ok: true, detail: "ok".into() }, now + MINUTE);
    assert!(done.expect("answered").run.service_rollbacks[0].finished_at.is_some());

    // The monitoring window ending while held does not complete the train; it is looked at again.
    let later = step(&trace.run, &Event::MonitoringElapsed, now).expect("still held");
    assert_eq!(later.run.phase, TrainState::Held);
    assert_eq!(later.effects, vec![Effect::SetTimer { at: now + BURN_CHECK_MS, timer: Timer::MonitoringElapsed }]);

    let resumed = step(&trace.run, &operator(Action::Resume, "restored ledger by hand"), now).expect("resumed");
    assert_eq!(resumed.run.phase, TrainState::Monitoring);
    let done = step(&resumed.run, &Event::MonitoringElapsed, now + BURN_CHECK_MS).expect("completed");
    assert_eq!(done.run.phase, TrainState::Completed);
}

#[test]
fn service_rollbacks_that_make_no_sense_are_refused_and_naming_every_service_rolls_back_the_train() {
    let planning = TrainRun::opened("t1", CUTOVER, rollout(), 30 * MINUTE);
    let refused = |run: &TrainRun, action: Action| match step(run, &operator(action, "why"), CUTOVER) {
        Err(Refusal::NotNow(text)) => text,
        other => panic!("not refused: {other:?}"),
    };
    assert_eq!(refused(&planning, roll_back(&["ledger"])), "nothing is deployed yet: abort instead");

    // A completed train, put back into monitoring.
    let mut monitoring = drive(World::standard()).run;
    monitoring.phase = TrainState::Monitoring;
    assert_eq!(refused(&monitoring, roll_back(&[])), "name the services to roll back");
    assert_eq!(refused(&monitoring, roll_back(&["search"])), "search is not on this train");
    monitoring.candidates[0].irreversible = vec!["drop column memo".into()];
    assert_eq!(
        refused(&monitoring, roll_back(&["ledger"])),
        "irreversible migrations in ledger (drop column memo): fix forward"
    );
    monitoring.candidates[0].irreversible.clear();

    let whole = step(&monitoring, &operator(roll_back(&["ledger", "checkout"]), "both broken"), CUTOVER).expect("ok");
    assert!(whole.effects.iter().any(|e| matches!(e, Effect::RollBack { .. })), "every service: the whole train");
    assert_eq!(whole.run.step_status, StepStatus::RollingBack);

    let partial = step(&monitoring, &operator(roll_back(&["ledger"]), "ledger"), CUTOVER).expect("ok").run;
    assert_eq!(
        refused(&partial, roll_back(&["ledger"])),
        "the rollback of ledger is still running: wait for it to finish"
    );
    assert_eq!(refused(&partial, Action::RollBack), "the rollback of ledger is still running: wait for it to finish");
}

#[test]
fn taking_a_blocked_candidate_off_the_train_lets_the_rest_go_and_later_refuses() {
    let mut world = World::standard();
    world.gates.insert(("a2".into(), "tests".into()), vec![GateOutcome::Blocked("requires wallet-api@3".into())]);
    let remove = Action::RemoveCandidate { artifact_id: "a2".into() };
    world.scheduled.push((OPENED + 5 * MINUTE, operator(remove.clone(), "ships next week with wallet")));
    let trace = drive(world);
    assert_eq!(trace.run.phase, TrainState::Completed, "ledger ships alone");
    let reason = "taken off the train by rm: ships next week with wallet";
    assert_eq!(trace.run.candidates[1].missed.as_deref(), Some(reason));
    assert_eq!(carried(&trace), vec![("a2", reason, false)], "carried to the next train, not rejected");
    assert_timeline!(trace, says format!("checkout {reason}"));
    // The hold it caused is left.
    assert_timeline!(trace, says "every held gate is decided");

    let mut deployed = trace.run.clone();
    deployed.phase = TrainState::Monitoring;
    deployed.candidates[1].missed = None;
    let refusal = step(&deployed, &operator(remove, "too late"), trace.now);
    let expected = "checkout is already deployed: roll it back alone (roll_back_services) instead";
    assert_eq!(refusal, Err(Refusal::NotNow(expected.into())));
}

#[test]
fn taking_a_group_member_off_the_train_takes_its_group() {
    let mut world = grouped();
    let remove = Action::RemoveCandidate { artifact_id: "a2".into() };
    world.scheduled.push((OPENED + MINUTE, operator(remove, "wallet waits for the ledger fix")));
    world.gates.insert(("a1".into(), "tests".into()), vec![GateOutcome::Awaiting("1 of 2 approvals".into())]);
    let trace = drive(world);
    let off: Vec<(&str, bool)> = trace.run.candidates.iter().map(|c| (c.service.as_str(), c.boarded())).collect();
    assert_eq!(off, vec![("ledger", false), ("wallet", false), ("checkout", true)]);
    assert_eq!(trace.run.phase, TrainState::Completed);
}

/// A train in pre-flight whose ledger candidate failed its security scan; checkout's gates still run.
fn security_failed(overrides_allowed: bool) -> TrainRun {
    let mut run = TrainRun::opened("t1", CUTOVER, rollout(), 0);
    run.overrides_allowed = overrides_allowed;
    let failed = Event::GateFinished {
        artifact_id: "a1".into(),
        gate: "security".into(),
        outcome: GateOutcome::Failed("CVE-2026-1234 (high) in libfoo".into()),
    };
    for event in [Event::PlanningClosed, Event::Assembled { candidates: World::standard().candidates }, failed] {
        run = step(&run, &event, OPENED).expect("accepted").run;
    }
    assert!(!run.candidates[0].boarded(), "a failed gate takes ledger off the train");
    run
}

fn operator_as(actor: &str, action: Action, reason: &str) -> Event {
    Event::Operator { actor: actor.into(), action, reason: reason.into() }
}

fn ask(actor: &str) -> Event {
    let action = Action::RequestOverride { artifact_id: "a1".into(), gate: "security".into() };
    operator_as(actor, action, "not reachable from our code; vendor patch next week")
}

fn grant(actor: &str) -> Event {
    let action = Action::GrantOverride { artifact_id: "a1".into(), gate: "security".into() };
    operator_as(actor, action, "checked the call graph")
}

#[test]
fn a_failed_gate_is_overridden_only_by_a_second_person_and_the_candidate_boards_again() {
    let run = security_failed(true);
    let refusal = step(&run, &grant("user:ann"), OPENED).expect_err("nobody asked yet");
    assert!(refusal.to_string().contains("a release manager asks first"), "{refusal}");

    let asked = step(&run, &ask("user:rita"), OPENED).expect("asked");
    assert!(asked.effects.iter().any(|e| matches!(e, Effect::Notify { notice: Notice::ApprovalRequested, .. })));
    let gate = &asked.run.candidates[0].gates[1];
    assert!(!gate.state.clears(), "asking alone lets nothing through");
    assert_eq!(gate.override_request.as_ref().map(|r| r.by.as_str()), Some("user:rita"));
    let again = step(&asked.run, &ask("user:rob"), OPENED).expect_err("one open request at a time");
    assert!(again.to_string().contains("already asked"), "{again}");

    let own = step(&asked.run, &grant("user:rita"), OPENED + MINUTE).expect_err("the asker cannot grant");
    assert!(own.to_string().contains("a different person must grant it"), "{own}");

    let granted = step(&asked.run, &grant("user:ann"), OPENED + MINUTE).expect("granted");
    let ledger = &granted.run.candidates[0];
    assert!(ledger.boarded(), "ledger is back on the train");
    match &ledger.gates[1].state {
        GateState::Overridden { requested_by, granted_by, was, .. } => {
            assert_eq!((requested_by.as_str(), granted_by.as_str()), ("user:rita", "user:ann"));
            assert!(was.contains("CVE-2026-1234"), "{was}");
        }
        other => panic!("expected overridden, got {other:?}"),
    }
    assert!(granted.effects.iter().any(|e| matches!(e, Effect::Reinstate { artifact_id, .. } if artifact_id == "a1")));
    assert!(granted
        .timeline
        .iter()
        .any(|e| e.reason.contains("asked by user:rita") && e.reason.contains("granted by user:ann")));
}

#[test]
fn an_override_request_lapses_and_a_definition_can_forbid_overrides() {
    let asked = step(&security_failed(true), &ask("user:rita"), OPENED).expect("asked").run;
    let late = step(&asked, &grant("user:ann"), OPENED + OVERRIDE_REQUEST_MS).expect_err("lapsed");
    assert!(late.to_string().contains("lapsed"), "{late}");
    assert!(!asked.candidates[0].gates[1].state.clears());
    let renewed =
        step(&asked, &ask("user:rob"), OPENED + OVERRIDE_REQUEST_MS).expect("a lapsed request can be renewed");
    assert_eq!(renewed.run.candidates[0].gates[1].override_request.as_ref().map(|r| r.by.as_str()), Some("user:rob"));

    let forbidden = step(&security_failed(false), &ask("user:rita"), OPENED).expect_err("forbidden");
    assert!(forbidden.to_string().contains("forbids overrides"), "{forbidden}");
}

#[test]
fn overrides_are_for_failed_or_blocked_non_approval_gates_in_preflight() {
    let mut world = World::standard();
    world.gates.insert(("a1".into(), "security".into()), vec![GateOutcome::Inconclusive("no results".into())]);
    let mut run = TrainRun::opened("t1", CUTOVER, rollout(), 0);
    let inconclusive = Event::GateFinished {
        artifact_id: "a1".into(),
        gate: "security".into(),
        outcome: GateOutcome::Inconclusive("no results".into()),
    };
    for event in [Event::PlanningClosed, Event::Assembled { candidates: world.candidates }, inconclusive] {
        run = step(&run, &event, OPENED).expect("accepted").run;
    }
    let refusal = step(&run, &ask("user:rita"), OPENED).expect_err("waive it instead");
    assert!(refusal.to_string().contains("a release manager can waive this one"), "{refusal}");

    let mut boarding = World::standard().candidates;
    boarding[0].gates.push(COMPLIANCE_GATE.into());
    let mut run = TrainRun::opened("t1", CUTOVER, rollout(), 0);
    let rejected = Event::GateFinished {
        artifact_id: "a1".into(),
        gate: COMPLIANCE_GATE.into(),
        outcome: GateOutcome::Failed("rejected by carol".into()),
    };
    for event in [Event::PlanningClosed, Event::Assembled { candidates: boarding }, rejected] {
        run = step(&run, &event, OPENED).expect("accepted").run;
    }
    let action = Action::RequestOverride { artifact_id: "a1".into(), gate: COMPLIANCE_GATE.into() };
    let refusal = step(&run, &operator_as("user:rita", action, "we need it"), OPENED).expect_err("approvers decide");
    assert!(refusal.to_string().contains("decided by approvers only"), "{refusal}");

    let trace = drive(World::standard());
    let late = step(&trace.run, &ask("user:rita"), trace.now).expect_err("after pre-flight");
    assert!(matches!(late, Refusal::NotNow(_) | Refusal::Final(_)), "{late}");
}
