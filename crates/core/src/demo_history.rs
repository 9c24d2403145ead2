//! The demo's past (`--demo` on a fresh store only, labelled as demo data):
//! six weeks of the demo fleet run through the scheduler, the engine and the
//! outbox on a simulated clock, the same code as live trains. A stand-in CI
//! registers builds whose tests now and then fail (the service misses a
//! train and boards the next with a fixed build) or error once and pass on a
//! rerun (a flaky gate); an approver approves identity's candidates; one
//! canary regresses and is rolled back; one crash loop burns its error
//! budget, is rolled back, and its incident is reported and resolved (and
//! payments freezes for a week while it is reviewed); a rehearsal runs the
//! day before a payments train; the fleet's freezes hold.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};

use crate::auth::{caller::Caller, principal::Principal};
use crate::clock::{Clock, ManualClock};
use crate::demo_driver::{fnv, register_build, report_check, DemoTests};
use crate::integrations::{FleetIntegrations, SimulatedMetrics, Timeouts};
use crate::leadership::{self, Fence, LeaseConfig};
use crate::manifest::FreezeEntry;
use crate::read_cache::ReadCaches;
use crate::roles::Scope;
use crate::scheduler::{self, SchedulerConfig};
use crate::service::{self, approvals::Decision, Ctx};
use crate::store::{self, Db};
use crate::text::Text;
use crate::time::Instant;
use crate::train_kind::TrainKind;
use crate::train_state::TrainState;
use crate::{ids::ArtifactId, runtime};

/// How far back the demo's past goes.
pub const HISTORY: Duration = Duration::days(42);
/// Who holds the orchestrator lease while the past is replayed.
const HOLDER: &str = "railyard demo history";
/// Each service gets a build this often.
const BUILD_EVERY: Duration = Duration::days(3);
/// Builds of the last days pass, so the live demo starts from good candidates.
const ALL_GREEN_FOR: Duration = Duration::days(7);
const HOUR_MS: i64 = 3_600_000;
/// Error-budget samples this often, for the budget charts.
const SAMPLE_EVERY: Duration = Duration::hours(6);
/// The definition whose canary regresses (in its third-last train before the
/// present, so the dashboard's 28-day figures count it) and its service.
const REGRESSES: (&str, usize, &str) = ("identity-weekly", 2, "sessions");
/// The definition whose production rollout crash-loops (in its third-last
/// train: the review freeze after it holds the next one) and its service.
const BURNS: (&str, usize, &str) = ("payments-weekly", 2, "checkout");
/// Definitions whose candidates the demo approver approves (their compliance gate).
const APPROVED: &[&str] = &["identity-weekly"];
/// The definition rehearsed the day before its last cutover.
const REHEARSED: &str = "payments-weekly";

/// What the replay did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Past {
    /// Trains that ended before the present.
    pub trains: usize,
    /// Builds the stand-in CI registered.
    pub builds: usize,
    /// Clock positions the replay visited.
    pub passes: usize,
}

impl std::fmt::Display for Past {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} past trains, {} builds, {} simulated moments", self.trains, self.builds, self.passes)
    }
}

/// Replays the demo fleet's last [`HISTORY`] up to `now`. The fleet must have
/// been applied as of `now - HISTORY` and the demo users created. Trains still
/// in flight at `now` carry on under the live scheduler and runtime.
pub async fn replay(db: &Db, now: DateTime<Utc>, timeouts: Timeouts) -> anyhow::Result<Past> {
    let config = LeaseConfig { ttl: std::time::Duration::from_secs(600), ..LeaseConfig::default() };
    let fence = leadership::acquire(db, HOLDER, config)
        .await?
        .context("another replica leads the orchestrator; the demo's past is not replayed")?;
    let replayed = Replay::prepare(db, fence, now, timeouts).await?.run().await;
    let mut conn = db.acquire().await?;
    store::leases::release(&mut conn, leadership::LEASE, HOLDER, fence.term()).await?;
    replayed
}

