//! Roles people hold, scopes tokens carry, and the permissions handlers ask for.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What a person may do. Roles do not include one another: an admin who
/// should also operate trains holds both roles, so separation of duties
/// can be kept by simply not granting the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads everything that is not secret.
    Viewer,
    /// Operates trains: hold, resume, promote, abort, roll back, emergency trains, freezes, waivers.
    ReleaseManager,
    /// Approves or rejects candidates and break-glass requests.
    Approver,
    /// Manages users, roles, tokens, train definitions and integrations.
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::ReleaseManager, Role::Approver, Role::Admin];

    /// The role named `text` (`viewer`, `release_manager`, `approver`, `admin`).
    pub fn parse(text: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|role| role.as_str() == text)
            .ok_or_else(|| format!("unknown role \"{text}\"; roles are viewer, release_manager, approver and admin"))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::ReleaseManager => "release_manager",
            Role::Approver => "approver",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role held everywhere (`domain: None`) or for one domain (by name).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Binding {
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
}

impl Binding {
    /// `release_manager@payments` for a domain binding, `admin` for a global one.
    pub fn label(&self) -> String {
        match &self.domain {
            Some(domain) => format!("{}@{domain}", self.role),
            None => self.role.to_string(),
        }
    }

    /// Whether this binding grants `role` in `domain` (`None`: a global action).
    pub fn grants(&self, role: Role, domain: Option<&str>) -> bool {
        self.role == role
            && match (&self.domain, domain) {
                (None, _) => true,
                (Some(own), Some(wanted)) => own == wanted,
                (Some(_), None) => false,
            }
    }
}

/// What an API token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Scope {
    #[serde(rename = "read")]
    Read,
    #[serde(rename = "artifacts:write")]
    ArtifactsWrite,
    #[serde(rename = "checks:write")]
    ChecksWrite,
    #[serde(rename = "incidents:write")]
    IncidentsWrite,
    /// Reads calendar feeds (`.ics`) and nothing else: the only kind of token
    /// a URL may carry, since calendar apps cannot send headers.
    #[serde(rename = "feed:read")]
    FeedRead,
    /// What a CI pipeline does: register artifacts and report their checks
    /// and scans (`artifacts:write` and `checks:write` together).
    #[serde(rename = "ci")]
    Ci,
}

impl Scope {
    pub const ALL: [Scope; 6] =
        [Scope::Read, Scope::ArtifactsWrite, Scope::ChecksWrite, Scope::IncidentsWrite, Scope::FeedRead, Scope::Ci];

    /// The scope named `text`.
    pub fn parse(text: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|scope| scope.as_str() == text).ok_or_else(|| {
            format!(
                "unknown scope \"{text}\"; scopes are read, artifacts:write, checks:write, incidents:write, feed:read and ci"
            )
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::ArtifactsWrite => "artifacts:write",
            Scope::ChecksWrite => "checks:write",
            Scope::IncidentsWrite => "incidents:write",
            Scope::FeedRead => "feed:read",
            Scope::Ci => "ci",
        }
    }

    /// Whether a token with this scope may do `permission` (in its domains).
    pub fn carries(self, permission: Permission) -> bool {
        permission.scope() == Some(self)
            || matches!(
                (self, permission),
                (Scope::Read, Permission::ReadFeed)
                    | (Scope::Ci, Permission::RegisterArtifacts | Permission::ReportChecks)
            )
    }
}

/// What a handler is about to do. Domain-bound permissions are checked
/// against the domain of the train, service or artifact concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Read trains, calendars, gates, metrics summaries.
    Read,
    /// Operate a train, declare a freeze, waive a gate.
    Operate,
    /// Approve or reject a candidate or a break-glass request.
    Approve,
    /// Users, roles, tokens, embed origins, the audit log.
    Administer,
    /// Create embed links (admins and release managers).
    ShareEmbeds,
    /// Register build artifacts.
    RegisterArtifacts,
    /// Report test and scan results.
    ReportChecks,
    /// Report incidents from a paging tool.
    ReportIncidents,
    /// Read the calendar feed (`.ics`): everyone who reads, and feed tokens.
    ReadFeed,
}

impl Permission {
    /// The roles that carry this permission for people (none: only tokens have it).
    pub fn roles(self) -> &'static [Role] {
        match self {
            Permission::Read | Permission::ReadFeed => &Role::ALL,
            Permission::Operate | Permission::RegisterArtifacts => &[Role::ReleaseManager],
            // Test and scan results are CI's evidence: only CI tokens report them.
            Permission::ReportChecks => &[],
            Permission::ReportIncidents => &[Role::ReleaseManager],
            Permission::Approve => &[Role::Approver],
            Permission::Administer => &[Role::Admin],
            Permission::ShareEmbeds => &[Role::Admin, Role::ReleaseManager],
        }
    }

    /// The token scope that carries this permission, if tokens may have it at all.
    pub fn scope(self) -> Option<Scope> {
        match self {
            Permission::Read => Some(Scope::Read),
            Permission::RegisterArtifacts => Some(Scope::ArtifactsWrite),
            Permission::ReportChecks => Some(Scope::ChecksWrite),
            Permission::ReportIncidents => Some(Scope::IncidentsWrite),
            Permission::ReadFeed => Some(Scope::FeedRead),
            Permission::Operate | Permission::Approve | Permission::Administer | Permission::ShareEmbeds => None,
        }
    }

    /// Words for refusals: "operate trains in payments".
    pub fn describe(self) -> &'static str {
        match self {
            Permission::Read => "read",
            Permission::Operate => "operate trains",
            Permission::Approve => "approve",
            Permission::Administer => "administer Railyard",
            Permission::ShareEmbeds => "create embed links",
            Permission::RegisterArtifacts => "register artifacts",
            Permission::ReportChecks => "report checks",
            Permission::ReportIncidents => "report incidents",
            Permission::ReadFeed => "read the calendar feed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_domain_binding_grants_only_its_domain() {
        let payments = Binding { role: Role::ReleaseManager, domain: Some("payments".into()) };
        assert!(payments.grants(Role::ReleaseManager, Some("payments")));
        assert!(!payments.grants(Role::ReleaseManager, Some("search")));
        assert!(!payments.grants(Role::ReleaseManager, None));
        assert!(!payments.grants(Role::Approver, Some("payments")));
        let global = Binding { role: Role::ReleaseManager, domain: None };
        assert!(global.grants(Role::ReleaseManager, Some("search")));
    }

    #[test]
    fn names_round_trip_and_unknown_names_are_explained() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Ok(role));
        }
        for scope in Scope::ALL {
            assert_eq!(Scope::parse(scope.as_str()), Ok(scope));
        }
        assert!(Role::parse("root").expect_err("unknown").contains("release_manager"));
    }
}
