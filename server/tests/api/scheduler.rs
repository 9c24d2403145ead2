use server::time::Instant;
use std::collections::HashSet;

use chrono::{Duration, TimeZone, Utc};
use server::fleet::{self, parse};
use server::scheduler::{tick, SchedulerConfig};
use server::store::{self, Db};

use crate::helpers::{fresh_store, test_now, Backend};
use crate::on_both_backends;

const FLEET: &str = r#"
[[domain]]
name = "payments"

[[service]]
name = "ledger"
domain = "payments"

[[train]]
name = "payments-weekly"
domain = "payments"
services = ["ledger"]
cadence = "FREQ=WEEKLY;BYDAY=TU;BYHOUR=3"
time_zone = "Europe/Berlin"
starts = "2026-01-06"
planning_window = "3d"
cutover_window = "2h"

[[train]]
name = "payments-biweekly"
domain = "payments"
services = ["ledger"]
cadence = "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH;BYHOUR=15"
time_zone = "America/New_York"
starts = "2026-01-01"
planning_window = "1d"
cutover_window = "1h"
"#;

fn config() -> SchedulerConfig {
    SchedulerConfig { horizon: Duration::days(28), catch_up: Duration::days(14), ..SchedulerConfig::default() }
}

async fn store_with_fleet(backend: Backend, applied_at: chrono::DateTime<Utc>) -> (Db, crate::helpers::TestDatabase) {
    let (db, database) = fresh_store(backend).await;
    fleet::apply(&db, &parse("fleet.toml", FLEET).expect("valid"), applied_at).await.expect("apply");
    (db, database)
}

async fn trains(db: &Db) -> Vec<(String, String, i64)> {
    let mut conn = db.acquire().await.expect("connection");
    sqlx::query_as(
        "SELECT d.name, t.state, t.cutover_at FROM trains t JOIN train_definitions d ON d.id = t.definition_id \
         ORDER BY t.cutover_at",
    )
    .fetch_all(&mut *conn)
    .await
    .expect("trains")
}

async fn opening_events(db: &Db) -> Vec<(String, String)> {
    let mut conn = db.acquire().await.expect("connection");
    sqlx::query_as("SELECT train_id, to_state FROM train_events WHERE from_state = 'scheduled' ORDER BY train_id")
        .fetch_all(&mut *conn)
        .await
        .expect("events")
}

async fn trains_are_materialised_for_the_horizon_and_opened_on_time(backend: Backend) {
    let now = test_now(); // Friday 27 November 2026, 12:00Z
    let (db, _database) = store_with_fleet(backend, now).await;
    let report = tick(&db, crate::helpers::lead(&db).await, now, &config()).await.expect("tick");
    // Weekly: Tuesdays 1, 8, 15 and 22 December; bi-weekly (counted from Thursday 1 January): 3 and 17 December.
    assert_eq!(report.created, 6);
    assert_eq!(report.opened, 0, "no planning window has started yet");
    let first = trains(&db).await.remove(0);
    assert_eq!(first.0, "payments-weekly");
    assert_eq!(first.2, Utc.with_ymd_and_hms(2026, 12, 1, 2, 0, 0).single().expect("instant").timestamp_millis());

    // The weekly train's planning window opens three days before 03:00 Berlin on 1 December.
    let report = tick(
        &db,
        crate::helpers::lead(&db).await,
        Utc.with_ymd_and_hms(2026, 11, 28, 2, 0, 0).single().expect("instant"),
        &config(),
    )
    .await
    .expect("tick");
    assert_eq!(report.opened, 1);
    let all = trains(&db).await;
    assert_eq!(all[0].1, "planning");
    assert!(all[1..].iter().all(|t| t.1 == "scheduled"));
    let mut conn = db.acquire().await.expect("connection");
    let (id,): (String,) =
        sqlx::query_as("SELECT id FROM trains ORDER BY cutover_at LIMIT 1").fetch_one(&mut *conn).await.expect("id");
    let events = store::trains::events(&mut conn, &id).await.expect("events");
    assert_eq!(events.len(), 1);
    assert_eq!((events[0].actor.as_str(), events[0].to_state.as_deref()), ("scheduler", Some("planning")));
}
on_both_backends!(trains_are_materialised_for_the_horizon_and_opened_on_time);

async fn catching_up_after_a_three_day_outage_creates_each_missed_train_once(backend: Backend) {
    // Applied on Sunday 29 November; the scheduler runs once, then the server is down for three days.
    let applied = Utc.with_ymd_and_hms(2026, 11, 29, 12, 0, 0).single().expect("instant");
    let (db, _database) = store_with_fleet(backend, applied).await;
    let config = SchedulerConfig { horizon: Duration::hours(12), ..config() };
    tick(&db, crate::helpers::lead(&db).await, applied, &config).await.expect("tick before the outage");
    assert!(trains(&db).await.is_empty(), "nothing cuts over in the next 12 hours");

    let back = applied + Duration::days(3);
    tick(&db, crate::helpers::lead(&db).await, back, &config).await.expect("tick after the outage");
    tick(&db, crate::helpers::lead(&db).await, back, &config).await.expect("a second tick changes nothing");
    let all = trains(&db).await;
    let missed: Vec<_> = all.iter().map(|(name, state, _)| (name.as_str(), state.as_str())).collect();
    // Tuesday 1 December's weekly train cut over during the outage: created once, marked skipped.
    assert_eq!(missed, vec![("payments-weekly", "skipped")]);
    assert_eq!(opening_events(&db).await.len(), 1);
}
on_both_backends!(catching_up_after_a_three_day_outage_creates_each_missed_train_once);

