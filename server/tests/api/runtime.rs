use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, PoisonError};

use chrono::Duration;
use server::engine::{Boarding, Burn, GateOutcome, Notice, Verdict};
use server::fleet::{self, parse};
use server::runtime::{self, BoxFuture, Deployment, EffectContext, Integrations, MAX_ATTEMPTS};
use server::scheduler::{tick, SchedulerConfig};
use server::store::{self, Db};
use server::time::Instant;
use server::train_state::TrainState;

use crate::helpers::{fresh_store, ledger_fleet, test_now, Backend, TestDatabase};
use crate::on_both_backends;

fn fleet() -> String {
    ledger_fleet(
        "",
        "monitoring = \"10m\"",
        &[("staging", "staging", 100, "1m"), ("canary 10%", "production", 10, "2m"), ("100%", "production", 100, "0s")],
    )
}

/// A receiver that honours idempotency keys: it records every call, applies each key once.
#[derive(Default)]
struct Receiver {
    calls: Mutex<Vec<String>>,
    applied: Mutex<HashSet<String>>,
    failing_deploy_steps: HashSet<usize>,
    verdicts: HashMap<usize, Verdict>,
    /// Gate runs that fail (a flaky CI connection) before the gate answers.
    gate_errors_left: Mutex<usize>,
}

impl Receiver {
    fn record(&self, what: &str, key: &str) {
        self.calls.lock().unwrap_or_else(PoisonError::into_inner).push(format!("{what} {key}"));
        self.applied.lock().unwrap_or_else(PoisonError::into_inner).insert(key.to_owned());
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl Integrations for Receiver {
    fn assemble<'a>(&'a self, _: &'a EffectContext) -> BoxFuture<'a, anyhow::Result<Vec<Boarding>>> {
        Box::pin(async {
            Ok(vec![Boarding {
                artifact_id: "a1".into(),
                service: "ledger".into(),
                gates: vec!["tests".into()],
                irreversible: Vec::new(),
                group: None,
            }])
        })
    }

    fn run_gate<'a>(
        &'a self,
        c: &'a EffectContext,
        _: &'a str,
        _: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<GateOutcome>> {
        self.record("gate", &c.key);
        let mut left = self.gate_errors_left.lock().unwrap_or_else(PoisonError::into_inner);
        let flaked = *left > 0;
        *left = left.saturating_sub(1);
        Box::pin(async move {
            if flaked {
                anyhow::bail!("the CI system answered 502")
            }
            Ok(GateOutcome::Passed)
        })
    }

    fn deploy<'a>(&'a self, c: &'a EffectContext, step: usize) -> BoxFuture<'a, anyhow::Result<Deployment>> {
        self.record("deploy", &c.key);
        let fails = self.failing_deploy_steps.contains(&step);
        Box::pin(async move {
            if fails {
                anyhow::bail!("503 Service Unavailable")
            } else {
                Ok(Deployment::Done)
            }
        })
    }

    fn judge<'a>(&'a self, c: &'a EffectContext, step: usize) -> BoxFuture<'a, anyhow::Result<(Verdict, String)>> {
        self.record("judge", &c.key);
        let verdict = self.verdicts.get(&step).copied().unwrap_or(Verdict::Pass);
        Box::pin(async move { Ok((verdict, "score 100".to_owned())) })
    }

    fn check_burn<'a>(&'a self, c: &'a EffectContext, _: usize) -> BoxFuture<'a, anyhow::Result<Burn>> {
        self.record("burn", &c.key);
        Box::pin(async { Ok(Burn::Calm) })
    }

    fn measure<'a>(&'a self, c: &'a EffectContext, _: Instant, _: Instant) -> BoxFuture<'a, anyhow::Result<()>> {
        self.record("measure", &c.key);
        Box::pin(async { Ok(()) })
    }

    fn roll_back<'a>(
        &'a self,
        c: &'a EffectContext,
        _: usize,
        _: &'a [String],
    ) -> BoxFuture<'a, anyhow::Result<Deployment>> {
        self.record("rollback", &c.key);
        Box::pin(async { Ok(Deployment::Done) })
    }

    fn reject<'a>(&'a self, _: &'a EffectContext, _: &'a str, _: &'a str) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async { Ok(()) })
    }

    fn reinstate<'a>(&'a self, _: &'a EffectContext, _: &'a str, _: &'a str) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async { Ok(()) })
    }

    fn notify<'a>(&'a self, _: &'a EffectContext, _: Notice, _: &'a str) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async { Ok(()) })
    }
}

