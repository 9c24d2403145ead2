//! API contracts a candidate provides and requires, and the check behind
//! the `api_contract` gate (seed F3). Pure.
//!
//! A contract is `name@version`, e.g. `ledger-api@2`. A provider lists every
//! version it serves; a consumer names the version it needs, exactly
//! (`ledger-api@2`) or as a semver range (`ledger-api@>=2.1, <3`,
//! `ledger-api@^2`, `ledger-api@~2.3`, `ledger-api@2.*`; a provided `2` reads
//! as 2.0.0, `2.3` as 2.3.0). After a train
//! each service runs either its candidate on the train or what production
//! runs now; every requirement must be met by some service in that world.
//! A candidate that declares no contracts is taken to keep its service's
//! production declarations (teams that do not use contracts are never blocked).

use std::fmt;

use crate::text::Text;
use semver::{Version, VersionReq};
use serde::{Deserialize, Serialize};

/// What an artifact declares.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Contracts {
    /// Contract versions it serves, e.g. `["ledger-api@1", "ledger-api@2"]`.
    #[serde(default)]
    pub provides: Vec<Text>,
    /// Contract versions it needs someone to serve, e.g. `["ledger-api@2"]` or
    /// `["ledger-api@>=2.1, <3"]`.
    #[serde(default)]
    pub requires: Vec<Text>,
}

impl Contracts {
    /// Checks every entry is `name@version`; the message names the first bad one.
    pub fn validate(&self) -> Result<(), String> {
        for (field, list) in [("provides", &self.provides), ("requires", &self.requires)] {
            if list.len() > 100 {
                return Err(format!("`contracts.{field}` may hold at most 100 entries"));
            }
            for (index, entry) in list.iter().enumerate() {
                let valid = if field == "provides" { split(entry).is_some() } else { requirement(entry).is_some() };
                if !valid {
                    let expected = if field == "provides" {
                        "name@version, e.g. \"ledger-api@2\""
                    } else {
                        "name@version or name@range, e.g. \"ledger-api@2\" or \"ledger-api@>=2.1, <3\""
                    };
                    return Err(format!("`contracts.{field}[{index}]` \"{entry}\" must be {expected}"));
                }
            }
        }
        Ok(())
    }

    /// The stored form (JSON).
    pub fn parse_stored(text: &str) -> Self {
        serde_json::from_str(text).unwrap_or_default()
    }

    /// Whether it declares nothing.
    pub fn is_empty(&self) -> bool {
        self.provides.is_empty() && self.requires.is_empty()
    }
}

/// `name@version` split, both parts labels.
fn split(entry: &str) -> Option<(&str, &str)> {
    let (name, version) = entry.split_once('@')?;
    (is_label(name) && is_label(version)).then_some((name, version))
}

/// Non-empty, at most 100 characters, letters, digits, `-`, `_` and `.` only.
fn is_label(part: &str) -> bool {
    !part.is_empty() && part.len() <= 100 && part.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

/// The version a requirement wants.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Wanted {
    /// Exactly this label.
    Exact(String),
    /// Any semver version in the range.
    Range(VersionReq),
}

/// A requirement split into its contract's name and what version it wants.
fn requirement(entry: &str) -> Option<(&str, Wanted)> {
    if let Some((name, version)) = split(entry) {
        return Some((name, Wanted::Exact(version.to_owned())));
    }
    let (name, range) = entry.split_once('@')?;
    let ranged = range.len() <= 100 && (range.starts_with(['^', '~', '<', '>', '=']) || range.contains('*'));
    if !is_label(name) || !ranged {
        return None;
    }
    Some((name, Wanted::Range(VersionReq::parse(range).ok()?)))
}

/// A provided version as semver, read leniently: `2` is 2.0.0, `2.3` is 2.3.0, a leading `v` is dropped.
fn lenient(version: &str) -> Option<Version> {
    let bare = version.strip_prefix('v').unwrap_or(version);
    let padded = match bare.split('.').count() {
        1 => format!("{bare}.0.0"),
        2 => format!("{bare}.0"),
        _ => bare.to_owned(),
    };
    Version::parse(&padded).ok()
}

/// Whether the provided contract (`name@version`) meets `required`.
fn meets(provided: &str, required: &str) -> bool {
    let (Some((name, version)), Some((wanted_name, wanted))) = (split(provided), requirement(required)) else {
        return false;
    };
    name == wanted_name
        && match wanted {
            Wanted::Exact(exact) => version == exact,
            Wanted::Range(range) => lenient(version).is_some_and(|v| range.matches(&v)),
        }
}

/// Where a party of the check runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// On the train being checked.
    Train,
    /// In production now, not replaced by the train.
    Production,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Train => "in this train",
            Self::Production => "in production",
        })
    }
}

