use super::*;

fn template(text: &str) -> Template {
    Template::parse(text).expect("valid")
}

fn settings(traffic: bool) -> GitopsSettings {
    GitopsSettings {
        repository: "/srv/git/deploy.git".into(),
        branch: "main".into(),
        path: template("clusters/{region}/{environment}/{service}"),
        image: template("ghcr.io/acme/{service}"),
        edit: Edit::Kustomize { image_name: None },
        traffic: traffic.then(|| Traffic {
            canary_path: template("clusters/{region}/{environment}/{service}-canary"),
            route: template("clusters/{region}/{environment}/{service}/httproute.yaml"),
            route_name: template("{service}"),
            namespace: None,
            gateway: "public".into(),
            stable_backend: template("{service}"),
            canary_backend: template("{service}-canary"),
            port: 8080,
        }),
        controller: Controller::None,
        sync_timeout_ms: 600_000,
    }
}

const NEW: Build<'static> = Build { service: "ledger", version: "1.5.0", digest: "sha256:new" };
const OLD: Build<'static> = Build { service: "ledger", version: "1.4.0", digest: "sha256:old" };

fn release<'a>(rollback: bool, weight: u8, builds: &'a [Build<'a>], restore: &'a [Build<'a>]) -> Release<'a> {
    Release { rollback, environment: Environment::Production, region: Some("eu-west"), weight, builds, restore }
}

fn summary(changes: &[Change]) -> Vec<(String, String)> {
    changes
        .iter()
        .map(|c| {
            let what = match &c.edit {
                FileEdit::Image(image) => format!("{}@{}", image.repository, image.digest),
                FileEdit::Weights { route, canary_weight } => format!("{} {canary_weight}% canary", route.name),
            };
            (c.path.clone(), what)
        })
        .collect()
}

#[test]
fn a_canary_step_sets_the_canary_image_and_the_route_weight() {
    let changes = settings(true).plan(&release(false, 5, &[NEW], &[])).expect("planned");
    assert_eq!(
        summary(&changes),
        [
            (
                "clusters/eu-west/production/ledger-canary/kustomization.yaml".into(),
                "ghcr.io/acme/ledger@sha256:new".into()
            ),
            ("clusters/eu-west/production/ledger/httproute.yaml".into(), "ledger 5% canary".into()),
        ]
    );
}

#[test]
fn the_full_step_moves_the_stable_deployment_and_all_traffic_to_it() {
    let changes = settings(true).plan(&release(false, 100, &[NEW], &[])).expect("planned");
    assert_eq!(
        summary(&changes),
        [
            ("clusters/eu-west/production/ledger/kustomization.yaml".into(), "ghcr.io/acme/ledger@sha256:new".into()),
            ("clusters/eu-west/production/ledger/httproute.yaml".into(), "ledger 0% canary".into()),
        ]
    );
}

#[test]
fn rolling_back_a_canary_only_takes_its_traffic_away() {
    let changes = settings(true).plan(&release(true, 5, &[NEW], &[])).expect("planned");
    assert_eq!(
        summary(&changes),
        [("clusters/eu-west/production/ledger/httproute.yaml".into(), "ledger 0% canary".into())]
    );
}

#[test]
fn rolling_back_a_full_step_restores_the_previous_build() {
    let changes = settings(true).plan(&release(true, 100, &[NEW], &[OLD])).expect("planned");
    assert_eq!(summary(&changes)[0].1, "ghcr.io/acme/ledger@sha256:old");
    let error = settings(false).plan(&release(true, 100, &[NEW], &[])).expect_err("refused");
    assert!(error.contains("nothing to roll back to"), "{error}");
}

#[test]
fn without_traffic_every_step_updates_the_service_in_place() {
    let changes = settings(false).plan(&release(false, 5, &[NEW], &[])).expect("planned");
    assert_eq!(
        summary(&changes),
        [("clusters/eu-west/production/ledger/kustomization.yaml".into(), "ghcr.io/acme/ledger@sha256:new".into())]
    );
}

#[test]
fn helm_writes_the_values_file_in_the_services_directory() {
    let helm = GitopsSettings {
        edit: Edit::Helm { values_file: "values-railyard.yaml".into(), keys: HelmKeys::default() },
        ..settings(false)
    };
    let changes = helm.plan(&release(false, 100, &[NEW], &[])).expect("planned");
    assert_eq!(changes[0].path, "clusters/eu-west/production/ledger/values-railyard.yaml");
    let written = helm.apply(&changes[0], None).expect("written");
    assert!(written.contains("digest: \"sha256:new\""), "{written}");
}

#[test]
fn a_step_without_a_region_cannot_fill_a_region_path() {
    let no_region = Release { region: None, ..release(false, 5, &[NEW], &[]) };
    let error = settings(true).plan(&no_region).expect_err("refused");
    assert!(error.contains("has no region"), "{error}");
    assert!(settings(false).uses_region());
}

#[test]
fn each_service_names_its_controller_object_once() {
    let argo = GitopsSettings {
        controller: Controller::ArgoCd {
            url: "https://argocd.example".into(),
            token_env: "ARGOCD_TOKEN".into(),
            application: template("{service}-{region}"),
            app_namespace: None,
        },
        ..settings(false)
    };
    let names = argo.objects(&["ledger", "wallet", "ledger"], Environment::Production, Some("eu-west")).expect("named");
    assert_eq!(names, ["ledger-eu-west", "wallet-eu-west"]);
    assert!(settings(false).objects(&["ledger"], Environment::Production, None).expect("none").is_empty());
}
