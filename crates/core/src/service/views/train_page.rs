//! The train page's data, from the same record the API answers with.

use railyard_domain::time::Instant;
use railyard_views::train::{
    AnalysisView, ApprovalLine, AuditLine, CargoLine, DriftLine, MeasurementLine, MetricView, StepLine, TimelineLine,
    TrainPage,
};

use crate::digest::short_digest;
use crate::engine::TrainRun;
use crate::service::views::train_detail::{self, TrainDetail};
use crate::service::ServiceError;
use crate::store::{self, Db};

/// What the page shows beyond the API's train record.
pub struct Extras {
    pub now: Instant,
    pub approvals: Vec<ApprovalLine>,
    pub audit: Vec<AuditLine>,
    pub release_notes: String,
    pub drift: Vec<DriftLine>,
    pub waiting: Vec<String>,
}

/// Longest audit excerpt on a train page.
const AUDIT_EXCERPT: i64 = 200;

/// Loads the approvals of the train's cargo, the audit entries about it and its release notes.
pub async fn extras(db: &Db, detail: &TrainDetail, now: Instant) -> Result<Extras, ServiceError> {
    let mut conn = db.acquire().await?;
    let mut approvals = Vec::new();
    for candidate in &detail.cargo {
        for a in store::approvals::of_artifact(&mut conn, &candidate.artifact_id).await? {
            approvals.push(ApprovalLine {
                service: candidate.service.clone(),
                approver: a.approver,
                decision: a.decision.stored().to_owned(),
                comment: a.comment,
                at: a.decided_at.ms(),
            });
        }
    }
    approvals.sort_by_key(|a| a.at);
    let objects: Vec<String> = std::iter::once(format!("train:{}", detail.train.id))
        .chain(detail.cargo.iter().map(|c| format!("artifact:{}", c.artifact_id)))
        .collect();
    let audit = store::audit::about(&mut conn, &objects, AUDIT_EXCERPT)
        .await?
        .into_iter()
        .map(|r| AuditLine { at: r.at.ms(), actor: r.actor, action: r.action, object: r.object })
        .collect();
    let release_notes = train_detail::release_notes_of(&mut conn, &detail.train.id).await?;
    let drift = drifting(&mut conn, Some(&detail.train.id)).await?;
    let waiting = store::gitops_waits::open_of_train(&mut conn, &detail.train.id)
        .await?
        .into_iter()
        .map(|w| {
            let said = if w.detail.is_empty() { "no report yet".to_owned() } else { w.detail };
            let commit = w.revision.get(..7).unwrap_or(&w.revision).to_owned();
            format!("{}: {said} (commit {commit}, until {})", w.object, w.deadline_at.rfc3339())
        })
        .collect();
    Ok(Extras { now, approvals, audit, release_notes, drift, waiting })
}

/// Services (of train `train_id`, or of any) whose newest report of what runs is not what shipped.
pub async fn drifting(conn: &mut store::Conn, train_id: Option<&str>) -> Result<Vec<DriftLine>, ServiceError> {
    Ok(store::digests::newest_per_target(conn)
        .await?
        .into_iter()
        .filter(|r| r.drifted() && train_id.is_none_or(|id| id == r.train_id))
        .map(|r| DriftLine {
            running: short_digest(&r.running_digest),
            expected: short_digest(&r.expected_digest),
            train_id: r.train_id,
            service: r.service,
            environment: r.environment.to_string(),
            region: r.region,
        })
        .collect())
}

