//! The gitops deployer against real Git repositories (bare repositories on
//! disk, as Argo CD or Flux would watch), with `kubectl kustomize` rendering
//! what Railyard wrote.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use chrono::Duration;
use server::fleet::{self, parse};
use server::gitops::GitopsSettings;
use server::integrations::deploy::{ReleasePayload, ReleaseStep, ReleasedArtifact};
use server::integrations::gitops::GitopsDeployer;
use server::integrations::{FleetIntegrations, SimulatedMetrics};
use server::scheduler::{tick, SchedulerConfig};
use server::time::Instant;

use crate::helpers::{drive_train, register_build, spawn_app, test_now, train_in_state, Backend, TestApp};
use crate::on_both_backends;

pub(crate) fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git").args(args).current_dir(dir).output().expect("git runs");
    assert!(output.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub(crate) const REGIONS: [&str; 3] = ["eu-west", "us-east", "ap-south"];

fn deployment(name: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  selector:\n    matchLabels: {{app: {name}}}\n  \
         template:\n    metadata:\n      labels: {{app: {name}}}\n    spec:\n      containers:\n      - name: ledger\n        \
         image: ghcr.io/acme/ledger:latest\n"
    )
}

/// A bare repository on `main` laid out as a payments team would for Argo CD or
/// Flux: bases for the stable and canary deployments, and per region a
/// production overlay (with a hand-written HTTPRoute) and a canary overlay.
pub(crate) fn deploy_repository(root: &Path) -> String {
    let bare = root.join("deploy.git");
    std::fs::create_dir_all(&bare).expect("dir");
    git(&bare, &["init", "--quiet", "--bare", "--initial-branch=main"]);
    let seed = root.join("seed");
    let mut files = vec![("README.md".to_owned(), "deployments\n".to_owned())];
    for base in ["ledger", "ledger-canary"] {
        files.push((format!("base/{base}/kustomization.yaml"), "resources:\n- deployment.yaml\n".into()));
        files.push((format!("base/{base}/deployment.yaml"), deployment(base)));
    }
    for region in REGIONS {
        let overlay = format!(
            "# Production overlay for {region}, written by the payments team.\napiVersion: kustomize.config.k8s.io/v1beta1\n\
             kind: Kustomization\nnamespace: payments\nresources:\n  - ../../../../base/ledger\n  - httproute.yaml\n"
        );
        let route = "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n  name: ledger\nspec:\n  \
                     parentRefs:\n  - name: public\n  rules:\n  - matches:\n    - path: {type: PathPrefix, value: /ledger}\n    \
                     backendRefs:\n    - name: ledger\n      port: 8080\n";
        let canary = "namespace: payments\nresources:\n- ../../../../base/ledger-canary\n";
        files.push((format!("clusters/{region}/production/ledger/kustomization.yaml"), overlay));
        files.push((format!("clusters/{region}/production/ledger/httproute.yaml"), route.into()));
        files.push((format!("clusters/{region}/production/ledger-canary/kustomization.yaml"), canary.into()));
    }
    for (path, text) in files {
        let path = seed.join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("dir");
        std::fs::write(path, text).expect("write");
    }
    git(&seed, &["init", "--quiet", "--initial-branch=main"]);
    git(&seed, &["add", "."]);
    git(&seed, &["-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "-m", "start"]);
    git(&seed, &["push", "--quiet", bare.to_str().expect("utf-8 path"), "main"]);
    bare.display().to_string()
}

/// The one-service fleet with `[train.gitops]` settings `gitops` and steps (name, weight, region).
pub(crate) fn fleet_file(gitops: &str, steps: &[(&str, u8, &str)]) -> String {
    let mut file = "[[domain]]\nname = \"payments\"\n\n[[service]]\nname = \"ledger\"\ndomain = \"payments\"\n\n\
         [[train]]\nname = \"payments-daily\"\ndomain = \"payments\"\nservices = [\"ledger\"]\n\
         cadence = \"FREQ=DAILY;BYHOUR=14\"\ntime_zone = \"UTC\"\nstarts = \"2026-01-01\"\n\
         planning_window = \"1h\"\ncutover_window = \"2h\"\npreflight = \"30m\"\nmonitoring = \"5m\"\n"
        .to_owned();
    for (name, weight, region) in steps {
        file.push_str(&format!(
            "\n[[train.step]]\nname = \"{name}\"\nenvironment = \"production\"\nweight = {weight}\nsoak = \"5m\"\nregion = \"{region}\"\n"
        ));
    }
    file.push_str(&format!("\n[train.gitops]\n{gitops}\n"));
    file
}

fn kustomize_settings(repo: &str, traffic: bool) -> String {
    gitops_table(repo, traffic, "controller = \"none\"\n")
}

/// `[train.gitops]` for `repo` (canary traffic if `traffic`) and `controller`: a line of the
/// table (`controller = "none"`) or a table of its own (`[train.gitops.argocd]` ...).
pub(crate) fn gitops_table(repo: &str, traffic: bool, controller: &str) -> String {
    let mut settings = format!(
        "repository = \"{repo}\"\nbranch = \"main\"\npath = \"clusters/{{region}}/{{environment}}/{{service}}\"\n\
         image = \"ghcr.io/acme/{{service}}\"\nsync_timeout = \"5m\"\n"
    );
    let own_table = controller.starts_with('[');
    if !own_table {
        settings.push_str(controller);
    }
    if traffic {
        settings.push_str(
            "[train.gitops.traffic]\ncanary_path = \"clusters/{region}/{environment}/{service}-canary\"\ngateway = \"public\"\nport = 8080\n",
        );
    }
    if own_table {
        settings.push_str(controller);
    }
    settings
}

/// Opens the day's train (`day` after the test's day) and drives it to its end with `metrics`.
pub(crate) async fn run_train(app: &TestApp, day: i64, metrics: SimulatedMetrics) -> String {
    let opened = test_now() + Duration::days(day) + Duration::hours(1);
    tick(&app.db, crate::helpers::lead(&app.db).await, opened, &SchedulerConfig::default()).await.expect("tick");
    let train = train_in_state(&app.db, "planning").await;
    let clock = Arc::new(app.clock.clone());
    let integrations = FleetIntegrations::new(app.db.clone(), clock, metrics).expect("integrations");
    drive_train(&app.db, &integrations, &train, Instant::from_utc(opened)).await;
    train
}

/// `kubectl kustomize` of `overlay` in `checkout`: the manifests a cluster would apply.
pub(crate) fn kustomize(checkout: &Path, overlay: &str) -> String {
    let output = Command::new("kubectl")
        .args(["kustomize", overlay])
        .current_dir(checkout)
        .output()
        .expect("kubectl runs (scripts/setup installs Debian's kubernetes-client)");
    assert!(output.status.success(), "kubectl kustomize {overlay}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The weights an HTTPRoute gives its backends, by name, as rendered.
pub(crate) fn weights(rendered: &str) -> Vec<(String, u64)> {
    let mut found = Vec::new();
    let mut name = None;
    for line in rendered.lines().map(str::trim) {
        if let Some(value) = line.strip_prefix("- name: ").or_else(|| line.strip_prefix("name: ")) {
            name = Some(value.to_owned());
        }
        if let (Some(weight), Some(backend)) = (line.strip_prefix("weight: "), &name) {
            found.push((backend.clone(), weight.parse().expect("a number")));
        }
    }
    found
}

async fn a_three_region_canary_train_writes_overlays_a_cluster_applies(backend: Backend) {
    let root = tempfile::tempdir().expect("temp dir");
    let repo = deploy_repository(root.path());
    let steps = [
        ("eu-west canary", 5, "eu-west"),
        ("eu-west", 100, "eu-west"),
        ("us-east canary", 25, "us-east"),
        ("us-east", 100, "us-east"),
        ("ap-south", 100, "ap-south"),
    ];
    let file = fleet_file(&kustomize_settings(&repo, true), &steps);
    let app = spawn_app(backend, false).await;
    fleet::apply(&app.db, &parse("fleet.toml", &file).expect("valid"), test_now()).await.expect("apply");
    register_build(&app, "ledger", "1.0.0", '1', "1.0").await;
    let train = run_train(&app, 0, SimulatedMetrics::default()).await;
    assert_eq!(server::runtime::load(&app.db, &train).await.expect("state").phase.to_string(), "completed");

    let checkout = root.path().join("checkout");
    git(root.path(), &["clone", "--quiet", &repo, checkout.to_str().expect("utf-8 path")]);
    let subjects = git(&checkout, &["log", "--format=%s"]);
    assert_eq!(
        subjects.lines().collect::<Vec<_>>(),
        [
            "railyard: deploy ledger 1.0.0 to production ap-south at 100%",
            "railyard: deploy ledger 1.0.0 to production us-east at 100%",
            "railyard: deploy ledger 1.0.0 to production us-east at 25%",
            "railyard: deploy ledger 1.0.0 to production eu-west at 100%",
            "railyard: deploy ledger 1.0.0 to production eu-west at 5%",
            "start",
        ]
    );
    let body = git(&checkout, &["log", "-1", "--format=%b"]);
    let digest = format!("sha256:{}", "1".repeat(64));
    for line in [format!("Train: {train}"), "Step: ap-south (100%)".into(), format!("Services: ledger 1.0.0 {digest}")]
    {
        assert!(body.contains(&line), "{line} in\n{body}");
    }
    let pinned = format!("ghcr.io/acme/ledger@{digest}");

    // After the first step: the eu-west canary runs the new build and gets 5% of eu-west's traffic.
    git(&checkout, &["checkout", "--quiet", "HEAD~4"]);
    let canary = kustomize(&checkout, "clusters/eu-west/production/ledger-canary");
    assert!(canary.contains(&format!("image: {pinned}")), "{canary}");
    assert!(canary.contains("namespace: payments"), "{canary}");
    let eu_west = kustomize(&checkout, "clusters/eu-west/production/ledger");
    assert!(eu_west.contains("image: ghcr.io/acme/ledger:latest"), "the stable deployment is untouched:\n{eu_west}");
    assert_eq!(weights(&eu_west), [("ledger".into(), 95), ("ledger-canary".into(), 5)]);
    assert!(eu_west.contains("value: /ledger"), "the route's own match is kept:\n{eu_west}");
    let us_east = kustomize(&checkout, "clusters/us-east/production/ledger");
    assert!(weights(&us_east).is_empty() && us_east.contains(":latest"), "us-east is not reached yet:\n{us_east}");

    // After the third: us-east's canary takes 25%, eu-west is on the new build with all traffic on stable.
    git(&checkout, &["checkout", "--quiet", "main~2"]);
    assert_eq!(
        weights(&kustomize(&checkout, "clusters/us-east/production/ledger")),
        [("ledger".into(), 75), ("ledger-canary".into(), 25)]
    );
    let eu_west = kustomize(&checkout, "clusters/eu-west/production/ledger");
    assert!(eu_west.contains(&format!("image: {pinned}")), "{eu_west}");
    assert_eq!(weights(&eu_west), [("ledger".into(), 100), ("ledger-canary".into(), 0)]);

    // At the end every region's stable deployment runs the digest with all traffic.
    git(&checkout, &["checkout", "--quiet", "main"]);
    for region in REGIONS {
        let rendered = kustomize(&checkout, &format!("clusters/{region}/production/ledger"));
        assert!(rendered.contains(&format!("image: {pinned}")), "{region}:\n{rendered}");
        assert_eq!(weights(&rendered), [("ledger".into(), 100), ("ledger-canary".into(), 0)], "{region}");
    }
    // Deployment markers for Grafana: what runs where, and one event per step.
    let (_, metrics) = app.get("/metrics").await;
    for region in REGIONS {
        let live = format!(
            "railyard_deployment_info{{train=\"{train}\",definition=\"payments-daily\",service=\"ledger\",version=\"1.0.0\",\
             digest=\"{digest}\",environment=\"production\",region=\"{region}\"}} 1"
        );
        assert!(metrics.contains(&live), "{live} in {metrics}");
    }
    let events = "railyard_deployment_events_total{definition=\"payments-daily\",environment=\"production\",outcome=\"deployed\"} 5";
    assert!(metrics.contains(events), "{metrics}");
    let overlay = std::fs::read_to_string(checkout.join("clusters/ap-south/production/ledger/kustomization.yaml"))
        .expect("overlay");
    assert!(overlay.starts_with("# Production overlay for ap-south, written by the payments team.\n"), "{overlay}");
    assert!(overlay.contains("resources:\n  - ../../../../base/ledger\n  - httproute.yaml\n"), "{overlay}");
}
on_both_backends!(a_three_region_canary_train_writes_overlays_a_cluster_applies);

async fn a_rollback_restores_the_previous_digest_or_takes_the_canarys_traffic_away(backend: Backend) {
    let root = tempfile::tempdir().expect("temp dir");
    let repo = deploy_repository(root.path());
    let app = spawn_app(backend, false).await;
    let steps = [("canary", 10, "eu-west"), ("eu-west", 100, "eu-west")];

    // In place (no traffic settings): 1.0.0 ships, 2.0.0 regresses at the canary and is rolled back to 1.0.0.
    let file = fleet_file(&kustomize_settings(&repo, false), &steps);
    fleet::apply(&app.db, &parse("fleet.toml", &file).expect("valid"), test_now()).await.expect("apply");
    register_build(&app, "ledger", "1.0.0", '1', "1.0").await;
    run_train(&app, 0, SimulatedMetrics::default()).await;
    register_build(&app, "ledger", "2.0.0", '2', "1.0").await;
    let regressing = SimulatedMetrics { regression: Some(("ledger".into(), 1, 1)), ..SimulatedMetrics::default() };
    let second = run_train(&app, 1, regressing.clone()).await;
    assert_eq!(server::runtime::load(&app.db, &second).await.expect("state").phase.to_string(), "rolled_back");
    let (_, metrics) = app.get("/metrics").await;
    let live: Vec<&str> = metrics.lines().filter(|l| l.starts_with("railyard_deployment_info{")).collect();
    assert_eq!(live.len(), 1, "one version live in eu-west: {live:?}");
    assert!(
        live[0].contains("version=\"1.0.0\"") && !live[0].contains(&second),
        "the rolled-back 2.0.0 is not live: {live:?}"
    );
    let undone = "railyard_deployment_events_total{definition=\"payments-daily\",environment=\"production\",outcome=\"rolled_back\"} 1";
    assert!(metrics.contains(undone), "{metrics}");
    let checkout = root.path().join("checkout");
    git(root.path(), &["clone", "--quiet", &repo, checkout.to_str().expect("utf-8 path")]);
    let rendered = kustomize(&checkout, "clusters/eu-west/production/ledger");
    assert!(rendered.contains(&format!("ghcr.io/acme/ledger@sha256:{}", "1".repeat(64))), "{rendered}");
    let subjects = git(&checkout, &["log", "-2", "--format=%s"]);
    assert_eq!(
        subjects.lines().collect::<Vec<_>>(),
        [
            "railyard: roll back to ledger 1.0.0 in production eu-west",
            "railyard: deploy ledger 2.0.0 to production eu-west at 10%"
        ]
    );

    // With canary traffic: rolling back 3.0.0's canary only returns its traffic to the stable deployment.
    let file = fleet_file(&kustomize_settings(&repo, true), &steps);
    fleet::apply(&app.db, &parse("fleet.toml", &file).expect("valid"), test_now() + Duration::days(2))
        .await
        .expect("apply");
    register_build(&app, "ledger", "3.0.0", '3', "1.0").await;
    let third = run_train(&app, 2, regressing).await;
    assert_eq!(server::runtime::load(&app.db, &third).await.expect("state").phase.to_string(), "rolled_back");
    git(&checkout, &["pull", "--quiet"]);
    let stable = kustomize(&checkout, "clusters/eu-west/production/ledger");
    assert!(
        stable.contains(&format!("ghcr.io/acme/ledger@sha256:{}", "1".repeat(64))),
        "stable still runs 1.0.0:\n{stable}"
    );
    assert_eq!(weights(&stable), [("ledger".into(), 100), ("ledger-canary".into(), 0)]);
    let subjects = git(&checkout, &["log", "-2", "--format=%s"]);
    assert_eq!(
        subjects.lines().collect::<Vec<_>>(),
        [
            "railyard: roll back ledger 3.0.0 in production eu-west (all traffic to stable)",
            "railyard: deploy ledger 3.0.0 to production eu-west at 10%"
        ]
    );
}
on_both_backends!(a_rollback_restores_the_previous_digest_or_takes_the_canarys_traffic_away);

fn payload(train: &str, step: &str, weight: u8, region: &str, version: &str, digit: char) -> ReleasePayload {
    ReleasePayload {
        action: "deploy".into(),
        train_id: train.into(),
        definition: "payments-daily".into(),
        step: ReleaseStep {
            index: 0,
            name: step.into(),
            environment: server::engine::Environment::Production,
            weight,
            region: Some(region.into()),
        },
        artifacts: vec![ReleasedArtifact {
            service: "ledger".into(),
            version: version.into(),
            digest: format!("sha256:{}", digit.to_string().repeat(64)),
        }],
        restore: vec![],
    }
}

fn settings(repo: &str) -> GitopsSettings {
    let file = fleet_file(&kustomize_settings(repo, true), &[("canary", 5, "eu-west"), ("all", 100, "eu-west")]);
    let fleet = parse("fleet.toml", &file).expect("valid");
    fleet.trains[0].gitops.clone().expect("gitops settings")
}

#[tokio::test]
async fn concurrent_trains_keep_each_others_edits_and_a_retry_commits_nothing() {
    let root = tempfile::tempdir().expect("temp dir");
    let repo = deploy_repository(root.path());
    let settings = settings(&repo);
    let deployer = GitopsDeployer;
    // Three trains push to the same branch at once; the ones refused rebase and push again.
    let (a, b, c) = (
        payload("train-a", "eu-west canary", 5, "eu-west", "1.1.0", 'a'),
        payload("train-b", "us-east canary", 25, "us-east", "1.2.0", 'b'),
        payload("train-c", "ap-south", 100, "ap-south", "1.3.0", 'c'),
    );
    let (first, second, third) = tokio::join!(
        deployer.release(&settings, "train-a:deploy:0", &a),
        deployer.release(&settings, "train-b:deploy:0", &b),
        deployer.release(&settings, "train-c:deploy:0", &c),
    );
    let pushed = [first.expect("a lands"), second.expect("b lands"), third.expect("c lands")];
    assert!(pushed.iter().all(|p| p.committed));
    let checkout = root.path().join("checkout");
    git(root.path(), &["clone", "--quiet", &repo, checkout.to_str().expect("utf-8 path")]);
    assert_eq!(git(&checkout, &["rev-list", "--count", "HEAD"]).trim(), "4", "three commits on top of the seed");
    let rendered = |overlay: &str| kustomize(&checkout, overlay);
    assert_eq!(
        weights(&rendered("clusters/eu-west/production/ledger")),
        [("ledger".into(), 95), ("ledger-canary".into(), 5)]
    );
    assert!(rendered("clusters/eu-west/production/ledger-canary").contains(&"a".repeat(64)));
    assert_eq!(
        weights(&rendered("clusters/us-east/production/ledger")),
        [("ledger".into(), 75), ("ledger-canary".into(), 25)]
    );
    assert!(rendered("clusters/us-east/production/ledger-canary").contains(&"b".repeat(64)));
    assert!(rendered("clusters/ap-south/production/ledger").contains(&"c".repeat(64)));

    // A retry of a release that landed (say, after a crash before it was recorded) finds its commit.
    let more = payload("train-d", "eu-west", 100, "eu-west", "1.4.0", 'd');
    deployer.release(&settings, "train-d:deploy:1", &more).await.expect("d lands");
    let again = deployer.release(&settings, "train-a:deploy:0", &a).await.expect("retry");
    assert_eq!(again, server::integrations::gitops::Pushed { revision: pushed[0].revision.clone(), committed: false });
    git(&checkout, &["pull", "--quiet"]);
    assert_eq!(git(&checkout, &["rev-list", "--count", "HEAD"]).trim(), "5", "the retry made no commit");
}

#[tokio::test]
async fn a_release_that_cannot_be_written_says_which_file_and_commits_nothing() {
    let root = tempfile::tempdir().expect("temp dir");
    let repo = deploy_repository(root.path());
    let settings = settings(&repo);
    let unknown_region = payload("train-a", "eu-central", 100, "eu-central", "1.1.0", 'a');
    let error = GitopsDeployer.release(&settings, "train-a:deploy:0", &unknown_region).await.expect_err("no overlay");
    assert!(
        error.to_string().starts_with("clusters/eu-central/production/ledger/kustomization.yaml: does not exist"),
        "{error}"
    );
    let checkout = root.path().join("checkout");
    git(root.path(), &["clone", "--quiet", &repo, checkout.to_str().expect("utf-8 path")]);
    assert_eq!(git(&checkout, &["rev-list", "--count", "HEAD"]).trim(), "1");
}

async fn a_helm_train_writes_the_values_file_railyard_owns_at_each_step(backend: Backend) {
    let root = tempfile::tempdir().expect("temp dir");
    let repo = deploy_repository(root.path());
    let helm = gitops_table(&repo, true, "controller = \"none\"\nedit = \"helm\"\ndigest_key = \"image.sha\"\n");
    let file = fleet_file(&helm, &[("eu-west canary", 10, "eu-west"), ("eu-west", 100, "eu-west")]);
    let app = spawn_app(backend, false).await;
    fleet::apply(&app.db, &parse("fleet.toml", &file).expect("valid"), test_now()).await.expect("apply");
    register_build(&app, "ledger", "1.20", '1', "1.0").await;
    let train = run_train(&app, 0, SimulatedMetrics::default()).await;
    assert_eq!(server::runtime::load(&app.db, &train).await.expect("state").phase.to_string(), "completed");

    let checkout = root.path().join("checkout");
    git(root.path(), &["clone", "--quiet", &repo, checkout.to_str().expect("utf-8 path")]);
    let values = |revision: &str, directory: &str| {
        git(&checkout, &["show", &format!("{revision}:clusters/eu-west/production/{directory}/values-railyard.yaml")])
    };
    let digest = format!("sha256:{}", "1".repeat(64));
    let expected = format!("image:\n  repository: ghcr.io/acme/ledger\n  tag: \"1.20\"\n  sha: \"{digest}\"\n");
    let canary = values("HEAD~1", "ledger-canary");
    assert!(canary.starts_with("# Managed by Railyard") && canary.ends_with(&expected), "{canary}");
    assert!(
        git(&checkout, &["show", "HEAD~1:clusters/eu-west/production/ledger/httproute.yaml"]).contains("weight: 10")
    );
    let stable = values("HEAD", "ledger");
    assert!(stable.ends_with(&expected), "the version stays the string \"1.20\":\n{stable}");
    let subjects = git(&checkout, &["log", "-2", "--format=%s"]);
    assert_eq!(
        subjects.lines().collect::<Vec<_>>(),
        [
            "railyard: deploy ledger 1.20 to production eu-west at 100%",
            "railyard: deploy ledger 1.20 to production eu-west at 10%"
        ]
    );
}
on_both_backends!(a_helm_train_writes_the_values_file_railyard_owns_at_each_step);
