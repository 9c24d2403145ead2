//! Checking `[[role_mapping]]`: a known role, a claim name and value, and
//! no mapping twice (domains are checked against the store by `apply`).

use std::collections::HashSet;

use super::check::Checker;
use super::raw::RawRoleMapping;
use crate::role_mapping::{RoleMapping, DEFAULT_CLAIM};
use crate::roles::Role;

impl Checker<'_> {
    pub(super) fn role_mapping(&mut self, raw: RawRoleMapping) -> Option<RoleMapping> {
        let at = format!("role_mapping \"{}\"", raw.group);
        let value = raw.group.trim().to_owned();
        let claim = raw.claim.as_deref().map(str::trim).unwrap_or(DEFAULT_CLAIM).to_owned();
        let mut ok = true;
        if value.is_empty() || value.len() > 256 || value.chars().any(char::is_control) {
            self.problem(&at, "group", "the claim's value: 1-256 characters (\"*\" matches everyone)");
            ok = false;
        }
        if claim.is_empty() || claim.len() > 64 || !claim.chars().all(|c| c.is_ascii_graphic()) {
            self.problem(&at, "claim", "an ID token claim name, e.g. \"groups\" or \"roles\"");
            ok = false;
        }
        let role = Role::parse(raw.role.trim()).map_err(|message| self.problem(&at, "role", message)).ok();
        let domain = raw.domain.map(|d| d.trim().to_owned());
        if domain.as_deref() == Some("") {
            self.problem(&at, "domain", "name a domain, or leave `domain` out for every domain");
            ok = false;
        }
        if role == Some(Role::Admin) && domain.is_some() {
            self.problem(&at, "domain", "the admin role is global; it cannot be limited to a domain");
            ok = false;
        }
        Some(RoleMapping { claim, value, role: role?, domain }).filter(|_| ok)
    }

    /// The same grant twice is a mistake (likely a copy meant for another domain).
    pub(super) fn repeated_mappings(&mut self, mappings: &[RoleMapping]) {
        let mut seen = HashSet::new();
        for m in mappings {
            if !seen.insert((&m.claim, &m.value, m.role, &m.domain)) {
                let scope = m.domain.as_deref().map_or("every domain".to_owned(), |d| format!("domain \"{d}\""));
                self.problem(
                    &format!("role_mapping \"{}\"", m.value),
                    "role",
                    format!("{} for {scope} is already mapped from {} \"{}\"", m.role, m.claim, m.value),
                );
            }
        }
    }
}
