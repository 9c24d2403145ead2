use super::*;
use crate::engine::{default_rollout, StepStatus};

const MINUTE: i64 = 60_000;

fn services() -> Vec<TrainService> {
    vec![
        TrainService { name: "ledger".into(), runbook_url: "https://wiki.example.com/ledger".into() },
        TrainService { name: "checkout".into(), runbook_url: String::new() },
    ]
}

fn cutover() -> Instant {
    Instant::from(1_800_000_000_000)
}

fn run_at(phase: TrainState, step: usize) -> TrainRun {
    let mut run = TrainRun::opened("t1", cutover(), default_rollout(), 60 * MINUTE);
    run.phase = phase;
    run.current_step = step;
    run.step_status = StepStatus::Soaking { until: cutover() + 30 * MINUTE };
    run
}

fn alerts(run: &TrainRun, now: Instant) -> Vec<Alert> {
    let services = services();
    let facts = TrainFacts {
        run,
        definition: "payments-weekly",
        domain: "payments",
        services: &services,
        cutover_window_ms: 2 * 60 * MINUTE,
        train_url: "https://railyard.example.com/trains/t1".into(),
    };
    of_train(&facts, Thresholds::default(), now)
}

fn names(alerts: &[Alert]) -> Vec<(&'static str, &'static str)> {
    alerts.iter().map(|a| (a.name.as_str(), a.severity.as_str())).collect()
}

#[test]
fn a_healthy_train_raises_nothing() {
    assert!(alerts(&run_at(TrainState::Canary, 1), cutover() + 10 * MINUTE).is_empty());
}

#[test]
fn a_fast_burn_pages_with_the_service_step_and_runbook_until_the_train_ends_and_the_short_window_passes() {
    let mut run = run_at(TrainState::Canary, 1);
    run.rollout[1].region = Some("eu-west".into());
    let found = cutover() + 10 * MINUTE;
    run.burning = Some(Burning {
        speed: BurnSpeed::Fast,
        service: "ledger".into(),
        detail: "ledger burns 20.0× over 1 h".into(),
        at: found,
    });
    run.step_status = StepStatus::RollingBack;
    let raised = alerts(&run, found);
    assert_eq!(names(&raised), [("RailyardErrorBudgetBurn", "page")]);
    let labels = &raised[0].labels;
    let label = |k: &str| labels.get(k).map(String::as_str);
    assert_eq!(label("service"), Some("ledger"));
    assert_eq!(label("burn"), Some("fast"));
    assert_eq!(label("environment"), Some("production"));
    assert_eq!(label("region"), Some("eu-west"));
    assert_eq!(label("train"), Some("t1"));
    assert_eq!(label("definition"), Some("payments-weekly"));
    assert_eq!(label("domain"), Some("payments"));
    assert_eq!(raised[0].annotations["runbook_url"], "https://wiki.example.com/ledger");
    assert_eq!(raised[0].annotations["train_url"], "https://railyard.example.com/trains/t1");

    run.phase = TrainState::RolledBack;
    assert_eq!(
        names(&alerts(&run, found + MINUTE)),
        [("RailyardErrorBudgetBurn", "page")],
        "a quick rollback still pages"
    );
    assert!(alerts(&run, found + 5 * MINUTE).is_empty(), "resolved once ended and the 5 min window passed");
}

#[test]
fn holds_page_or_ticket_by_their_reason_and_duration() {
    let now = cutover() + 20 * MINUTE;
    let mut run = run_at(TrainState::Held, 1);
    run.paused_from = Some(TrainState::Canary);
    run.paused_at = Some(now - 5 * MINUTE);
    run.hold = Some(HoldReason::Operator);
    assert!(alerts(&run, now).is_empty(), "a fresh hold is not an alert");
    run.paused_at = Some(now - 31 * MINUTE);
    let held = alerts(&run, now);
    assert_eq!(names(&held), [("RailyardTrainHeld", "ticket")]);
    assert_eq!(held[0].labels["service"], "ledger,checkout", "a train-wide alert names every service");
    assert!(!held[0].annotations.contains_key("runbook_url"), "no one runbook for two services");

    run.paused_at = Some(now - MINUTE);
    run.hold = Some(HoldReason::Rollback);
    run.step_status = StepStatus::RollingBack;
    assert_eq!(names(&alerts(&run, now)), [("RailyardRollbackFailed", "page")]);

    run.hold = Some(HoldReason::Metrics);
    run.metrics_missing = Some("ledger: no events over the last 1 h".into());
    let missing = alerts(&run, now);
    assert_eq!(names(&missing), [("RailyardMetricsMissing", "page")]);
    assert!(missing[0].annotations["description"].contains("no events"));

    run.hold = Some(HoldReason::Analysis);
    run.steps.push(crate::engine::StepRecord {
        step: 1,
        started_at: now,
        deployed_at: Some(now),
        verdict: Some(Verdict::NoData),
        finished_at: Some(now),
        succeeded: Some(false),
    });
    assert_eq!(names(&alerts(&run, now)), [("RailyardMetricsMissing", "page")], "the judge's no data is F5 too");
}

#[test]
fn a_long_rollback_pages_and_a_late_rollout_tickets() {
    let mut run = run_at(TrainState::Canary, 1);
    run.step_status = StepStatus::RollingBack;
    run.rollback_started_at = Some(cutover() + 10 * MINUTE);
    assert!(alerts(&run, cutover() + 20 * MINUTE).is_empty());
    assert_eq!(names(&alerts(&run, cutover() + 26 * MINUTE)), [("RailyardRollbackStuck", "page")]);

    let late = run_at(TrainState::Cutover, 3);
    assert!(alerts(&late, cutover() + 119 * MINUTE).is_empty());
    assert_eq!(names(&alerts(&late, cutover() + 121 * MINUTE)), [("RailyardTrainPastCutoverWindow", "ticket")]);
    let monitoring = run_at(TrainState::Monitoring, 3);
    assert!(alerts(&monitoring, cutover() + 121 * MINUTE).is_empty(), "monitoring is not rolling out");
}

#[test]
fn drift_tickets_name_the_target_and_fingerprints_follow_labels() {
    let services = services();
    let facts = DriftFacts {
        train: "t1",
        definition: "payments-weekly",
        domain: "payments",
        service: &services[0],
        environment: Environment::Production,
        region: "us-east",
        expected: "sha256:aaaaaaaaaaaaaaaaaaaa",
        running: "sha256:bbbbbbbbbbbbbbbbbbbb",
        train_url: "u".into(),
    };
    let alert = drift(&facts);
    assert_eq!((alert.name.as_str(), alert.severity.as_str()), ("RailyardDrift", "ticket"));
    assert_eq!(alert.labels["region"], "us-east");
    let other = drift(&DriftFacts { region: "eu-west", ..facts.clone() });
    assert_ne!(alert.fingerprint(), other.fingerprint());
    assert_eq!(alert.fingerprint(), drift(&facts).fingerprint());
}