/// A store with one opened train and its engine state; returns the train id and its cutover.
async fn opened_train(backend: Backend) -> (Db, TestDatabase, String, Instant) {
    let (db, database) = fresh_store(backend).await;
    let now = test_now(); // 12:00; the 14:00 train opens at 13:00
    fleet::apply(&db, &parse("fleet.toml", &fleet()).expect("valid"), now).await.expect("apply");
    let config = SchedulerConfig { horizon: Duration::hours(4), ..SchedulerConfig::default() };
    tick(&db, crate::helpers::lead(&db).await, now + Duration::hours(1), &config).await.expect("tick");
    let mut conn = db.acquire().await.expect("connection");
    let (id, cutover): (String, i64) = sqlx::query_as("SELECT id, cutover_at FROM trains WHERE state = 'planning'")
        .fetch_one(&mut *conn)
        .await
        .expect("an open train");
    drop(conn);
    // The scheduler gave the opened train its engine state, with the definition's rollout.
    let run = runtime::load(&db, &id).await.expect("engine state");
    assert_eq!(run.rollout.len(), 3);
    assert_eq!(run.monitoring_ms, 600_000);
    // The artifact the test receiver assembles.
    let mut conn = db.acquire().await.expect("connection");
    let ledger = store::services::by_name(&mut conn, "ledger").await.expect("query").expect("ledger");
    let artifact = store::artifacts::Artifact {
        id: "a1".into(),
        service_id: ledger.id,
        service: "ledger".into(),
        version: "1.0.0".into(),
        digest: format!("sha256:{}", "0".repeat(64)),
        commit_sha: "abcdef1".into(),
        author: "alice".into(),
        changes: "[]".into(),
        migrations: "[]".into(),
        contracts: "{}".into(),
        rejected_at: None,
        rejected_reason: None,
        created_at: Instant::from_utc(now),
    };
    assert!(store::artifacts::insert_if_absent(&mut conn, &artifact).await.expect("artifact"));
    (db, database, id, Instant::from_ms(cutover))
}

/// Works the outbox minute by minute from `from` until the train is final or `minutes` pass.
async fn run_until_final(db: &Db, receiver: &Receiver, train_id: &str, from: Instant, minutes: i64) -> Instant {
    let mut now = from;
    let fence = crate::helpers::lead(db).await;
    for _ in 0..minutes {
        runtime::sync_freezes(db, fence, now).await.expect("freezes");
        while runtime::work(db, fence, receiver, now, 100).await.expect("work") > 0 {}
        if runtime::load(db, train_id).await.expect("state").phase.is_final() {
            break;
        }
        now += 60_000;
    }
    now
}

async fn a_leader_whose_term_ended_writes_nothing_and_its_effects_wait_for_the_new_leader(backend: Backend) {
    let (db, _database, _, _) = opened_train(backend).await;
    let old = crate::helpers::lead(&db).await;
    let new = server::leadership::take_over(&db, "replica-b", server::leadership::LeaseConfig::default())
        .await
        .expect("take over");
    assert!(new.term() > old.term(), "each take-over gets the next term");

    // The old leader wakes up (say after SIGSTOP/SIGCONT) and carries on where it was.
    let before = crate::helpers::snapshot(&db).await;
    let receiver = Receiver::default();
    let now = Instant::from_utc(test_now() + Duration::hours(2));
    let first_due = due_keys(&db, now).await.first().cloned().expect("something is due");
    let refused = runtime::work(&db, old, &receiver, now, 100).await.expect_err("stale term");
    assert!(refused.to_string().contains("has ended"), "{refused}");
    let later = test_now() + Duration::days(7);
    let refused = tick(&db, old, later, &SchedulerConfig::default()).await.expect_err("stale term");
    assert!(refused.to_string().contains("has ended"), "{refused}");
    assert_eq!(crate::helpers::snapshot(&db).await, before, "no train created, opened or moved");
    assert_eq!(due_keys(&db, now).await.first(), Some(&first_due), "the effect it tried is still pending");

    // The new leader carries it out and stores the result.
    runtime::work(&db, new, &receiver, now, 1).await.expect("the new leader works");
    assert!(!due_keys(&db, now).await.contains(&first_due), "settled by the new leader");
}
on_both_backends!(a_leader_whose_term_ended_writes_nothing_and_its_effects_wait_for_the_new_leader);