/// A stand-in CI event still to come.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Planned {
    /// A build of the service (by name), its index among that service's builds.
    Build(String, u64),
    /// The passing rerun of an errored build's tests.
    Rerun(String),
    /// An incident's resolution.
    Resolve(String),
    /// The freeze the release managers declare on payments while they review the incident.
    ReviewFreeze,
    /// The rehearsal before the last payments train.
    Rehearsal,
}

struct Replay<'a> {
    db: &'a Db,
    fence: Fence,
    clock: ManualClock,
    caches: ReadCaches,
    integrations: FleetIntegrations,
    end: Instant,
    /// Stand-in CI and pager events by when they happen.
    planned: BTreeSet<(Instant, Planned)>,
    /// Builds whose tests errored once and are waiting for their rerun.
    flaky: BTreeSet<String>,
    /// Services whose candidates the approver approves.
    approved_services: BTreeSet<String>,
    /// The train that burns, until its incident has been reported.
    burning: Option<(String, String)>,
    past: Past,
}

impl<'a> Replay<'a> {
    /// Plans the trains of the whole span at its start (the scheduler's own
    /// tick), picks which regress and burn, and the builds to come.
    async fn prepare(db: &'a Db, fence: Fence, now: DateTime<Utc>, timeouts: Timeouts) -> anyhow::Result<Self> {
        let start = now - HISTORY;
        let planning = SchedulerConfig { horizon: HISTORY, ..SchedulerConfig::default() };
        scheduler::tick(db, fence, start, &planning).await?;
        let end = Instant::from_utc(now);
        let mut conn = db.acquire().await?;
        let trains = store::trains::cutting_over_between(&mut conn, Instant::from_utc(start), end, None).await?;
        let nth = |(definition, from_last, service): (&str, usize, &str)| {
            trains
                .iter()
                .filter(|t| t.definition == definition && t.kind == TrainKind::Regular)
                .nth_back(from_last)
                .map(|t| (t.id.to_string(), service.to_owned()))
        };
        let regressing = nth(REGRESSES);
        let burning = nth(BURNS);
        let metrics = SimulatedMetrics {
            exhausted: vec!["ranking".to_owned()],
            regressing_in: regressing.into_iter().collect(),
            burning_in: burning.clone().into_iter().collect(),
            ..SimulatedMetrics::default()
        };
        let clock = ManualClock::starting_at(start);
        let integrations = FleetIntegrations::with_timeouts(db.clone(), Arc::new(clock.clone()), metrics, timeouts)?;
        let mut planned = BTreeSet::new();
        let mut approved_services = BTreeSet::new();
        for service in store::services::list(&mut conn).await? {
            // Each service's builds come at its own hour, the first a little before the span.
            let offset = Duration::minutes((fnv(&service.name) % (24 * 60)) as i64);
            let mut at = start - Duration::days(1) + offset;
            let mut index = 0;
            while at < now {
                planned.insert((Instant::from_utc(at), Planned::Build(service.name.clone(), index)));
                at += BUILD_EVERY;
                index += 1;
            }
        }
        for definition in APPROVED {
            if let Some(found) = store::definitions::by_name(&mut conn, definition).await? {
                for id in store::definitions::service_ids(&mut conn, &found.id).await? {
                    approved_services.extend(
                        store::services::list(&mut conn).await?.into_iter().filter(|s| s.id == id).map(|s| s.name),
                    );
                }
            }
        }
        if let Some(last) =
            trains.iter().filter(|t| t.definition == REHEARSED && t.kind == TrainKind::Regular).nth_back(1)
        {
            planned.insert((last.cutover_at - Duration::days(1).num_milliseconds(), Planned::Rehearsal));
        }
        Ok(Self {
            db,
            fence,
            clock,
            caches: ReadCaches::default(),
            integrations,
            end,
            planned,
            flaky: BTreeSet::new(),
            approved_services,
            burning,
            past: Past::default(),
        })
    }

