use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn railyard() -> Command {
    Command::new(env!("CARGO_BIN_EXE_railyard"))
}

#[test]
fn every_command_explains_itself_with_help() {
    for command in [&["--help"][..], &["serve", "--help"], &["migrate", "--help"], &["apply", "--help"]] {
        let output = railyard().args(command).output().expect("run railyard");
        assert!(output.status.success(), "{command:?}");
        let help = String::from_utf8_lossy(&output.stdout);
        assert!(help.contains("Usage: railyard"), "{command:?}: {help}");
    }
    let serve = railyard().args(["serve", "--help"]).output().expect("run railyard");
    let help = String::from_utf8_lossy(&serve.stdout);
    for option in ["--addr", "--database-url", "--demo", "RAILYARD_DATABASE_URL"] {
        assert!(help.contains(option), "serve --help mentions {option}");
    }
}

#[test]
fn migrate_can_run_twice_and_creates_the_sqlite_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("fresh.db");
    for _ in 0..2 {
        let output = railyard()
            .args(["migrate", "--database-url", &format!("sqlite://{}", file.display())])
            .output()
            .expect("run railyard");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    }
    assert!(file.exists());
}

#[test]
fn a_bad_database_url_is_a_clear_error() {
    let output = railyard().args(["migrate", "--database-url", "mysql://nope"]).output().expect("run railyard");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("must start with sqlite:// or postgres://"));
}

#[test]
fn serve_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = railyard()
        .args(["serve", "--addr", "127.0.0.1:0", "--database-url"])
        .arg(format!("sqlite://{}", dir.path().join("railyard.db").display()))
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stderr(Stdio::piped())
        .spawn()
        .expect("start railyard");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let address = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| line.split("serving http://").nth(1).map(str::to_owned))
        .expect("the server announces its address");
    let response =
        Command::new("curl").args(["-fsS", &format!("http://{}/healthz", address.trim())]).output().expect("curl");
    assert!(response.status.success(), "the server answers before it is stopped");

    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill");
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "the server did not stop within 15 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "exit status {status}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.iter().any(|l| l.contains("SIGTERM received")), "{rest:?}");
    assert!(rest.iter().any(|l| l.contains("scheduler stopped")), "{rest:?}");
}

#[test]
fn analyze_canary_replays_a_judgement_as_json() {
    let dir = tempfile::tempdir().expect("temp dir");
    let baseline = dir.path().join("baseline.txt");
    let canary = dir.path().join("canary.txt");
    let lines = |base: f64| (0..40).map(|i| format!("{}\n", base + f64::from(i % 7))).collect::<String>();
    std::fs::write(&baseline, format!("# p99 latency, ms\n{}", lines(100.0))).expect("write");
    std::fs::write(&canary, lines(140.0)).expect("write");
    let output = railyard()
        .args(["analyze", "canary", "--allowed-increase", "0.1", "--baseline"])
        .arg(&baseline)
        .arg("--canary")
        .arg(&canary)
        .output()
        .expect("run railyard");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON on stdout");
    assert_eq!(report["verdict"], "high");
    assert_eq!(report["evidence"]["baseline_count"], 40);
    assert!(report["evidence"]["mann_whitney"]["p_value"].as_f64().expect("p") < 1e-9);
    assert_eq!(report["evidence"]["shift"]["estimate"], 40.0);

    std::fs::write(&canary, "12\nfast\n").expect("write");
    let output = railyard()
        .args(["analyze", "canary", "--baseline"])
        .arg(&baseline)
        .arg("--canary")
        .arg(&canary)
        .output()
        .expect("run railyard");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("canary.txt line 2: \"fast\" is not a number"));
}

#[test]
fn slo_rules_writes_the_fleets_rule_file_and_names_what_it_left_out() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("railyard.db").display());
    let fleet = dir.path().join("fleet.toml");
    std::fs::write(
        &fleet,
        "[[domain]]\nname = \"payments\"\n\n[[service]]\nname = \"ledger\"\ndomain = \"payments\"\n\
         slo = { target = 0.995, window = \"28d\", good = 'sum(increase(ok{service=\"{service}\"}[{window}]))', \
         total = 'sum(increase(all{service=\"{service}\"}[{window}]))' }\n\n\
         [[service]]\nname = \"billing\"\ndomain = \"payments\"\nslo = { target = 0.99, window = \"28d\" }\n",
    )
    .expect("fleet");
    let applied = railyard().args(["apply"]).arg(&fleet).args(["--database-url", &url]).output().expect("apply");
    assert!(applied.status.success(), "{}", String::from_utf8_lossy(&applied.stderr));
    let file = dir.path().join("rules.yml");
    let output =
        railyard().args(["slo", "rules", "--database-url", &url, "--output"]).arg(&file).output().expect("run");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("left out (their SLO names no good/total Prometheus queries): billing"), "{stderr}");
    let rules = std::fs::read_to_string(&file).expect("written");
    assert!(rules.contains("record: \"railyard:slo_error_ratio:rate3d\""), "{rules}");
    assert!(rules.contains("> 14.4 * (1 - 0.995)"), "{rules}");
    assert!(!rules.contains("billing"), "{rules}");
}
