use std::process::Command;

use server::fleet::{self, parse, ApplyError, ApplySummary};

use crate::helpers::{fresh_store, snapshot, test_now, Backend};
use crate::on_both_backends;

const FLEET: &str = r##"
[[domain]]
name = "payments"
colour = "#0072B2"

[[domain]]
name = "search"

[[service]]
name = "ledger"
domain = "payments"

[[service]]
name = "checkout"
domain = "payments"

[[service]]
name = "indexer"
domain = "search"

[[train]]
name = "payments-weekly"
domain = "payments"
services = ["ledger", "checkout"]
cadence = "FREQ=WEEKLY;BYDAY=TU;BYHOUR=3"
time_zone = "Europe/Berlin"
starts = "2026-01-06"
planning_window = "3d"
cutover_window = "2h"

[[freeze]]
name = "year-end"
time_zone = "America/New_York"
starts = "2026-12-20"
ends = "2027-01-03"
"##;

async fn applying_the_same_file_twice_changes_nothing(backend: Backend) {
    let (db, _database) = fresh_store(backend).await;
    let fleet = parse("fleet.toml", FLEET).expect("valid file");
    let first = fleet::apply(&db, &fleet, test_now()).await.expect("first apply");
    assert_eq!((first.created, first.updated, first.unchanged), (7, 0, 0));
    assert!(first.changes.contains(&"created train payments-weekly".to_owned()), "{:?}", first.changes);
    let before = snapshot(&db).await;
    let later = test_now() + chrono::Duration::hours(1);
    let second = fleet::apply(&db, &fleet, later).await.expect("second apply");
    assert_eq!(second, ApplySummary { created: 0, updated: 0, unchanged: 7, changes: Vec::new() });
    assert_eq!(snapshot(&db).await, before, "not even a timestamp moved");
}
on_both_backends!(applying_the_same_file_twice_changes_nothing);

async fn a_changed_file_updates_only_what_changed(backend: Backend) {
    let (db, _database) = fresh_store(backend).await;
    fleet::apply(&db, &parse("fleet.toml", FLEET).expect("valid"), test_now()).await.expect("apply");
    let changed = FLEET
        .replace("BYHOUR=3", "BYHOUR=4")
        .replace("services = [\"ledger\", \"checkout\"]", "services = [\"ledger\"]");
    let summary = fleet::apply(&db, &parse("fleet.toml", &changed).expect("valid"), test_now()).await.expect("apply");
    assert_eq!((summary.created, summary.updated, summary.unchanged), (0, 1, 6));
    // Every apply is audited with the file's hash and what it changed.
    let mut conn = db.acquire().await.expect("connection");
    let applied: Vec<(String, String, String)> =
        sqlx::query_as("SELECT actor, object, after_state FROM audit_log WHERE action = 'fleet.applied' ORDER BY seq")
            .fetch_all(&mut *conn)
            .await
            .expect("audit");
    assert_eq!(applied.len(), 2, "both applies are on record");
    let (actor, object, after) = &applied[1];
    assert_eq!((actor.as_str(), object.as_str()), ("fleet-apply", "fleet:fleet.toml"));
    let after: serde_json::Value = serde_json::from_str(after).expect("json");
    let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(changed.as_bytes()));
    assert_eq!(after["sha256"], digest.as_str(), "the exact file applied");
    assert_eq!(after["changes"], serde_json::json!(["updated train payments-weekly"]), "{after}");
}
on_both_backends!(a_changed_file_updates_only_what_changed);

async fn refused(backend: Backend, text: &str) -> Vec<String> {
    let (db, _database) = fresh_store(backend).await;
    fleet::apply(&db, &parse("fleet.toml", FLEET).expect("valid"), test_now()).await.expect("apply");
    let before = snapshot(&db).await;
    let problems = match parse("fleet.toml", text) {
        Err(problems) => problems,
        Ok(fleet) => match fleet::apply(&db, &fleet, test_now()).await {
            Err(ApplyError::Invalid(problems)) => problems,
            other => panic!("expected the file to be refused, got {other:?}"),
        },
    };
    assert_eq!(snapshot(&db).await, before, "nothing was stored");
    problems.iter().map(ToString::to_string).collect()
}

