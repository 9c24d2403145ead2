use chrono::Duration;

use super::*;
use crate::train_kind::TrainKind;

const VALID: &str = r##"
        [[domain]]
        name = "payments"
        colour = "#0072b2"

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

        [[freeze]]
        name = "year-end"
        time_zone = "America/New_York"
        starts = "2026-12-20"
        ends = "2027-01-03"
    "##;

fn problems(text: &str) -> Vec<String> {
    parse("fleet.toml", text).expect_err("should be refused").iter().map(ToString::to_string).collect()
}

#[test]
fn a_valid_file_parses_with_its_windows_and_colours() {
    let fleet = parse("fleet.toml", VALID).expect("valid");
    assert_eq!(fleet.domains[0].colour, "#0072B2");
    assert_eq!(fleet.trains[0].planning_window_ms, 3 * 86_400_000);
    let FreezeSchedule::Once { start, end } = fleet.freezes[0].schedule else { panic!("one-off freeze") };
    assert_eq!(end - start, Duration::days(15), "an end date is the last frozen day");
}

#[test]
fn an_invalid_rrule_names_the_train_and_field() {
    let text = VALID.replace("FREQ=WEEKLY;BYDAY=TU;BYHOUR=3", "FREQ=WEEKLY;BYDAY=FUNDAY");
    let found = problems(&text);
    assert_eq!(found.len(), 1);
    assert!(found[0].starts_with("fleet.toml: train \"payments-weekly\": field `cadence`: "), "{found:?}");
}

#[test]
fn an_unknown_time_zone_is_named() {
    let found = problems(&VALID.replace("Europe/Berlin", "Europe/Atlantis"));
    assert_eq!(found, vec!["fleet.toml: train \"payments-weekly\": field `time_zone`: \"Europe/Atlantis\" is not an IANA time zone name like \"Europe/Berlin\"".to_owned()]);
}

#[test]
fn a_zero_length_window_is_refused() {
    let found = problems(&VALID.replace("\"2h\"", "\"0m\""));
    assert_eq!(found.len(), 1);
    assert!(found[0].contains("field `cutover_window`") && found[0].contains("zero"), "{found:?}");
}