    /// Moves the clock from event to event until the present. The scheduler
    /// and the freezes are looked at on every whole hour (the fleet's freezes
    /// start and end on one) and whenever a planning window opens.
    async fn run(mut self) -> anyhow::Result<Past> {
        let mut at = self.clock.instant();
        let (mut next_hour, mut next_opening, mut next_sample) = (at, at, at);
        let mut noticed = at;
        loop {
            self.clock.set(at.to_utc());
            self.stand_in(at).await?;
            if at >= next_hour || at >= next_opening {
                scheduler::tick(self.db, self.fence, at.to_utc(), &SchedulerConfig::default()).await?;
                runtime::sync_freezes(self.db, self.fence, at).await?;
                next_hour = Instant::from_ms((at.ms() / HOUR_MS + 1) * HOUR_MS);
                let mut conn = self.db.acquire().await?;
                next_opening = store::trains::next_opening(&mut conn, at).await?.unwrap_or(self.end);
            }
            while runtime::work(self.db, self.fence, &self.integrations, at, 200).await? > 0 {}
            self.notice(noticed, at).await?;
            noticed = at;
            if at >= next_sample {
                self.integrations.sample_budgets(at).await?;
                next_sample = at + SAMPLE_EVERY.num_milliseconds();
            }
            self.past.passes += 1;
            let mut conn = self.db.acquire().await?;
            let moments = [
                store::runs::next_due(&mut conn).await?,
                self.planned.first().map(|(when, _)| *when),
                Some(next_opening),
                Some(next_sample),
                Some(next_hour),
            ];
            let next = moments.into_iter().flatten().min().unwrap_or(self.end).max(at + 1);
            if next > self.end {
                break;
            }
            at = next;
        }
        let mut conn = self.db.acquire().await?;
        self.past.trains = store::trains::ended_since(&mut conn, Instant::from_ms(0)).await?.len();
        Ok(self.past)
    }

    /// What the stand-in CI, approver and pager do at `at`.
    async fn stand_in(&mut self, at: Instant) -> anyhow::Result<()> {
        while let Some((when, _)) = self.planned.first() {
            if *when > at {
                break;
            }
            let Some((_, event)) = self.planned.pop_first() else { break };
            match event {
                Planned::Build(service, index) => self.build(&service, index, at).await?,
                Planned::Rerun(artifact_id) => {
                    let mut conn = self.db.acquire().await?;
                    let rerun = ("passed", "rerun passed (simulated by the demo CI)");
                    report_check(&mut conn, &artifact_id, "tests", rerun, at).await?;
                }
                Planned::Resolve(incident) => {
                    service::incidents::resolve(self.ctx(), &pager(), &incident, None).await?;
                    self.planned.insert((at + Duration::hours(1).num_milliseconds(), Planned::ReviewFreeze));
                }
                Planned::ReviewFreeze => {
                    let caller = person(self.db, "release-manager").await?;
                    service::freezes::declare(self.ctx(), &caller, review_freeze(at)?).await?;
                }
                Planned::Rehearsal => {
                    let caller = person(self.db, "release-manager").await?;
                    let reason = "demo: game day ahead of the payments train (staging and canary analysis only)";
                    service::trains::start_rehearsal(self.ctx(), &caller, REHEARSED, reason).await?;
                }
            }
        }
        Ok(())
    }

    /// Registers build `index` of `service`: now and then its tests fail or error once.
    async fn build(&mut self, service_name: &str, index: u64, at: Instant) -> anyhow::Result<()> {
        // The services picked to regress and burn always board, so their trains show it.
        let green = at >= self.end - ALL_GREEN_FOR.num_milliseconds() || [REGRESSES.2, BURNS.2].contains(&service_name);
        let tests = match fnv(&format!("{service_name}#{index}")) % 8 {
            _ if green => DemoTests::Passed,
            0 => DemoTests::Failed,
            1 => DemoTests::Errored,
            _ => DemoTests::Passed,
        };
        let mut tx = self.db.begin().await?;
        let Some(service) = store::services::by_name(&mut tx, service_name).await? else { return Ok(()) };
        let Some(id) = register_build(&mut tx, &service, at, tests).await? else { return Ok(()) };
        tx.commit().await?;
        self.past.builds += 1;
        if tests == DemoTests::Errored {
            self.flaky.insert(id.clone());
        }
        if self.approved_services.contains(service_name) {
            let approver = person(self.db, "approver").await?;
            let comment = "reviewed the change list (demo)";
            let id = ArtifactId::from(id);
            service::approvals::decide(self.ctx(), &approver, &id, Decision::Approve, comment).await?;
        }
        Ok(())
    }