async fn two_schedulers_racing_on_one_database_create_no_duplicates(backend: Backend) {
    let now = test_now();
    let (db, database) = store_with_fleet(backend, now).await;
    // A second replica: its own pool on the same database.
    let other = Db::connect(&database.url).await.expect("second pool");
    let mut handles = Vec::new();
    for (replica, db) in [db.clone(), other.clone()].into_iter().enumerate() {
        handles.push(tokio::spawn(async move {
            for step in 0..12 {
                let at = now + Duration::hours(6 * step + replica as i64);
                // Each takes the lease from the other, so some ticks are fenced off midway.
                match tick(&db, crate::helpers::lead(&db).await, at, &config()).await {
                    Ok(_) | Err(server::scheduler::TickError::Db(store::DbError::StaleTerm(_))) => {}
                    Err(error) => panic!("tick: {error}"),
                }
            }
        }));
    }
    for handle in handles {
        handle.await.expect("scheduler task");
    }
    let all = trains(&db).await;
    let keys: HashSet<_> = all.iter().map(|(name, _, at)| (name.clone(), *at)).collect();
    assert_eq!(keys.len(), all.len(), "no (definition, cutover) appears twice");
    assert_eq!(all.len(), 6, "four weekly and two bi-weekly trains within the horizon");
    let opened = opening_events(&db).await;
    let distinct: HashSet<_> = opened.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(distinct.len(), opened.len(), "each train was opened once");
    assert_eq!(opened.len(), 1, "the 1 December train opened on 28 November");
}
on_both_backends!(two_schedulers_racing_on_one_database_create_no_duplicates);

async fn a_restart_creates_nothing_new(backend: Backend) {
    let now = test_now();
    let (db, database) = store_with_fleet(backend, now).await;
    tick(&db, crate::helpers::lead(&db).await, now, &config()).await.expect("tick");
    let before = trains(&db).await;
    db.close().await;
    let restarted = Db::connect(&database.url).await.expect("reconnect");
    restarted.migrate().await.expect("migrations are idempotent");
    let report = tick(&restarted, crate::helpers::lead(&restarted).await, now + Duration::minutes(1), &config())
        .await
        .expect("tick");
    assert_eq!(report.created, 0);
    assert_eq!(trains(&restarted).await, before);
}
on_both_backends!(a_restart_creates_nothing_new);

async fn the_store_itself_refuses_a_second_train_for_the_same_cutover(backend: Backend) {
    let now = test_now();
    let (db, _database) = store_with_fleet(backend, now).await;
    tick(&db, crate::helpers::lead(&db).await, now, &config()).await.expect("tick");
    let mut conn = db.acquire().await.expect("connection");
    let result = sqlx::query(
        "INSERT INTO trains (id, definition_id, state, planning_opens_at, cutover_at, cutover_closes_at, created_at, updated_at) \
         SELECT 'duplicate', definition_id, 'scheduled', planning_opens_at, cutover_at, cutover_closes_at, 0, 0 FROM trains LIMIT 1",
    )
    .execute(&mut *conn)
    .await;
    assert!(result.is_err(), "the unique key, not only the code, prevents duplicates");
}
on_both_backends!(the_store_itself_refuses_a_second_train_for_the_same_cutover);

async fn a_tick_plans_only_definitions_with_a_cutover_entering_the_horizon(backend: Backend) {
    let now = test_now(); // Friday 27 November 2026
    let (db, _database) = store_with_fleet(backend, now).await;
    let lead = crate::helpers::lead(&db).await;
    assert_eq!(tick(&db, lead, now, &config()).await.expect("tick").created, 6);
    let planned = |db: Db| async move {
        let mut conn = db.acquire().await.expect("connection");
        let through = (now + Duration::days(28)).timestamp_millis();
        store::definitions::needing_plans(&mut conn, Instant::from_ms(through)).await.expect("query").len()
    };
    assert_eq!(planned(db.clone()).await, 0, "both definitions are planned to the horizon");
    // Four days on, the weekly train of Tuesday 29 December enters the 28-day horizon; the bi-weekly has none.
    let later = now + Duration::days(4);
    let report = tick(&db, lead, later, &config()).await.expect("tick");
    assert_eq!(report.created, 1);
    assert_eq!(trains(&db).await.len(), 7);
    // A changed cadence is planned again at once.
    let moved = FLEET.replace("BYDAY=TU;BYHOUR=3", "BYDAY=WE;BYHOUR=3");
    fleet::apply(&db, &parse("fleet.toml", &moved).expect("valid"), later).await.expect("apply");
    let report = tick(&db, lead, later, &config()).await.expect("tick");
    assert_eq!(report.created, 4, "Wednesdays 2, 9, 16 and 23 December, 30 December being past the horizon");
}
on_both_backends!(a_tick_plans_only_definitions_with_a_cutover_entering_the_horizon);