async fn bad_input_is_refused_naming_the_field_and_storing_nothing(backend: Backend) {
    let cases = [
        (
            FLEET.replace("FREQ=WEEKLY;BYDAY=TU;BYHOUR=3", "FREQ=WEEKLY;BYDAY=TUE"),
            "fleet.toml: train \"payments-weekly\": field `cadence`: ",
        ),
        (
            FLEET.replace("Europe/Berlin", "Europe/Gotham"),
            "train \"payments-weekly\": field `time_zone`: \"Europe/Gotham\"",
        ),
        (FLEET.replace("\"2h\"", "\"0s\""), "train \"payments-weekly\": field `cutover_window`: \"0s\" is zero"),
        (
            FLEET.replace("[\"ledger\", \"checkout\"]", "[\"ledger\", \"refunds\"]"),
            "train \"payments-weekly\": field `services`: names service \"refunds\"",
        ),
        (
            format!("{FLEET}\n[[service]]\nname = \"ledger\"\ndomain = \"search\"\n"),
            "service \"ledger\": field `name`: another service is already called \"ledger\"",
        ),
        (
            // A valid new entry before the bad one must not be stored either.
            format!("{FLEET}\n[[domain]]\nname = \"mobile\"\n\n[[service]]\nname = \"push\"\ndomain = \"mobil\"\n"),
            "service \"push\": field `domain`: names domain \"mobil\"",
        ),
    ];
    for (text, expected) in cases {
        let problems = refused(backend, &text).await;
        assert!(problems.iter().any(|p| p.contains(expected)), "expected {expected:?} in {problems:?}");
    }
}
on_both_backends!(bad_input_is_refused_naming_the_field_and_storing_nothing);

/// FLEET with `calls` lines added to services.
fn with_calls(calls: &[(&str, &str)]) -> String {
    calls.iter().fold(FLEET.to_owned(), |text, (service, list)| {
        let entry = format!("name = \"{service}\"\ndomain = ");
        text.replacen(&entry, &format!("calls = {list}\n{entry}"), 1)
    })
}

async fn a_dependency_cycle_is_refused_at_apply_with_the_cycle_named(backend: Backend) {
    let in_one_file = with_calls(&[("ledger", "[\"checkout\"]"), ("checkout", "[\"ledger\"]")]);
    let problems = refused(backend, &in_one_file).await;
    let expected = "service \"checkout\": field `calls`: dependency cycle: checkout → ledger → checkout";
    assert!(problems.iter().any(|p| p.contains(expected)), "{problems:?}");

    let unknown = with_calls(&[("ledger", "[\"fx-rates\"]")]);
    let problems = refused(backend, &unknown).await;
    assert!(problems.iter().any(|p| p.contains("field `calls`: names service \"fx-rates\"")), "{problems:?}");

    // Across files: checkout → ledger is stored; a later file makes ledger call checkout.
    let (db, _database) = fresh_store(backend).await;
    let first = with_calls(&[("checkout", "[\"ledger\"]")]);
    fleet::apply(&db, &parse("fleet.toml", &first).expect("valid"), test_now()).await.expect("apply");
    let before = snapshot(&db).await;
    let later = "[[service]]\nname = \"ledger\"\ndomain = \"payments\"\ncalls = [\"checkout\"]\n";
    let fleet = parse("ledger.toml", later).expect("valid on its own");
    let Err(ApplyError::Invalid(problems)) = fleet::apply(&db, &fleet, test_now()).await else {
        panic!("the cycle through the stored services is refused");
    };
    let problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
    let expected = "dependency cycle with the services already applied: checkout → ledger → checkout";
    assert!(problems.iter().any(|p| p.contains(expected)), "{problems:?}");
    assert_eq!(snapshot(&db).await, before, "nothing was stored");
    let mut conn = db.acquire().await.expect("connection");
    let ledger = server::store::services::by_name(&mut conn, "ledger").await.expect("query").expect("ledger");
    assert!(ledger.callees().is_empty(), "ledger still calls nothing");
    let checkout = server::store::services::by_name(&mut conn, "checkout").await.expect("query").expect("checkout");
    assert_eq!(checkout.callees(), vec!["ledger".to_owned()], "the declared call is stored");
}
on_both_backends!(a_dependency_cycle_is_refused_at_apply_with_the_cycle_named);

#[test]
fn the_apply_command_reports_problems_and_exits_non_zero() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("fleet.toml");
    std::fs::write(&file, FLEET.replace("Europe/Berlin", "Berlin")).expect("write");
    let database_url = format!("sqlite://{}", dir.path().join("railyard.db").display());
    let output = Command::new(env!("CARGO_BIN_EXE_railyard"))
        .args(["apply", "--database-url", &database_url])
        .arg(&file)
        .output()
        .expect("run railyard");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("fleet.toml: train \"payments-weekly\": field `time_zone`"), "{stderr}");
    assert!(stderr.contains("nothing was applied"), "{stderr}");

    std::fs::write(&file, FLEET).expect("write");
    let output = Command::new(env!("CARGO_BIN_EXE_railyard"))
        .args(["apply", "--database-url", &database_url])
        .arg(&file)
        .output()
        .expect("run railyard");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).contains("7 created"));
}
