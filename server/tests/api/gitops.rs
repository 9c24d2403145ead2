use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use chrono::Duration;
use server::fleet::{self, parse};
use server::integrations::{FleetIntegrations, SimulatedMetrics};
use server::scheduler::{tick, SchedulerConfig};
use server::time::Instant;

use crate::helpers::{drive_train, ledger_fleet, register_build, spawn_app, test_now, train_in_state, Backend};
use crate::on_both_backends;

fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git").args(args).current_dir(dir).output().expect("git runs");
    assert!(output.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A bare repository with one commit on `main`, as Argo CD or Flux would watch.
fn deploy_repository(root: &Path) -> String {
    let bare = root.join("deploy.git");
    std::fs::create_dir_all(&bare).expect("dir");
    git(&bare, &["init", "--quiet", "--bare", "--initial-branch=main"]);
    let seed = root.join("seed");
    std::fs::create_dir_all(&seed).expect("dir");
    git(&seed, &["init", "--quiet", "--initial-branch=main"]);
    std::fs::write(seed.join("README.md"), "deployments\n").expect("write");
    git(&seed, &["add", "."]);
    git(&seed, &["-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "-m", "start"]);
    git(&seed, &["push", "--quiet", bare.to_str().expect("utf-8 path"), "main"]);
    bare.display().to_string()
}

async fn gitops_commits_each_step_and_a_rollback_restores_the_previous_tag(backend: Backend) {
    let root = tempfile::tempdir().expect("temp dir");
    let repo = deploy_repository(root.path());
    let fleet_file = ledger_fleet(
        "",
        &format!("monitoring = \"5m\"\ndeployer = \"gitops\"\ngitops_repo = \"{repo}\"\ngitops_branch = \"main\""),
        &[("canary 10%", "production", 10, "5m"), ("100%", "production", 100, "0s")],
    );
    let app = spawn_app(backend, false).await;
    fleet::apply(&app.db, &parse("fleet.toml", &fleet_file).expect("valid"), test_now()).await.expect("apply");
    let clock = Arc::new(app.clock.clone());

    // Day one: 1.0.0 ships.
    register_build(&app, "ledger", "1.0.0", '1', "1.0").await;
    let opened = test_now() + Duration::hours(1);
    tick(&app.db, crate::helpers::lead(&app.db).await, opened, &SchedulerConfig::default()).await.expect("tick");
    let first = train_in_state(&app.db, "planning").await;
    let healthy =
        FleetIntegrations::new(app.db.clone(), clock.clone(), SimulatedMetrics::default()).expect("integrations");
    drive_train(&app.db, &healthy, &first, Instant::from_utc(opened)).await;
    assert_eq!(server::runtime::load(&app.db, &first).await.expect("state").phase.to_string(), "completed");

    // Day two: 2.0.0 regresses at the canary and is rolled back.
    register_build(&app, "ledger", "2.0.0", '2', "1.0").await;
    let opened = opened + Duration::days(1);
    tick(&app.db, crate::helpers::lead(&app.db).await, opened, &SchedulerConfig::default()).await.expect("tick");
    let second = train_in_state(&app.db, "planning").await;
    let regressing = SimulatedMetrics { regression: Some(("ledger".into(), 1, 1)), ..SimulatedMetrics::default() };
    let integrations = FleetIntegrations::new(app.db.clone(), clock, regressing).expect("integrations");
    drive_train(&app.db, &integrations, &second, Instant::from_utc(opened)).await;
    assert_eq!(server::runtime::load(&app.db, &second).await.expect("state").phase.to_string(), "rolled_back");

    let checkout = root.path().join("checkout");
    git(root.path(), &["clone", "--quiet", &repo, checkout.to_str().expect("utf-8 path")]);
    let ledger = std::fs::read_to_string(checkout.join("environments/production/ledger.yaml")).expect("manifest");
    assert!(ledger.contains("version: \"1.0.0\""), "the rollback restored 1.0.0:\n{ledger}");
    assert!(ledger.contains(&format!("sha256:{}", "1".repeat(64))));
    let log = git(&checkout, &["log", "--format=%s"]);
    let subjects: Vec<&str> = log.lines().collect();
    assert_eq!(
        subjects,
        vec![
            "railyard: roll back ledger 1.0.0 in production (10%)",
            "railyard: deploy ledger 2.0.0 in production (10%)",
            "railyard: deploy ledger 1.0.0 in production (100%)",
            "railyard: deploy ledger 1.0.0 in production (10%)",
            "start",
        ]
    );
    let bodies = git(&checkout, &["log", "-1", "--format=%b"]);
    assert!(bodies.contains(&format!("Train: {second}")), "{bodies}");
}
on_both_backends!(gitops_commits_each_step_and_a_rollback_restores_the_previous_tag);