/// The page for `detail`.
pub fn page(detail: TrainDetail, extras: Extras) -> TrainPage {
    let run: Option<TrainRun> = detail.run.and_then(|value| serde_json::from_value(value).ok());
    let steps = run.as_ref().map(steps).unwrap_or_default();
    // An analysis names its step, and the step's region when the name does not say it.
    let step_name = |step: i64| {
        run.as_ref().and_then(|run| run.rollout.get(usize::try_from(step).ok()?)).map_or_else(
            || format!("step {}", step + 1),
            |s| match &s.region {
                Some(region) if !s.name.contains(region.as_str()) => format!("{} ({region})", s.name),
                _ => s.name.clone(),
            },
        )
    };
    let cargo = detail
        .cargo
        .into_iter()
        .map(|c| {
            let candidate = run
                .as_ref()
                .and_then(|run| run.candidates.iter().find(|candidate| candidate.artifact_id == c.artifact_id));
            let gates = candidate
                .map(|candidate| candidate.gates.iter().map(|g| (g.name.clone(), g.state.name().to_owned())).collect())
                .unwrap_or_default();
            let group = candidate.and_then(|candidate| candidate.group.clone()).unwrap_or_default();
            CargoLine {
                service: c.service,
                version: c.version,
                digest: c.digest,
                author: c.author,
                status: c.status,
                reason: c.reason,
                gates,
                calls: c.calls,
                reaches: c.reaches,
                group,
            }
        })
        .collect();
    let analyses = detail
        .canary_analyses
        .into_iter()
        .map(|a| AnalysisView {
            step: step_name(a.step),
            score: a.report["scorecard"]["score"].as_f64(),
            at: instant(&a.at),
            metrics: a.report["metrics"].as_array().map(|all| all.iter().map(metric).collect()).unwrap_or_default(),
            verdict: a.verdict,
        })
        .collect();
    TrainPage {
        cutover_at: instant(&detail.train.cutover_at),
        id: detail.train.id,
        definition: detail.train.definition,
        domain: detail.train.domain,
        state: detail.train.state,
        kind: detail.train.kind,
        reason: detail.train.reason,
        time_zone: detail.train.time_zone,
        timeline: detail
            .timeline
            .into_iter()
            .map(|e| TimelineLine {
                at: instant(&e.at),
                to: if e.from == e.to { String::new() } else { e.to.unwrap_or_default() },
                actor: e.actor,
                reason: e.reason,
            })
            .collect(),
        cargo,
        steps,
        analyses,
        measurements: detail
            .measurements
            .into_iter()
            .map(|m| MeasurementLine {
                service: m.service,
                budget_consumed: m.budget_consumed,
                budget_remaining: m.budget_remaining,
                latency_before: m.p95_latency_before_seconds,
                latency_during: m.p95_latency_during_seconds,
            })
            .collect(),
        now: extras.now.ms(),
        approvals: extras.approvals,
        audit: extras.audit,
        release_notes: extras.release_notes,
        drift: extras.drift,
        waiting: extras.waiting,
    }
}

fn steps(run: &TrainRun) -> Vec<StepLine> {
    run.rollout
        .iter()
        .enumerate()
        .map(|(index, step)| {
            let record = run.steps.iter().rev().find(|r| r.step == index);
            let outcome = match record.map(|r| r.succeeded) {
                None => "waiting",
                Some(None) => "running",
                Some(Some(true)) => "succeeded",
                Some(Some(false)) => "failed",
            };
            StepLine {
                name: step.name.clone(),
                environment: step.environment.to_string(),
                weight: step.weight,
                region: step.region.clone().unwrap_or_default(),
                soak_seconds: step.soak_ms / 1000,
                outcome: outcome.to_owned(),
                started_at: record.map(|r| r.started_at.ms()),
                finished_at: record.and_then(|r| r.finished_at.map(Instant::ms)),
            }
        })
        .collect()
}

fn metric(value: &serde_json::Value) -> MetricView {
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    let numbers = |v: &serde_json::Value| {
        v.as_array().map(|all| all.iter().filter_map(serde_json::Value::as_f64).collect()).unwrap_or_default()
    };
    let evidence = &value["evidence"];
    let shift = &evidence["shift"];
    MetricView {
        metric: text(&value["metric"]),
        service: text(&value["service"]),
        dry_run: value["dry_run"].as_bool().unwrap_or(false),
        verdict: text(&evidence["verdict"]),
        reason: text(&evidence["reason"]),
        p_value: evidence["mann_whitney"]["p_value"].as_f64(),
        shift: match (shift["estimate"].as_f64(), shift["lower"].as_f64(), shift["upper"].as_f64()) {
            (Some(estimate), Some(lower), Some(upper)) => Some((estimate, lower, upper)),
            _ => None,
        },
        canary: numbers(&value["canary"]),
        baseline: numbers(&value["baseline"]),
        window: (value["window_start"].as_i64().unwrap_or(0), value["window_end"].as_i64().unwrap_or(0)),
    }
}

/// An RFC 3339 instant of the API as epoch milliseconds.
fn instant(text: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(text).map_or(0, |t| t.timestamp_millis())
}