/// A service's version in the world after the train.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    pub service: String,
    pub version: String,
    pub place: Place,
    pub contracts: Contracts,
}

impl Party {
    fn label(&self) -> String {
        format!("{} {} ({})", self.service, self.version, self.place)
    }
}

/// A requirement nobody meets, with what is offered under that contract's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub consumer: Party,
    pub requirement: String,
    /// Parties providing some version of the same contract, with those versions.
    pub offered: Vec<(Party, Vec<String>)>,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} requires {}", self.consumer.label(), self.requirement)?;
        let name = requirement(&self.requirement).map_or("", |(name, _)| name);
        if self.offered.is_empty() {
            return write!(f, ", but no service in this train or in production provides {name}");
        }
        let offers: Vec<String> = self
            .offered
            .iter()
            .map(|(party, versions)| format!("{} provides {}", party.label(), versions.join(", ")))
            .collect();
        write!(f, ", but {}", offers.join("; "))
    }
}

/// The world after a train: the train's parties replace production's for
/// their services (keeping production's declarations when they declare none).
pub fn after_train(train: Vec<Party>, production: Vec<Party>) -> Vec<Party> {
    let mut world = train;
    for party in world.iter_mut().filter(|p| p.contracts.is_empty()) {
        if let Some(running) = production.iter().find(|p| p.service == party.service) {
            party.contracts = running.contracts.clone();
        }
    }
    for party in production {
        if !world.iter().any(|p| p.service == party.service) {
            world.push(party);
        }
    }
    world
}

/// Every requirement in `world` that no party provides.
pub fn mismatches(world: &[Party]) -> Vec<Mismatch> {
    let mut found = Vec::new();
    for consumer in world {
        for requirement in &consumer.contracts.requires {
            if world.iter().any(|p| p.contracts.provides.iter().any(|c| meets(c, requirement))) {
                continue;
            }
            let name = self::requirement(requirement).map_or("", |(name, _)| name);
            let offered = world
                .iter()
                .filter_map(|p| {
                    let versions: Vec<String> = p
                        .contracts
                        .provides
                        .iter()
                        .filter(|c| split(c).is_some_and(|(n, _)| n == name))
                        .map(|c| c.to_string())
                        .collect();
                    (!versions.is_empty()).then(|| (p.clone(), versions))
                })
                .collect();
            found.push(Mismatch { consumer: consumer.clone(), requirement: requirement.to_string(), offered });
        }
    }
    found
}

