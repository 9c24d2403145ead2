//! The audit log: a clean chain verifies; any change to any column, a
//! deleted record or two swapped records is detected and named, in the
//! database and in an exported file.

use server::audit::{log, Verification};
use server::store::{self, audit::Entry, Db};
use server::time::Instant;

use crate::helpers::{fresh_store, Backend};
use crate::on_both_backends;

/// Writes six records the way actions do.
async fn six_records(db: &Db) {
    for n in 1..=6 {
        let mut tx = db.begin().await.expect("begin");
        let entry = Entry::new("user:ada", "train.hold", format!("train:{n}"))
            .change(&serde_json::json!({ "state": "canary" }), &serde_json::json!({ "state": "held", "n": n }))
            .request(&format!("req-{n}"));
        store::audit::append(&mut tx, &entry, Instant::from_ms(1_700_000_000_000 + n)).await.expect("append");
        tx.commit().await.expect("commit");
    }
}

async fn verify(db: &Db) -> Verification {
    log::verify_store(db, None, None).await.expect("verification runs")
}

async fn execute(db: &Db, sql: &str) {
    let mut conn = db.acquire().await.expect("connection");
    sqlx::query(sql).execute(&mut *conn).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Writes `record` straight into the table, as someone with database access would.
async fn insert_raw(conn: &mut sqlx::AnyConnection, record: &server::audit::Record) {
    sqlx::query(
        "INSERT INTO audit_log (seq, at, actor, action, object, before_state, after_state, request_id, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(record.seq)
    .bind(record.at.ms())
    .bind(&record.actor)
    .bind(&record.action)
    .bind(&record.object)
    .bind(&record.before)
    .bind(&record.after)
    .bind(&record.request_id)
    .bind(&record.prev_hash)
    .bind(&record.hash)
    .execute(conn)
    .await
    .expect("insert");
}

fn broken_at(verification: Verification) -> i64 {
    match verification {
        Verification::Broken { seq, .. } => seq,
        Verification::Intact { count, .. } => panic!("tampering went unnoticed ({count} records verified)"),
    }
}

async fn a_clean_log_verifies(backend: Backend) {
    let (db, _guard) = fresh_store(backend).await;
    six_records(&db).await;
    let Verification::Intact { count, head } = verify(&db).await else { panic!("a clean log must verify") };
    assert_eq!(count, 6);
    let mut conn = db.acquire().await.expect("connection");
    assert_eq!(store::audit::head(&mut conn).await.expect("head"), (6, head));
}
on_both_backends!(a_clean_log_verifies);

async fn a_change_to_any_column_is_named(backend: Backend) {
    let (db, _guard) = fresh_store(backend).await;
    six_records(&db).await;
    let tampering = [
        ("at", "UPDATE audit_log SET at = at + 1 WHERE seq = 3"),
        ("actor", "UPDATE audit_log SET actor = 'user:mallory' WHERE seq = 3"),
        ("action", "UPDATE audit_log SET action = 'train.resume' WHERE seq = 3"),
        ("object", "UPDATE audit_log SET object = 'train:99' WHERE seq = 3"),
        ("before_state", "UPDATE audit_log SET before_state = '{}' WHERE seq = 3"),
        ("after_state", "UPDATE audit_log SET after_state = '{}' WHERE seq = 3"),
        ("request_id", "UPDATE audit_log SET request_id = 'req-x' WHERE seq = 3"),
        ("prev_hash", "UPDATE audit_log SET prev_hash = hash WHERE seq = 3"),
        ("hash", "UPDATE audit_log SET hash = prev_hash WHERE seq = 3"),
        ("seq", "UPDATE audit_log SET seq = 1000 WHERE seq = 3"),
    ];
    for (column, sql) in tampering {
        let mut conn = db.acquire().await.expect("connection");
        let saved = store::audit::page(&mut conn, 0, 100).await.expect("records");
        drop(conn);
        execute(&db, sql).await;
        assert_eq!(broken_at(verify(&db).await), 3, "changing {column} must be detected at record 3");
        // Put the original rows back for the next column.
        execute(&db, "DELETE FROM audit_log").await;
        let mut conn = db.acquire().await.expect("connection");
        for record in saved {
            insert_raw(&mut conn, &record).await;
        }
        drop(conn);
        assert!(matches!(verify(&db).await, Verification::Intact { .. }), "restored after {column}");
    }
}
on_both_backends!(a_change_to_any_column_is_named);

async fn deleted_and_reordered_records_are_named(backend: Backend) {
    let (db, _guard) = fresh_store(backend).await;
    six_records(&db).await;
    execute(&db, "DELETE FROM audit_log WHERE seq = 6").await;
    assert_eq!(broken_at(verify(&db).await), 6, "a deleted last record is caught by the head");

    let (db, _guard) = fresh_store(backend).await;
    six_records(&db).await;
    execute(&db, "DELETE FROM audit_log WHERE seq = 4").await;
    assert_eq!(broken_at(verify(&db).await), 4, "a deleted middle record");

    let (db, _guard) = fresh_store(backend).await;
    six_records(&db).await;
    execute(&db, "UPDATE audit_log SET seq = -2 WHERE seq = 2").await;
    execute(&db, "UPDATE audit_log SET seq = 2 WHERE seq = 3").await;
    execute(&db, "UPDATE audit_log SET seq = 3 WHERE seq = -2").await;
    assert_eq!(broken_at(verify(&db).await), 2, "two swapped records");
}
on_both_backends!(deleted_and_reordered_records_are_named);

const AUDIT_KEY: &[u8] = b"the servers' audit key, 32+ chars";

async fn a_whole_log_rewritten_with_fresh_hashes_fails_against_signed_checkpoints(backend: Backend) {
    let (db, _guard) = fresh_store(backend).await;
    six_records(&db).await;
    let head = {
        let mut conn = db.acquire().await.expect("connection");
        store::audit::head(&mut conn).await.expect("head")
    };
    server::audit::checkpoint::signed(&db, AUDIT_KEY, &head, Instant::from_ms(1)).await.expect("signed checkpoint");
    let keyed = |db: Db| async move { log::verify_store(&db, None, Some(AUDIT_KEY)).await.expect("verification runs") };
    assert!(matches!(keyed(db.clone()).await, Verification::Intact { count: 6, .. }));

    // Someone with the database rewrites record 2 and recomputes every hash after it: the chain alone holds.
    let mut conn = db.acquire().await.expect("connection");
    let mut records = store::audit::page(&mut conn, 0, 100).await.expect("records");
    drop(conn);
    execute(&db, "DELETE FROM audit_log").await;
    records[1].actor = "user:mallory".into();
    let mut prev = server::audit::GENESIS.to_owned();
    let mut conn = db.acquire().await.expect("connection");
    for record in &mut records {
        record.prev_hash.clone_from(&prev);
        record.hash = record.expected_hash();
        prev.clone_from(&record.hash);
        insert_raw(&mut conn, record).await;
    }
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1").bind(&prev).execute(&mut *conn).await.expect("head");
    drop(conn);
    assert_eq!(broken_at(keyed(db.clone()).await), 6, "the signed checkpoint at record 6 no longer fits");

    // Re-signing the checkpoint without the key does not help either.
    execute(&db, &format!("UPDATE audit_checkpoints SET head = '{prev}'")).await;
    let verification = keyed(db.clone()).await;
    assert!(
        matches!(&verification, Verification::Broken { problem, .. } if problem.contains("forged or altered")),
        "{verification:?}"
    );
}
on_both_backends!(a_whole_log_rewritten_with_fresh_hashes_fails_against_signed_checkpoints);

#[tokio::test]
async fn concurrent_appends_keep_one_unbroken_chain() {
    let (db, _guard) = fresh_store(Backend::Postgres).await;
    let writers = (0..8).map(|writer| {
        let db = db.clone();
        tokio::spawn(async move {
            for n in 0..10 {
                let mut tx = db.begin().await.expect("begin");
                let entry = Entry::new(format!("user:w{writer}"), "note", format!("n:{n}"));
                store::audit::append(&mut tx, &entry, Instant::from_ms(1)).await.expect("append");
                tx.commit().await.expect("commit");
            }
        })
    });
    for writer in writers {
        writer.await.expect("writer");
    }
    assert!(matches!(verify(&db).await, Verification::Intact { count: 80, .. }));
}

#[tokio::test]
async fn the_cli_exports_a_file_that_verifies_offline_and_names_an_edited_line() {
    let (db, guard) = fresh_store(Backend::Sqlite).await;
    six_records(&db).await;
    let (count, head) = {
        let mut conn = db.acquire().await.expect("connection");
        store::audit::head(&mut conn).await.expect("head")
    };
    db.close().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("audit.jsonl");
    let railyard = || std::process::Command::new(env!("CARGO_BIN_EXE_railyard"));
    let export = railyard()
        .args(["audit", "export", "--database-url", &guard.url, "--output"])
        .arg(&file)
        .output()
        .expect("run export");
    assert!(export.status.success(), "{}", String::from_utf8_lossy(&export.stderr));

    let verify = railyard()
        .args(["audit", "verify", "--head", &format!("{count}:{head}"), "--file"])
        .arg(&file)
        .output()
        .expect("run verify");
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stderr));
    assert!(String::from_utf8_lossy(&verify.stdout).contains("intact: 6 records"));

    let stored = railyard().args(["audit", "verify", "--database-url", &guard.url]).output().expect("run verify");
    assert!(stored.status.success(), "{}", String::from_utf8_lossy(&stored.stderr));

    let text = std::fs::read_to_string(&file).expect("export");
    std::fs::write(&file, text.replacen("user:ada", "user:eve", 1)).expect("edit");
    let verify = railyard().args(["audit", "verify", "--file"]).arg(&file).output().expect("run verify");
    assert!(!verify.status.success());
    assert!(
        String::from_utf8_lossy(&verify.stderr).contains("broken at record 1"),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
}

/// Reads the server's stderr until a line containing `needle` (or gives up after 30 s).
fn wait_for_line(lines: &mut impl Iterator<Item = String>, needle: &str) -> String {
    let started = std::time::Instant::now();
    for line in lines {
        if line.contains(needle) {
            return line;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "no line with {needle}");
    }
    panic!("the server stopped before logging {needle}");
}

/// The value of `key=` in a log line.
fn field(line: &str, key: &str) -> String {
    let rest = line.split(&format!("{key}=")).nth(1).unwrap_or_else(|| panic!("{key} in {line}"));
    rest.split_whitespace().next().unwrap_or_default().trim_matches('"').to_owned()
}

#[tokio::test]
async fn the_first_start_logs_a_one_time_admin_password_and_checkpoints_that_later_verify() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("railyard.db").display());
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_railyard"))
        .args(["serve", "--addr", "127.0.0.1:0", "--database-url", &url, "--audit-checkpoint-interval", "1s"])
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .env_remove("RAILYARD_ADMIN_PASSWORD")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start railyard");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines().map_while(Result::ok);
    let password_line = wait_for_line(&mut lines, "one-time password");
    let password = field(&password_line, "password");
    assert!(password.len() >= 20, "{password_line}");
    let checkpoint = wait_for_line(&mut lines, "audit checkpoint");
    let (count, head) = (field(&checkpoint, "count"), field(&checkpoint, "head"));
    child.kill().expect("stop");
    child.wait().expect("stopped");

    let verify = std::process::Command::new(env!("CARGO_BIN_EXE_railyard"))
        .args(["audit", "verify", "--database-url", &url, "--head", &format!("{count}:{head}")])
        .output()
        .expect("verify");
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stderr));

    // The password was written once: a second start finds the admin and says nothing.
    let mut again = std::process::Command::new(env!("CARGO_BIN_EXE_railyard"))
        .args(["serve", "--addr", "127.0.0.1:0", "--database-url", &url])
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start railyard");
    let mut lines = BufReader::new(again.stderr.take().expect("stderr")).lines().map_while(Result::ok);
    let mut before_serving = Vec::new();
    for line in lines.by_ref() {
        let serving = line.contains("serving");
        before_serving.push(line);
        if serving {
            break;
        }
    }
    again.kill().expect("stop");
    again.wait().expect("stopped");
    assert!(!before_serving.iter().any(|line| line.contains("one-time password")), "{before_serving:?}");

    let db = Db::connect(&url).await.expect("connect");
    let mut conn = db.acquire().await.expect("connection");
    let (hash, must_change): (String, i64) =
        sqlx::query_as("SELECT password_hash, must_change_password FROM users WHERE name = 'admin'")
            .fetch_one(&mut *conn)
            .await
            .expect("the admin");
    assert_eq!(must_change, 1, "a one-time password must be changed at first sign-in");
    assert!(server::auth::password::verify(&password, &hash), "the logged password signs in");
}