async fn a_running_train_with_nothing_pending_is_reported_stuck_after_the_threshold(backend: Backend) {
    let (db, _database, id, _) = opened_train(backend).await;
    let threshold = std::time::Duration::from_secs(30 * 60);
    let opened = Instant::from_utc(test_now() + Duration::hours(1));
    let mut conn = db.acquire().await.expect("connection");
    let later = opened + 60 * 60_000;
    let found = runtime::stuck::find(&mut conn, later, threshold).await.expect("query");
    assert!(found.is_empty(), "a planning train waiting on its wake-up is not stuck: {found:?}");
    // The wake-up is lost (say an operator cleared the outbox by hand).
    sqlx::query("UPDATE outbox SET status = 'done' WHERE train_id = $1")
        .bind(&id)
        .execute(&mut *conn)
        .await
        .expect("lose the timer");
    let soon = runtime::stuck::find(&mut conn, opened + 10 * 60_000, threshold).await.expect("query");
    assert!(soon.is_empty(), "not before the threshold: {soon:?}");
    let found = runtime::stuck::find(&mut conn, later, threshold).await.expect("query");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].train_id.as_str(), found[0].state.as_str()), (id.as_str(), "planning"));
}
on_both_backends!(a_running_train_with_nothing_pending_is_reported_stuck_after_the_threshold);

async fn due_keys(db: &Db, now: Instant) -> Vec<String> {
    let mut conn = db.acquire().await.expect("connection");
    store::runs::due(&mut conn, now, 100).await.expect("due").into_iter().map(|entry| entry.effect_key).collect()
}

async fn a_freeze_over_the_cutover_suspends_the_train_until_it_ends(backend: Backend) {
    let (db, _database, id, cutover) = opened_train(backend).await;
    let freeze = r#"
[[freeze]]
name = "db-maintenance"
domain = "payments"
time_zone = "UTC"
starts = "2026-11-27T13:50"
ends = "2026-11-27T15:00"
"#;
    let file = format!("{}{freeze}", fleet());
    fleet::apply(&db, &parse("fleet.toml", &file).expect("valid"), test_now()).await.expect("apply");
    let receiver = Receiver::default();
    run_until_final(&db, &receiver, &id, Instant::from_utc(test_now()), 24 * 60).await;
    let mut conn = db.acquire().await.expect("connection");
    let events = store::trains::events(&mut conn, &id).await.expect("events");
    let at = |text: &str| events.iter().find(|e| e.reason.contains(text)).map(|e| e.at);
    let suspended = at("freeze db-maintenance holds").expect("suspended by the freeze");
    let resumed = at("freeze db-maintenance ended").expect("resumed by itself");
    let canary = at("canary 10% started").expect("canary started");
    assert!(suspended >= cutover, "staging ran; production waited");
    assert!(canary >= resumed && resumed >= cutover + 60 * 60_000, "no production step inside the freeze");
    assert_eq!(state_and_timeline(&db, &id).await.0, "completed");
}
on_both_backends!(a_freeze_over_the_cutover_suspends_the_train_until_it_ends);