    /// Reacts to what the engine did since `since`: an errored test run gets
    /// its rerun half a second later; the burning train gets its incident.
    async fn notice(&mut self, since: Instant, at: Instant) -> anyhow::Result<()> {
        let mut conn = self.db.acquire().await?;
        if !self.flaky.is_empty() {
            for run in store::gate_runs::since(&mut conn, since).await? {
                if run.outcome == "errored" && self.flaky.remove(&run.artifact_id) {
                    self.planned.insert((at + 500, Planned::Rerun(run.artifact_id)));
                }
            }
        }
        let Some((train_id, service)) = self.burning.clone() else { return Ok(()) };
        let Some((run, _)) = store::runs::load(&mut conn, &train_id).await? else { return Ok(()) };
        drop(conn);
        if run.phase.is_final() {
            self.burning = None;
        }
        if run.phase == TrainState::RolledBack {
            // It began when production first got the build (at the cutover) or a few minutes before the rollback.
            let mut conn = self.db.acquire().await?;
            let cutover = store::trains::by_id(&mut conn, &train_id).await?.map_or(at, |t| t.cutover_at);
            drop(conn);
            let started_at = (at - Duration::minutes(3).num_milliseconds()).max(cutover);
            let report = service::incidents::Report {
                service: &service,
                severity: "high",
                started_at: &started_at.rfc3339(),
                title: format!("{service} failing every request after the canary (demo)"),
                link: String::new(),
            };
            let (incident, _) = service::incidents::report(self.ctx(), &pager(), report).await?;
            self.planned.insert((at + Duration::minutes(42).num_milliseconds(), Planned::Resolve(incident.id)));
        }
        Ok(())
    }

    fn ctx(&self) -> Ctx<'_> {
        Ctx { db: self.db, clock: &self.clock, caches: &self.caches }
    }
}

/// A week's freeze on payments from `at` (it holds the next payments train's cutover).
fn review_freeze(at: Instant) -> anyhow::Result<FreezeEntry> {
    let minute = |at: Instant| at.to_utc().format("%Y-%m-%dT%H:%M").to_string();
    let text = |t: &str| Text::new(t).map_err(|e| anyhow::anyhow!("{e}"));
    Ok(FreezeEntry {
        name: text("checkout-incident-review")?,
        domain: Some(text("payments")?),
        reason: text("demo: payments holds changes while the checkout incident is reviewed")?,
        time_zone: text("UTC")?,
        starts: text(&minute(at))?,
        ends: Some(text(&minute(at + Duration::days(7).num_milliseconds()))?),
        cadence: None,
        duration: None,
    })
}

/// The demo's pager: a token that may report incidents.
fn pager() -> Caller {
    let principal = Principal::Token {
        id: "demo-pager".into(),
        name: "demo pager".into(),
        scopes: vec![Scope::IncidentsWrite],
        domains: vec![],
    };
    caller(principal)
}

/// A demo user acting in the past.
async fn person(db: &Db, name: &str) -> anyhow::Result<Caller> {
    let mut conn = db.acquire().await?;
    let user = store::users::by_name(&mut conn, name).await?.with_context(|| format!("no demo user {name}"))?;
    let bindings = store::users::bindings(&mut conn, &user.id).await?;
    Ok(caller(Principal::User {
        id: user.id,
        name: user.name,
        session_id: "demo-history".into(),
        bindings,
        must_change_password: false,
    }))
}

fn caller(principal: Principal) -> Caller {
    Caller {
        principal,
        request_id: "demo-history".into(),
        ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        user_agent: "railyard demo history".into(),
    }
}
