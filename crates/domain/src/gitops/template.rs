//! Paths and object names with placeholders: `{service}`, `{environment}`
//! and `{region}`, filled in for each service at each rollout step.

use serde::{Deserialize, Serialize};

use crate::engine::Environment;

/// The placeholders a template may use.
pub const PLACEHOLDERS: [&str; 3] = ["service", "environment", "region"];

/// A checked template, e.g. `clusters/{region}/{environment}/{service}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Template(String);

/// What fills a template's placeholders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place<'a> {
    pub service: &'a str,
    pub environment: Environment,
    /// The step's region; a template naming `{region}` needs one.
    pub region: Option<&'a str>,
}

impl Template {
    /// Checks that every `{...}` names a known placeholder and braces pair up.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut rest = text;
        while let Some(open) = rest.find(['{', '}']) {
            if rest[open..].starts_with('}') {
                return Err(format!("\"{text}\" has a `}}` without its `{{`"));
            }
            let after = &rest[open + 1..];
            let close = after.find('}').ok_or_else(|| format!("\"{text}\" has a `{{` without its `}}`"))?;
            let name = &after[..close];
            if !PLACEHOLDERS.contains(&name) {
                return Err(format!(
                    "\"{text}\" uses {{{name}}}; the placeholders are {{service}}, {{environment}} and {{region}}"
                ));
            }
            rest = &after[close + 1..];
        }
        if text.trim().is_empty() {
            return Err("is empty".into());
        }
        Ok(Self(text.to_owned()))
    }

    /// A template for a path inside the repository: relative, no `..`, no empty segment.
    pub fn path(text: &str) -> Result<Self, String> {
        let template = Self::parse(text.trim_end_matches('/'))?;
        let bad = template.0.starts_with('/')
            || template.0.split('/').any(|segment| segment.is_empty() || segment == "." || segment == "..")
            || template.0.contains('\\');
        if bad {
            return Err(format!("\"{text}\" must be a relative path inside the repository, without `..`"));
        }
        Ok(template)
    }

    /// Whether it names `{region}`.
    pub fn uses_region(&self) -> bool {
        self.0.contains("{region}")
    }

    /// As written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The template filled in for `place`.
    pub fn render(&self, place: Place<'_>) -> Result<String, String> {
        let mut out = self.0.replace("{service}", place.service).replace("{environment}", place.environment.as_str());
        if self.uses_region() {
            let region = place.region.ok_or_else(|| {
                format!(
                    "\"{}\" names {{region}} but the {} step of {} has no region",
                    self.0, place.environment, place.service
                )
            })?;
            out = out.replace("{region}", region);
        }
        Ok(out)
    }
}

/// Whether `name` can stand in a path or a Kubernetes object name: letters, digits, `-`, `_`, `.`.
pub fn is_safe_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(region: Option<&str>) -> Place<'_> {
        Place { service: "ledger", environment: Environment::Production, region }
    }

    #[test]
    fn placeholders_are_filled_in_for_each_service_and_region() {
        let template = Template::path("clusters/{region}/{environment}/{service}/").expect("valid");
        assert_eq!(template.render(place(Some("eu-west"))).expect("valid"), "clusters/eu-west/production/ledger");
        let error = template.render(place(None)).expect_err("no region");
        assert!(error.contains("has no region"), "{error}");
        let plain = Template::parse("{service}-{environment}").expect("valid");
        assert_eq!(plain.render(place(None)).expect("valid"), "ledger-production");
    }

    #[test]
    fn unknown_placeholders_and_escaping_paths_are_refused() {
        assert!(Template::parse("apps/{team}").expect_err("refused").contains("uses {team}"));
        assert!(Template::parse("apps/{service").expect_err("refused").contains("without its `}`"));
        assert!(Template::parse("apps/service}").expect_err("refused").contains("without its `{`"));
        for bad in ["/etc/{service}", "apps/../{service}", "apps//{service}", "./apps"] {
            assert!(Template::path(bad).is_err(), "{bad}");
        }
        assert!(is_safe_name("eu-west-1") && !is_safe_name("eu west") && !is_safe_name("../x"));
    }
}