async fn a_granted_break_glass_lets_a_suspended_train_through_its_freeze(backend: Backend) {
    let (db, _database, id, _) = opened_train(backend).await;
    let freeze = r#"
[[freeze]]
name = "quarter-close"
domain = "payments"
time_zone = "UTC"
starts = "2026-11-27T13:50"
ends = "2026-11-28T13:00"
"#;
    let file = format!("{}{freeze}", fleet());
    fleet::apply(&db, &parse("fleet.toml", &file).expect("valid"), test_now()).await.expect("apply");
    let receiver = Receiver::default();
    let now = run_until_final(&db, &receiver, &id, Instant::from_utc(test_now()), 150).await;
    assert_eq!(runtime::load(&db, &id).await.expect("state").phase, TrainState::Suspended);

    let mut conn = db.acquire().await.expect("connection");
    let domain_id: String = sqlx::query_scalar("SELECT id FROM domains WHERE name = 'payments'")
        .fetch_one(&mut *conn)
        .await
        .expect("domain");
    let request = store::approvals::BreakGlass {
        id: "bg1".into(),
        domain_id,
        domain: "payments".into(),
        requested_by: "rita".into(),
        reason: "card outage fix".into(),
        requested_at: now,
        duration_ms: 4 * 3_600_000,
        first_approver: None,
        first_approved_at: None,
        second_approver: None,
        second_approved_at: None,
        rejected_by: None,
        rejected_at: None,
    };
    store::approvals::request_break_glass(&mut conn, &request).await.expect("request");
    assert!(store::approvals::approve_break_glass(&mut conn, "bg1", "carol", now).await.expect("first"));
    assert!(
        !store::approvals::approve_break_glass(&mut conn, "bg1", "carol", now).await.expect("again"),
        "same person"
    );
    drop(conn);
    let now = run_until_final(&db, &receiver, &id, now, 10).await;
    assert_eq!(
        runtime::load(&db, &id).await.expect("state").phase,
        TrainState::Suspended,
        "one approval is not enough"
    );

    let mut conn = db.acquire().await.expect("connection");
    assert!(store::approvals::approve_break_glass(&mut conn, "bg1", "erin", now).await.expect("second"));
    drop(conn);
    run_until_final(&db, &receiver, &id, now, 120).await;
    let (state, timeline) = state_and_timeline(&db, &id).await;
    assert_eq!(state, "completed", "the train went through the freeze (in force until tomorrow) on the break-glass");
    let lifted = "freeze quarter-close lifted by a break-glass (card outage fix) approved by carol and erin";
    assert!(timeline.iter().any(|(_, _, reason)| reason == lifted), "{timeline:?}");
}
on_both_backends!(a_granted_break_glass_lets_a_suspended_train_through_its_freeze);

async fn state_and_timeline(db: &Db, train_id: &str) -> (String, Vec<(String, String, String)>) {
    let mut conn = db.acquire().await.expect("connection");
    let (state,): (String,) = sqlx::query_as("SELECT state FROM trains WHERE id = $1")
        .bind(train_id)
        .fetch_one(&mut *conn)
        .await
        .expect("train");
    let events = store::trains::events(&mut conn, train_id).await.expect("events");
    let timeline = events.into_iter().map(|e| (e.to_state.unwrap_or_default(), e.actor, e.reason)).collect();
    (state, timeline)
}

async fn a_train_runs_to_completion_through_the_runtime(backend: Backend) {
    let (db, _database, id, cutover) = opened_train(backend).await;
    let receiver = Receiver::default();
    let ended = run_until_final(&db, &receiver, &id, Instant::from_utc(test_now()), 24 * 60).await;
    let (state, timeline) = state_and_timeline(&db, &id).await;
    assert_eq!(state, "completed");
    let phases: Vec<&str> = timeline.iter().map(|(to, _, _)| to.as_str()).collect();
    for phase in ["planning", "assembling", "preflight", "staging", "canary", "cutover", "monitoring", "completed"] {
        assert!(phases.contains(&phase), "{phase} in {phases:?}");
    }
    assert!(timeline.iter().any(|(_, actor, _)| actor == "runtime"));
    assert!(ended >= cutover + 2 * 60_000 + 600_000, "canary soak and monitoring after cutover");
    let calls = receiver.calls();
    assert_eq!(calls.len(), calls.iter().collect::<HashSet<_>>().len(), "no effect ran twice: {calls:?}");
}
on_both_backends!(a_train_runs_to_completion_through_the_runtime);

async fn an_effect_stored_before_a_crash_runs_once_after_restart(backend: Backend) {
    let (db, database, id, cutover) = opened_train(backend).await;
    let receiver = Receiver::default();
    // Run until the canary deploy is stored but not yet carried out: the process "dies" here.
    let mut now = Instant::from_utc(test_now());
    while now < cutover {
        while runtime::work(&db, crate::helpers::lead(&db).await, &receiver, now, 100).await.expect("work") > 0 {}
        now += 60_000;
    }
    let deploy_key = format!("{id}:deploy:1");
    assert!(!receiver.calls().iter().any(|c| c.ends_with(&deploy_key)), "the canary deploy has not run yet");
    db.close().await;

    let restarted = Db::connect(&database.url).await.expect("restart");
    // The receiver got the call but the process died before recording it: it runs again with the same key.
    receiver.record("deploy", &deploy_key);
    run_until_final(&restarted, &receiver, &id, now, 24 * 60).await;
    let deploys: Vec<String> = receiver.calls().into_iter().filter(|c| c.ends_with(&deploy_key)).collect();
    assert_eq!(deploys.len(), 2, "retried after the crash, with the same key");
    assert_eq!(
        receiver.applied.lock().unwrap_or_else(PoisonError::into_inner).iter().filter(|k| **k == deploy_key).count(),
        1,
        "the receiver applied it once"
    );
    assert_eq!(state_and_timeline(&restarted, &id).await.0, "completed");
}
on_both_backends!(an_effect_stored_before_a_crash_runs_once_after_restart);