#[test]
fn slo_queries_come_in_pairs_and_name_their_window() {
    let service = |slo: &str| format!("{VALID}\n[[service]]\nname = \"fx\"\ndomain = \"payments\"\nslo = {slo}\n");
    let text = service(
        r#"{ target = 0.999, window = "28d", good = 'sum(increase(ok{service="{service}"}[{window}]))', total = 'sum(increase(all[{window}]))' }"#,
    );
    let fleet = parse("fleet.toml", &text).expect("valid");
    let slo = fleet.services.iter().find(|s| s.name == "fx").and_then(|s| s.slo.clone()).expect("an SLO");
    assert_eq!(slo.good_query, r#"sum(increase(ok{service="{service}"}[{window}]))"#);
    let stored = serde_json::to_string(&slo).expect("JSON");
    assert_eq!(serde_json::from_str::<ServiceSlo>(&stored).ok(), Some(slo), "stored and read back");
    let older = serde_json::from_str::<ServiceSlo>(r#"{"target":0.999,"window_ms":2419200000}"#)
        .expect("an SLO stored before queries");
    assert!(older.good_query.is_empty());

    let found = problems(&service(r#"{ target = 0.999, window = "28d", good = 'x[{window}]' }"#));
    assert!(found[0].contains("field `slo.good`: `good` and `total` SLI queries go together"), "{found:?}");
    let found = problems(&service(r#"{ target = 0.999, window = "28d", good = 'x[5m]', total = 'y[{window}]' }"#));
    assert!(found[0].contains("field `slo.good`: must contain {window}"), "{found:?}");
}

#[test]
fn duplicate_names_are_refused() {
    let text = format!("{VALID}\n[[domain]]\nname = \"payments\"\n");
    assert!(problems(&text).iter().any(|p| p.contains("domain \"payments\": field `name`: another domain")));
}

#[test]
fn unknown_fields_and_syntax_errors_give_a_line() {
    let found = problems("[[domain]]\nname = \"x\"\ncolor = \"#000000\"\n");
    assert!(found[0].starts_with("fleet.toml: line 3, column 1: unknown field `color`"), "{found:?}");
}

const STEPS: &str = r#"
        [[train.step]]
        name = "staging"
        environment = "staging"
        weight = 100
        soak = "10m"

        [[train.step]]
        name = "canary"
        environment = "production"
        weight = 10
        soak = "30m"

        [[train.step]]
        name = "everyone"
        environment = "production"
        weight = 100
        soak = "0s"
    "#;

fn with_steps(steps: &str) -> String {
    VALID.replace("        [[freeze]]", &format!("{steps}\n        [[freeze]]"))
}

#[test]
fn a_train_declares_its_rollout_steps_or_gets_the_default_plan() {
    let fleet = parse("fleet.toml", &with_steps(STEPS)).expect("valid");
    let weights: Vec<u8> = fleet.trains[0].rollout.iter().map(|s| s.weight).collect();
    assert_eq!(weights, vec![100, 10, 100]);
    assert_eq!(fleet.trains[0].rollout[2].soak_ms, 0);
    let default = parse("fleet.toml", VALID).expect("valid");
    assert_eq!(default.trains[0].rollout.len(), 4);
    assert_eq!(default.trains[0].gates, vec!["tests".to_owned(), "security_scan".to_owned()]);
}

#[test]
fn a_rollout_can_go_region_by_region() {
    let regions = r#"
        [[train.step]]
        name = "canary 5% eu-west"
        environment = "production"
        weight = 5
        soak = "15m"
        region = "eu-west"

        [[train.step]]
        name = "eu-west"
        environment = "production"
        weight = 100
        soak = "15m"
        region = "eu-west"

        [[train.step]]
        name = "canary 5% us-east"
        environment = "production"
        weight = 5
        soak = "15m"
        region = "us-east"

        [[train.step]]
        name = "us-east"
        environment = "production"
        weight = 100
        soak = "0s"
        region = "us-east"
"#;
    let fleet = parse("fleet.toml", &with_steps(regions)).expect("valid");
    let plan: Vec<(u8, Option<&str>)> =
        fleet.trains[0].rollout.iter().map(|s| (s.weight, s.region.as_deref())).collect();
    assert_eq!(plan, vec![(5, Some("eu-west")), (100, Some("eu-west")), (5, Some("us-east")), (100, Some("us-east"))]);
    let shrinking = regions.replace(
        "weight = 100\n        soak = \"15m\"\n        region = \"eu-west\"",
        "weight = 3\n        soak = \"15m\"\n        region = \"eu-west\"",
    );
    assert!(problems(&with_steps(&shrinking)).iter().any(|p| p.contains("only grow within a region")));
}

#[test]
fn rollout_plans_that_cannot_work_are_refused() {
    let shrinking = STEPS
        .replace("weight = 10\n", "weight = 60\n")
        .replace("\"everyone\"", "\"half\"")
        .replace("weight = 100\n        soak = \"0s\"", "weight = 50\n        soak = \"0s\"");
    assert!(problems(&with_steps(&shrinking)).iter().any(|p| p.contains("production weights may only grow")));
    let same_region = STEPS.replace("weight = 10\n", "weight = 60\n").replace(
        "weight = 100\n        soak = \"0s\"",
        "weight = 100\n        soak = \"0s\"\n        region = \"eu-west\"",
    );
    assert!(parse("fleet.toml", &with_steps(&same_region)).is_ok(), "60% everywhere, then 100% in eu-west");
    let unfinished = STEPS.replace("weight = 100\n        soak = \"0s\"", "weight = 90\n        soak = \"0s\"");
    assert!(problems(&with_steps(&unfinished)).iter().any(|p| p.contains("100% of production traffic")));
    let bad_gate = VALID.replace("cutover_window = \"2h\"", "cutover_window = \"2h\"\n        gates = [\"vibes\"]");
    assert!(problems(&bad_gate).iter().any(|p| p.contains("field `gates`")));
    let late_planning = VALID.replace("cutover_window = \"2h\"", "cutover_window = \"2h\"\n        preflight = \"4d\"");
    assert!(problems(&late_planning).iter().any(|p| p.contains("field `preflight`: must be shorter")));
}

#[test]
fn prometheus_judged_trains_need_metrics_that_tell_canary_from_baseline() {
    let provider = "cutover_window = \"2h\"\n        metrics_provider = \"prometheus\"\n        prometheus_url = \"http://prom:9090\"";
    let without_metrics = VALID.replace("cutover_window = \"2h\"", provider);
    assert!(problems(&without_metrics).iter().any(|p| p.contains("at least one [[train.metric]]")));
    let metric = "\n        [[train.metric]]\n        name = \"p95\"\n        query = 'latency{track=\"canary\"}'\n";
    let same_track = with_steps(&format!("{metric}{STEPS}")).replace("cutover_window = \"2h\"", provider);
    assert!(problems(&same_track).iter().any(|p| p.contains("must contain {track}")), "{:?}", problems(&same_track));
    let good = with_steps(&format!("{}{STEPS}", metric.replace("\"canary\"", "\"{track}\"")))
        .replace("cutover_window = \"2h\"", provider);
    let fleet = parse("fleet.toml", &good).expect("valid");
    assert_eq!(
        fleet.trains[0].metrics[0].query_for("baseline", "ledger", "production", None),
        "latency{track=\"baseline\"}"
    );
    assert!(!fleet.trains[0].metrics[0].dry_run, "metrics are scored unless they say otherwise");
    let on_probation = good.replace("name = \"p95\"", "name = \"p95\"\n        dry_run = true");
    assert!(parse("fleet.toml", &on_probation).expect("valid").trains[0].metrics[0].dry_run);
    let critical = on_probation.replace("dry_run = true", "dry_run = true\n        critical = true");
    assert!(problems(&critical).iter().any(|p| p.contains("cannot be critical")), "{:?}", problems(&critical));
}

#[test]
fn every_problem_in_a_file_is_reported_at_once() {
    let text = VALID.replace("\"3d\"", "\"never\"").replace("Europe/Berlin", "Nowhere");
    assert_eq!(problems(&text).len(), 2);
}

#[test]
fn kinds_of_train_are_configured_by_name_with_their_own_gates() {
    let kinds =
        format!("{VALID}\n[[kind]]\nname = \"hotfix\"\ngates = [\"tests\"]\napproval = true\nmonitoring = \"2h\"\n");
    let fleet = parse("fleet.toml", &kinds).expect("valid");
    assert_eq!(
        fleet.kinds,
        vec![KindPolicy {
            kind: TrainKind::Hotfix,
            gates: Some(vec!["tests".into()]),
            monitoring_ms: Some(2 * 3_600_000),
            approval: true,
        }]
    );
    for (entry, expected) in [
        ("name = \"canary\"", "\"canary\" is not a kind of train"),
        ("name = \"rehearsal\"\nmonitoring = \"1h\"", "nothing to monitor"),
        ("name = \"regular\"\ngates = [\"tests\"]", "set them there"),
        ("name = \"emergency\"\ngates = [\"smoke\"]", "\"smoke\" is not a gate; available: observability"),
    ] {
        let text = format!("{VALID}\n[[kind]]\n{entry}\n");
        assert!(problems(&text).iter().any(|p| p.contains(expected)), "{entry}: {:?}", problems(&text));
    }
}

/// `VALID` with a region-by-region rollout and `[train.gitops]` holding `gitops`.
fn with_gitops(gitops: &str) -> String {
    let steps = r#"
        [[train.step]]
        name = "eu-west canary"
        environment = "production"
        weight = 5
        soak = "10m"
        region = "eu-west"
        [[train.step]]
        name = "eu-west"
        environment = "production"
        weight = 100
        soak = "10m"
        region = "eu-west"
    "#;
    VALID.replace("[[freeze]]", &format!("{steps}\n[train.gitops]\n{gitops}\n[[freeze]]"))
}

const GITOPS: &str = r#"
        repository = "/srv/git/deploy.git"
        branch = "main"
        path = "clusters/{region}/{environment}/{service}"
        image = "ghcr.io/acme/{service}"
        controller = "none"
"#;

#[test]
fn a_gitops_table_makes_a_gitops_deployer_with_its_layout() {
    let traffic = "[train.gitops.traffic]\ncanary_path = \"clusters/{region}/{environment}/{service}-canary\"\ngateway = \"public\"\nport = 8080\n";
    let fleet = parse("fleet.toml", &with_gitops(&format!("{GITOPS}{traffic}"))).expect("valid");
    let train = &fleet.trains[0];
    assert_eq!(train.deployer, "gitops", "the table alone chooses the deployer");
    let gitops = train.gitops.as_ref().expect("settings");
    assert_eq!(gitops.edit, crate::gitops::Edit::Kustomize { image_name: None });
    let traffic = gitops.traffic.as_ref().expect("traffic");
    assert_eq!(traffic.route.as_str(), "clusters/{region}/{environment}/{service}/httproute.yaml");
    assert_eq!(traffic.canary_backend.as_str(), "{service}-canary");
    let helm =
        parse("fleet.toml", &with_gitops(&format!("{GITOPS}edit = \"helm\"\ndigest_key = \"\"\n"))).expect("valid");
    let crate::gitops::Edit::Helm { values_file, keys } = &helm.trains[0].gitops.as_ref().expect("valid").edit else {
        panic!("helm")
    };
    assert_eq!(
        (values_file.as_str(), keys.tag.as_str(), keys.digest.as_str()),
        ("values-railyard.yaml", "image.tag", "")
    );
}

#[test]
fn gitops_settings_that_cannot_work_are_refused_by_field() {
    let at = "fleet.toml: train \"payments-weekly\": field ";
    let cases = [
        (GITOPS.replace("{environment}", "{env}"), "`gitops.path`: \"clusters/{region}/{env}/{service}\" uses {env}"),
        (GITOPS.replace("clusters/", "../clusters/"), "`gitops.path`: \"../clusters/{region}/{environment}/{service}\" must be a relative path"),
        (GITOPS.replace("\"main\"", "\"--force\""), "`gitops.branch`: name the branch"),
        (format!("{GITOPS}edit = \"kustomise\"\n"), "unknown variant `kustomise`, expected `kustomize` or `helm`"),
        (format!("{GITOPS}values_file = \"v.yaml\"\n"), "`gitops.values_file`: `values_file` and the `*_key`s are only for edit = \"helm\""),
        (format!("{GITOPS}edit = \"helm\"\ntag_key = \"\"\ndigest_key = \"\"\n"), "`gitops.tag_key`: set `tag_key` or `digest_key`"),
        (format!("{GITOPS}[train.gitops.traffic]\ncanary_path = \"clusters/{{region}}/{{environment}}/{{service}}\"\ngateway = \"public\"\nport = 80\n"), "`gitops.traffic.canary_path`: must differ from `path`"),
    ];
    for (gitops, expected) in cases {
        let found = problems(&with_gitops(&gitops));
        assert!(found.iter().any(|p| p.contains(expected)), "expected {expected:?} in {found:?}");
        assert!(found.iter().all(|p| p.starts_with(at) || p.contains("unknown variant")), "{found:?}");
    }
    let no_region = with_gitops(GITOPS).replace("region = \"eu-west\"", "");
    let found = problems(&no_region.replace("weight = 5", "weight = 5\nregion = \"eu west\""));
    assert!(found.iter().any(|p| p.contains("step \"eu-west\" has no `region`")), "{found:?}");
    assert!(found.iter().any(|p| p.contains("\"eu west\" goes into paths")), "{found:?}");
    let table_without_deployer =
        with_gitops(GITOPS).replace("cutover_window = \"2h\"", "cutover_window = \"2h\"\ndeployer = \"webhook\"");
    assert!(problems(&table_without_deployer)
        .iter()
        .any(|p| p.contains("[train.gitops] is only for deployer = \"gitops\"")));
    let deployer_without_table =
        VALID.replace("cutover_window = \"2h\"", "cutover_window = \"2h\"\ndeployer = \"gitops\"");
    assert!(problems(&deployer_without_table).iter().any(|p| p.contains("needs a [train.gitops] table")));
}

#[test]
fn the_controller_is_argo_cd_flux_or_said_to_be_none() {
    let without = GITOPS.replace("controller = \"none\"\n", "");
    let argo = "[train.gitops.argocd]\nurl = \"https://argocd.example.com/\"\ntoken_env = \"ARGOCD_TOKEN\"\napplication = \"{service}-{region}\"\n";
    let fleet = parse("fleet.toml", &with_gitops(&format!("{without}sync_timeout = \"15m\"\n{argo}"))).expect("valid");
    let gitops = fleet.trains[0].gitops.as_ref().expect("settings");
    assert_eq!(gitops.sync_timeout_ms, 15 * 60_000);
    let crate::gitops::Controller::ArgoCd { url, application, .. } = &gitops.controller else { panic!("argo cd") };
    assert_eq!((url.as_str(), application.as_str()), ("https://argocd.example.com", "{service}-{region}"));
    let flux = "[train.gitops.flux]\nsecret_env = \"FLUX_TOKEN\"\nkind = \"HelmRelease\"\nname = \"{service}\"\n";
    let fleet = parse("fleet.toml", &with_gitops(&format!("{without}{flux}"))).expect("valid");
    let controller = &fleet.trains[0].gitops.as_ref().expect("settings").controller;
    assert!(matches!(controller, crate::gitops::Controller::Flux { kind: crate::gitops::FluxKind::HelmRelease, .. }));
    for (gitops, expected) in [
        (without.clone(), "say which one controller applies the repository"),
        (format!("{without}{argo}{flux}"), "say which one controller applies the repository"),
        (format!("{GITOPS}{argo}"), "say which one controller applies the repository"),
        (format!("{without}{}", argo.replace("ARGOCD_TOKEN", "argo token")), "`gitops.argocd.token_env`"),
        (format!("{without}{}", flux.replace("{service}", "{team}")), "`gitops.flux.name`"),
        (format!("{without}sync_timeout = \"soon\"\n{argo}"), "`gitops.sync_timeout`"),
    ] {
        let found = problems(&with_gitops(&gitops));
        assert!(found.iter().any(|p| p.contains(expected)), "expected {expected:?} in {found:?}");
    }
}

#[test]
fn a_metric_naming_the_region_needs_a_region_on_every_step() {
    let metrics = "metrics_provider = \"prometheus\"\nprometheus_url = \"http://prometheus:9090\"\n\n\
        [[train.metric]]\nname = \"latency\"\nquery = 'latency{track=\"{track}\",region=\"{region}\"}'\n";
    let steps = |second_region: &str| {
        format!(
            "{metrics}\n[[train.step]]\nname = \"eu-west canary\"\nenvironment = \"production\"\nweight = 5\nsoak = \"10m\"\nregion = \"eu-west\"\n\
             [[train.step]]\nname = \"everywhere\"\nenvironment = \"production\"\nweight = 100\nsoak = \"10m\"\n{second_region}"
        )
    };
    let valid = VALID
        .replace("cutover_window = \"2h\"", &format!("cutover_window = \"2h\"\n{}", steps("region = \"us-east\"")));
    let fleet = parse("fleet.toml", &valid).expect("every step names its region");
    assert_eq!(
        fleet.trains[0].metrics[0].query_for("canary", "ledger", "production", Some("us-east")),
        "latency{track=\"canary\",region=\"us-east\"}"
    );
    let missing = VALID.replace("cutover_window = \"2h\"", &format!("cutover_window = \"2h\"\n{}", steps("")));
    let found = problems(&missing);
    assert!(
        found.iter().any(|p| p.contains("metric \"latency\" names {region}, but step \"everywhere\" has no `region`")),
        "{found:?}"
    );
}

#[test]
fn declared_regions_are_marked_critical_and_steps_may_name_only_them() {
    let regions = "[[region]]\nname = \"eu-west\"\ncritical = true\ndescription = \"Frankfurt\"\n\n[[region]]\nname = \"us-east\"\n";
    let fleet = parse("fleet.toml", &format!("{regions}{}", with_gitops(GITOPS))).expect("valid");
    let declared: Vec<(&str, bool)> = fleet.regions.iter().map(|r| (r.name.as_str(), r.critical)).collect();
    assert_eq!(declared, [("eu-west", true), ("us-east", false)]);
    let typo = format!(
        "{regions}{}",
        with_gitops(GITOPS)
            .replace("region = \"eu-west\"\n        [[train.step]]", "region = \"eu-wset\"\n        [[train.step]]")
    );
    let found = problems(&typo);
    assert!(
        found.iter().any(|p| p.contains(
            "step \"eu-west canary\" names region \"eu-wset\", which no [[region]] declares (eu-west, us-east)"
        )),
        "{found:?}"
    );
    let twice = format!("{regions}[[region]]\nname = \"eu-west\"\n{}", VALID);
    assert!(problems(&twice).iter().any(|p| p.contains("another region is already called \"eu-west\"")));
}

#[test]
fn a_train_s_alerting_reads_its_hold_threshold_and_expected_alerts_and_refuses_a_silence_matching_everything() {
    let alerting =
        |lines: &str| VALID.replace("cutover_window = \"2h\"\n", &format!("cutover_window = \"2h\"\n{lines}\n"));
    let text = with_steps(
        "        [[train.expected_alerts]]\n        matchers = ['alertname=\"KubePodCrashLooping\"', 'namespace=~\"pay.*\"']\n        comment = \"restarts\"\n",
    );
    let fleet = parse(
        "fleet.toml",
        &text.replace("cutover_window = \"2h\"\n", "cutover_window = \"2h\"\nalert_when_held = \"45m\"\n"),
    )
    .expect("valid");
    let settings = &fleet.trains[0].alerting;
    assert_eq!(settings.held_ms, Some(45 * 60_000));
    assert_eq!(settings.expected_alerts.len(), 1);
    assert_eq!(settings.expected_alerts[0].matchers[1].to_string(), "namespace=~\"pay.*\"");
    assert_eq!(settings.expected_alerts[0].comment, "restarts");

    let found = problems(&with_steps("        [[train.expected_alerts]]\n        matchers = ['namespace=~\".*\"']\n"));
    assert!(
        found.iter().any(|p| p.contains("expected_alerts[0].matchers") && p.contains("never match every alert")),
        "{found:?}"
    );
    let found = problems(&with_steps("        [[train.expected_alerts]]\n        matchers = ['1abc=\"x\"']\n"));
    assert!(found.iter().any(|p| p.contains("not a label name")), "{found:?}");
    let found = problems(&alerting("alert_when_held = \"soon\""));
    assert!(found.iter().any(|p| p.contains("alert_when_held")), "{found:?}");
}

#[test]
fn role_mappings_read_with_their_default_claim_and_refuse_unknown_roles_and_repeats() {
    let mappings =
        "[[role_mapping]]\ngroup = \"payments-release\"\nrole = \"release_manager\"\ndomain = \"payments\"\n\n\
                    [[role_mapping]]\nclaim = \"roles\"\ngroup = \"*\"\nrole = \"viewer\"\n";
    let fleet = parse("fleet.toml", &format!("{mappings}{VALID}")).expect("valid");
    let read: Vec<(&str, &str, &str, Option<&str>)> = fleet
        .role_mappings
        .iter()
        .map(|m| (m.claim.as_str(), m.value.as_str(), m.role.as_str(), m.domain.as_deref()))
        .collect();
    assert_eq!(
        read,
        [("groups", "payments-release", "release_manager", Some("payments")), ("roles", "*", "viewer", None)]
    );

    let unknown = problems(&format!("[[role_mapping]]\ngroup = \"ops\"\nrole = \"operator\"\n{VALID}"));
    assert!(
        unknown.iter().any(|p| p.contains("role_mapping \"ops\": field `role`: unknown role \"operator\"")),
        "{unknown:?}"
    );
    let twice = problems(&format!("{mappings}[[role_mapping]]\ngroup = \"payments-release\"\nrole = \"release_manager\"\ndomain = \"payments\"\n{VALID}"));
    assert!(
        twice.iter().any(|p| p
            .contains("release_manager for domain \"payments\" is already mapped from groups \"payments-release\"")),
        "{twice:?}"
    );
    let empty = problems(&format!("[[role_mapping]]\ngroup = \"\"\nrole = \"viewer\"\n{VALID}"));
    assert!(empty.iter().any(|p| p.contains("field `group`")), "{empty:?}");
    let typo = problems(&format!("[[role_mapping]]\ngroups = \"x\"\nrole = \"viewer\"\n{VALID}"));
    assert!(!typo.is_empty(), "unknown fields are refused");
}
