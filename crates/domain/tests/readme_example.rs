//! The README's "Kubernetes with Argo CD or Flux" example is a trains-as-code
//! file that applies: it is parsed here as written.

use railyard_domain::gitops::{Controller, Edit};
use railyard_domain::manifest::parse;

const README: &str = include_str!("../../../README.md");

/// The first ```toml block after `heading`.
fn example_after(heading: &str) -> &'static str {
    let section = &README[README.find(heading).expect("the section exists")..];
    let start = section.find("```toml\n").expect("a toml block") + "```toml\n".len();
    let end = section[start..].find("```").expect("the block ends");
    &section[start..start + end]
}

#[test]
fn the_kubernetes_example_in_the_readme_is_a_valid_file() {
    let fleet =
        parse("README.md", example_after("## Kubernetes with Argo CD or Flux")).expect("the README's example parses");
    let train = &fleet.trains[0];
    assert_eq!(train.deployer, "gitops");
    let regions: Vec<Option<&str>> = train.rollout.iter().map(|s| s.region.as_deref()).collect();
    assert_eq!(regions, [Some("eu-west"), Some("eu-west"), Some("us-east")]);
    let gitops = train.gitops.as_ref().expect("gitops settings");
    assert_eq!(gitops.edit, Edit::Kustomize { image_name: None });
    assert!(gitops.traffic.is_some());
    assert!(matches!(gitops.controller, Controller::ArgoCd { .. }));
}