async fn a_deployer_that_keeps_failing_is_retried_then_the_step_rolls_back(backend: Backend) {
    let (db, _database, id, _) = opened_train(backend).await;
    let receiver = Receiver { failing_deploy_steps: [1].into(), ..Receiver::default() };
    run_until_final(&db, &receiver, &id, Instant::from_utc(test_now()), 24 * 60).await;
    let (state, timeline) = state_and_timeline(&db, &id).await;
    assert_eq!(state, "rolled_back");
    let attempts = receiver.calls().iter().filter(|c| c.ends_with(&format!("{id}:deploy:1"))).count();
    assert_eq!(attempts as i64, MAX_ATTEMPTS);
    assert!(timeline.iter().any(|(_, _, reason)| reason.contains("503 Service Unavailable")), "{timeline:?}");
    assert!(receiver.calls().iter().any(|c| c == &format!("rollback {id}:rollback:1")));
}
on_both_backends!(a_deployer_that_keeps_failing_is_retried_then_the_step_rolls_back);

async fn a_failing_canary_is_rolled_back_automatically(backend: Backend) {
    let (db, _database, id, _) = opened_train(backend).await;
    let receiver = Receiver { verdicts: [(1, Verdict::Fail)].into(), ..Receiver::default() };
    run_until_final(&db, &receiver, &id, Instant::from_utc(test_now()), 24 * 60).await;
    let (state, timeline) = state_and_timeline(&db, &id).await;
    assert_eq!(state, "rolled_back");
    assert!(timeline.iter().any(|(_, _, reason)| reason.contains("canary judge failed")), "{timeline:?}");
    assert!(!receiver.calls().iter().any(|c| c.ends_with(":deploy:2")), "never promoted past the canary");
    let mut conn = db.acquire().await.expect("connection");
    let figures = server::api::metrics::figures(&mut conn, Instant::from_utc(test_now())).await.expect("figures");
    assert_eq!(figures.release_success_ratio, Some(0.0), "M1 counts the rollback");
    assert!(figures.mean_rollback_seconds.is_some_and(|s| s >= 0.0), "M3 is recorded");
}
on_both_backends!(a_failing_canary_is_rolled_back_automatically);

#[tokio::test]
async fn operator_events_are_refused_with_a_reason_and_change_nothing() {
    let (db, _database, id, _) = opened_train(Backend::Sqlite).await;
    let before = runtime::load(&db, &id).await.expect("state");
    let abort = server::engine::Event::Operator {
        actor: "rm".into(),
        action: server::engine::Action::Abort,
        reason: String::new(),
    };
    let error = runtime::apply(&db, &id, &abort, "rm", Instant::from_utc(test_now())).await.expect_err("refused");
    assert_eq!(error.to_string(), "a reason is required");
    assert_eq!(runtime::load(&db, &id).await.expect("state"), before);
}

#[tokio::test]
async fn every_gate_run_is_recorded_and_a_gate_that_errored_then_passed_counts_as_flaky() {
    let (db, _database, id, _) = opened_train(Backend::Sqlite).await;
    let receiver = Receiver { gate_errors_left: Mutex::new(1), ..Receiver::default() };
    run_until_final(&db, &receiver, &id, Instant::from_utc(test_now()), 24 * 60).await;
    let mut conn = db.acquire().await.expect("connection");
    let runs = store::gate_runs::of_train(&mut conn, &id).await.expect("runs");
    let outcomes: Vec<(&str, &str)> = runs.iter().map(|r| (r.gate.as_str(), r.outcome.as_str())).collect();
    assert_eq!(outcomes, vec![("tests", "errored"), ("tests", "passed")], "{runs:?}");
    assert!(runs[0].detail.contains("502"));
    let figures = server::api::metrics::figures(&mut conn, Instant::from_utc(test_now())).await.expect("figures");
    assert_eq!(figures.gate_flakiness, vec![("tests".to_owned(), 1.0)], "F1: one candidate, both answers");
}
