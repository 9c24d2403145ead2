//! Roles from the identity provider: each `[[role_mapping]]` grants a role
//! (everywhere or in one domain) to whoever signs in with a claim holding a
//! value, e.g. `groups` containing `payments-release`. Pure.

use serde_json::{Map, Value};

use crate::roles::{Binding, Role};

/// The claim read when a mapping names none.
pub const DEFAULT_CLAIM: &str = "groups";
/// The value that matches everyone who signs in with the provider.
pub const ANYONE: &str = "*";

/// One `[[role_mapping]]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleMapping {
    /// The ID token claim read (a string or a list of strings).
    pub claim: String,
    /// The value the claim must hold, or [`ANYONE`].
    pub value: String,
    pub role: Role,
    /// `None`: every domain.
    pub domain: Option<String>,
}

impl RoleMapping {
    /// Whether `claims` (an ID token's) hold this mapping's value.
    pub fn matches(&self, claims: &Map<String, Value>) -> bool {
        if self.value == ANYONE {
            return true;
        }
        match claims.get(&self.claim) {
            Some(Value::String(held)) => *held == self.value,
            Some(Value::Array(held)) => held.iter().any(|v| v.as_str() == Some(self.value.as_str())),
            _ => false,
        }
    }

    /// The binding it grants.
    pub fn binding(&self) -> Binding {
        Binding { role: self.role, domain: self.domain.clone() }
    }
}

/// The roles `claims` grant under `mappings`: sorted, each once.
pub fn granted(mappings: &[RoleMapping], claims: &Map<String, Value>) -> Vec<Binding> {
    let mut bindings: Vec<Binding> = mappings.iter().filter(|m| m.matches(claims)).map(RoleMapping::binding).collect();
    bindings.sort_by(|a, b| (a.role.as_str(), &a.domain).cmp(&(b.role.as_str(), &b.domain)));
    bindings.dedup();
    bindings
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn mapping(claim: &str, value: &str, role: Role, domain: Option<&str>) -> RoleMapping {
        RoleMapping { claim: claim.into(), value: value.into(), role, domain: domain.map(str::to_owned) }
    }

    fn claims(value: Value) -> Map<String, Value> {
        value.as_object().cloned().expect("an object")
    }

    #[test]
    fn a_group_in_the_claim_grants_its_roles_and_nothing_else_does() {
        let mappings = [
            mapping("groups", "payments-release", Role::ReleaseManager, Some("payments")),
            mapping("groups", "payments-release", Role::Viewer, None),
            mapping("groups", "leadership", Role::Viewer, None),
            mapping("department", "security", Role::Approver, None),
        ];
        let paula = claims(json!({ "groups": ["payments-release", "unmapped"], "department": "finance" }));
        assert_eq!(
            granted(&mappings, &paula),
            [
                Binding { role: Role::ReleaseManager, domain: Some("payments".into()) },
                Binding { role: Role::Viewer, domain: None }
            ]
        );
        let vera = claims(json!({ "groups": ["leadership"], "department": "security" }));
        assert_eq!(
            granted(&mappings, &vera),
            [Binding { role: Role::Approver, domain: None }, Binding { role: Role::Viewer, domain: None }],
            "one viewer binding however many mappings grant it; a plain string claim matches too"
        );
        assert!(granted(&mappings, &claims(json!({ "groups": "payments" }))).is_empty());
        assert!(granted(&mappings, &claims(json!({ "groups": [1, true] }))).is_empty());
        assert!(granted(&mappings, &claims(json!({}))).is_empty(), "no claim, no role");
    }

    #[test]
    fn the_anyone_value_grants_its_role_to_everyone_who_signs_in() {
        let mappings = [mapping("groups", ANYONE, Role::Viewer, None)];
        assert_eq!(granted(&mappings, &claims(json!({}))), [Binding { role: Role::Viewer, domain: None }]);
    }
}
