//! Canary traffic through the Gateway API: an `HTTPRoute` whose rules send
//! the step's weight to the canary backend and the rest to the stable one.
//! Railyard writes the route when it is missing; when a person wrote it, only
//! the two backends' weights change (matches, filters and other rules stay).

use yaml_rust2::yaml::Hash;
use yaml_rust2::Yaml;

use crate::yaml::{self, EditError};

/// One service's route, its names filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub name: String,
    pub namespace: Option<String>,
    /// The Gateway the route attaches to.
    pub gateway: String,
    pub stable: String,
    pub canary: String,
    pub port: u16,
}

const HEADER: &str = "# Managed by Railyard: each rollout step sets the backends' weights.\n";

/// The route at `path` sending `canary_weight`% to the canary and the rest to the stable backend.
pub fn set_weights(path: &str, existing: Option<&str>, route: &Route, canary_weight: u8) -> Result<String, EditError> {
    let canary_weight = i64::from(canary_weight.min(100));
    let mut document = match existing {
        Some(text) => yaml::load_mapping(path, text)?,
        None => new_route(route),
    };
    if document.get(&yaml::key("kind")).and_then(Yaml::as_str) != Some("HTTPRoute") {
        return Err(EditError::new(path, "is not an HTTPRoute"));
    }
    let rules = match document.get_mut(&yaml::key("spec")) {
        Some(Yaml::Hash(spec)) => match spec.get_mut(&yaml::key("rules")) {
            Some(Yaml::Array(rules)) => rules,
            _ => return Err(EditError::new(path, "has no `spec.rules` list")),
        },
        _ => return Err(EditError::new(path, "has no `spec`")),
    };
    let mut routed = false;
    for rule in rules.iter_mut() {
        let Yaml::Hash(rule) = rule else { continue };
        let Some(Yaml::Array(backends)) = rule.get_mut(&yaml::key("backendRefs")) else { continue };
        let named = |backend: &Yaml, name: &str| backend["name"].as_str() == Some(name);
        let Some(stable_at) = backends.iter().position(|b| named(b, &route.stable)) else { continue };
        routed = true;
        if !backends.iter().any(|b| named(b, &route.canary)) {
            let port = backends[stable_at]["port"].as_i64().unwrap_or(i64::from(route.port));
            backends.push(backend(&route.canary, port, 0));
        }
        for entry in backends.iter_mut() {
            let weight = if named(entry, &route.stable) {
                100 - canary_weight
            } else if named(entry, &route.canary) {
                canary_weight
            } else {
                continue;
            };
            if let Yaml::Hash(fields) = entry {
                fields.replace(yaml::key("weight"), Yaml::Integer(weight));
            }
        }
    }
    if !routed {
        return Err(EditError::new(path, format!("has no rule with a backendRef named \"{}\"", route.stable)));
    }
    Ok(format!("{HEADER}{}", yaml::dump(&Yaml::Hash(document))))
}

fn backend(name: &str, port: i64, weight: i64) -> Yaml {
    yaml::mapping([("name", yaml::text(name)), ("port", Yaml::Integer(port)), ("weight", Yaml::Integer(weight))])
}

fn new_route(route: &Route) -> Hash {
    let mut metadata = Hash::new();
    metadata.insert(yaml::key("name"), yaml::text(&route.name));
    if let Some(namespace) = &route.namespace {
        metadata.insert(yaml::key("namespace"), yaml::text(namespace));
    }
    let port = i64::from(route.port);
    let rule = yaml::mapping([(
        "backendRefs",
        Yaml::Array(vec![backend(&route.stable, port, 100), backend(&route.canary, port, 0)]),
    )]);
    let spec = yaml::mapping([
        ("parentRefs", Yaml::Array(vec![yaml::mapping([("name", yaml::text(&route.gateway))])])),
        ("rules", Yaml::Array(vec![rule])),
    ]);
    let Yaml::Hash(document) = yaml::mapping([
        ("apiVersion", yaml::text("gateway.networking.k8s.io/v1")),
        ("kind", yaml::text("HTTPRoute")),
        ("metadata", Yaml::Hash(metadata)),
        ("spec", spec),
    ]) else {
        unreachable!("a mapping")
    };
    document
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route() -> Route {
        Route {
            name: "ledger".into(),
            namespace: Some("payments".into()),
            gateway: "public".into(),
            stable: "ledger".into(),
            canary: "ledger-canary".into(),
            port: 8080,
        }
    }

    fn weights(text: &str) -> Vec<(String, i64)> {
        let document = yaml::load_mapping("r.yaml", text).expect("valid");
        let spec = &document[&yaml::key("spec")];
        spec["rules"]
            .as_vec()
            .into_iter()
            .flatten()
            .flat_map(|rule| rule["backendRefs"].as_vec().cloned().unwrap_or_default())
            .map(|b| (b["name"].as_str().unwrap_or_default().to_owned(), b["weight"].as_i64().unwrap_or(-1)))
            .collect()
    }

    #[test]
    fn a_new_route_splits_traffic_by_the_step_weight() {
        let written = set_weights("r.yaml", None, &route(), 5).expect("written");
        assert_eq!(weights(&written), [("ledger".into(), 95), ("ledger-canary".into(), 5)]);
        let document = yaml::load_mapping("r.yaml", &written).expect("valid");
        assert_eq!(document[&yaml::key("metadata")]["namespace"].as_str(), Some("payments"));
        assert_eq!(document[&yaml::key("spec")]["parentRefs"][0]["name"].as_str(), Some("public"));
        let full = set_weights("r.yaml", Some(&written), &route(), 100).expect("written");
        assert_eq!(weights(&full), [("ledger".into(), 0), ("ledger-canary".into(), 100)]);
    }

    #[test]
    fn a_persons_route_keeps_its_matches_and_other_rules() {
        let existing = "\
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: ledger}
spec:
  parentRefs: [{name: public}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /ledger}}]
    backendRefs: [{name: ledger, port: 9000}]
  - matches: [{path: {type: PathPrefix, value: /admin}}]
    backendRefs: [{name: admin, port: 80}]
";
        let written = set_weights("r.yaml", Some(existing), &route(), 50).expect("written");
        assert_eq!(
            weights(&written),
            [("ledger".into(), 50), ("ledger-canary".into(), 50), ("admin".into(), -1)],
            "the canary joins the ledger's rule on the stable's port; the admin rule is untouched"
        );
        let document = yaml::load_mapping("r.yaml", &written).expect("valid");
        let rule = &document[&yaml::key("spec")]["rules"][0];
        assert_eq!(rule["backendRefs"][1]["port"].as_i64(), Some(9000));
        assert_eq!(rule["matches"][0]["path"]["value"].as_str(), Some("/ledger"));
    }

    #[test]
    fn a_route_that_does_not_reach_the_service_is_refused() {
        let other = "kind: HTTPRoute\nspec:\n  rules:\n  - backendRefs: [{name: web, port: 80}]\n";
        let error = set_weights("r.yaml", Some(other), &route(), 5).expect_err("refused");
        assert_eq!(error.to_string(), "r.yaml: has no rule with a backendRef named \"ledger\"");
        assert_eq!(
            set_weights("r.yaml", Some("kind: Service\n"), &route(), 5).expect_err("refused").problem,
            "is not an HTTPRoute"
        );
    }
}