/// The mismatches the candidate of `service` is party to: it requires what
/// nobody provides, or it stops providing what production's version did and
/// someone still requires.
pub fn blamed_on<'a>(service: &str, previous: Option<&Contracts>, found: &'a [Mismatch]) -> Vec<&'a Mismatch> {
    found
        .iter()
        .filter(|m| {
            m.consumer.service == service
                || previous.is_some_and(|contracts| contracts.provides.iter().any(|c| meets(c, &m.requirement)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Text {
        Text::new(s).expect("printable")
    }

    fn party(service: &str, version: &str, place: Place, provides: &[&str], requires: &[&str]) -> Party {
        let list = |items: &[&str]| items.iter().map(|s| text(s)).collect();
        Party {
            service: service.into(),
            version: version.into(),
            place,
            contracts: Contracts { provides: list(provides), requires: list(requires) },
        }
    }

    #[test]
    fn declarations_must_be_name_at_version() {
        assert!(Contracts { provides: vec![text("ledger-api@2")], requires: vec![] }.validate().is_ok());
        for bad in ["ledger-api", "@2", "ledger-api@", "ledger api@2"] {
            let error = Contracts { provides: vec![], requires: vec![text(bad)] }.validate().expect_err(bad);
            assert!(error.contains("contracts.requires[0]") && error.contains(bad), "{error}");
        }
    }

    #[test]
    fn a_consumer_needing_a_version_nobody_serves_is_named_with_what_is_offered() {
        let train = vec![party("checkout", "5.0.0", Place::Train, &[], &["ledger-api@3"])];
        let production = vec![
            party("ledger", "2.1.0", Place::Production, &["ledger-api@1", "ledger-api@2"], &[]),
            party("checkout", "4.9.0", Place::Production, &[], &["ledger-api@2"]),
        ];
        let world = after_train(train, production);
        assert_eq!(world.len(), 2, "the train's checkout replaces production's");
        let found = mismatches(&world);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].to_string(),
            "checkout 5.0.0 (in this train) requires ledger-api@3, \
             but ledger 2.1.0 (in production) provides ledger-api@1, ledger-api@2"
        );
        assert_eq!(blamed_on("checkout", None, &found).len(), 1);
        assert!(blamed_on("ledger", Some(&world[1].contracts), &found).is_empty(), "ledger did not drop @3");
    }

    #[test]
    fn a_provider_dropping_a_version_production_still_needs_is_to_blame() {
        let previous = Contracts { provides: vec![text("ledger-api@1"), text("ledger-api@2")], requires: vec![] };
        let train = vec![party("ledger", "3.0.0", Place::Train, &["ledger-api@3"], &[])];
        let production = vec![
            party("ledger", "2.1.0", Place::Production, &["ledger-api@1", "ledger-api@2"], &[]),
            party("checkout", "4.9.0", Place::Production, &[], &["ledger-api@2"]),
        ];
        let found = mismatches(&after_train(train, production));
        assert_eq!(
            found.iter().map(ToString::to_string).collect::<Vec<_>>(),
            vec!["checkout 4.9.0 (in production) requires ledger-api@2, but ledger 3.0.0 (in this train) provides ledger-api@3"]
        );
        assert_eq!(blamed_on("ledger", Some(&previous), &found).len(), 1);
        assert!(blamed_on("search", None, &found).is_empty());
    }

    #[test]
    fn a_range_is_met_by_any_provided_version_inside_it() {
        let consumer = |requires: &str| party("checkout", "5.0.0", Place::Train, &[], &[requires]);
        let ledger = |provides: &[&str]| party("ledger", "2.4.0", Place::Production, provides, &[]);
        for (requires, provides, met) in [
            ("ledger-api@>=2.1, <3", &["ledger-api@2.3"][..], true),
            ("ledger-api@>=2.1, <3", &["ledger-api@2.0", "ledger-api@3"][..], false),
            ("ledger-api@^2", &["ledger-api@2"][..], true),
            ("ledger-api@~2.3", &["ledger-api@2.4.1"][..], false),
            ("ledger-api@2.*", &["ledger-api@v2.9.0"][..], true),
            ("ledger-api@^2", &["wallet-api@2"][..], false),
            // An exact requirement stays exact: 2 is not 2.0.
            ("ledger-api@2", &["ledger-api@2.0"][..], false),
            // Labels that are not versions never fall in a range.
            ("ledger-api@>=1", &["ledger-api@beta"][..], false),
        ] {
            let found = mismatches(&[consumer(requires), ledger(provides)]);
            assert_eq!(found.is_empty(), met, "{requires} against {provides:?}");
        }
        let found = mismatches(&[consumer("ledger-api@>=2.1, <3"), ledger(&["ledger-api@3.0.0"])]);
        assert_eq!(
            found[0].to_string(),
            "checkout 5.0.0 (in this train) requires ledger-api@>=2.1, <3, \
             but ledger 2.4.0 (in production) provides ledger-api@3.0.0"
        );
        let previous = Contracts { provides: vec![text("ledger-api@2.4")], requires: vec![] };
        assert_eq!(blamed_on("ledger", Some(&previous), &found).len(), 1, "ledger stopped serving a 2.x");
    }

    #[test]
    fn ranges_are_for_requirements_and_must_parse() {
        let requires = |entry: &str| Contracts { provides: vec![], requires: vec![text(entry)] }.validate();
        let provides = |entry: &str| Contracts { provides: vec![text(entry)], requires: vec![] }.validate();
        for good in ["ledger-api@>=2.1, <3", "ledger-api@^2", "ledger-api@~2.3", "ledger-api@2.*", "ledger-api@2"] {
            assert!(requires(good).is_ok(), "{good}");
        }
        for bad in ["ledger-api@>=two", "ledger-api@2 || 3", "ledger api@^2", "@^2", "ledger-api@"] {
            let error = requires(bad).expect_err(bad);
            assert!(error.contains("name@version or name@range"), "{error}");
        }
        let error = provides("ledger-api@^2").expect_err("a provider serves versions, not ranges");
        assert!(error.contains("contracts.provides[0]") && error.contains("must be name@version"), "{error}");
    }

    #[test]
    fn met_requirements_and_missing_providers_read_plainly() {
        let world = vec![
            party("ledger", "2.1.0", Place::Train, &["ledger-api@2"], &[]),
            party("checkout", "4.9.0", Place::Production, &[], &["ledger-api@2"]),
        ];
        assert!(mismatches(&world).is_empty());
        let lonely = vec![party("push", "1.0.0", Place::Train, &[], &["profile-api@1"])];
        assert_eq!(
            mismatches(&lonely)[0].to_string(),
            "push 1.0.0 (in this train) requires profile-api@1, but no service in this train or in production provides profile-api"
        );
    }
}
