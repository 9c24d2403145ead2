//! The caller of a request, as the authentication middleware found it.

use serde::Serialize;

use super::{Binding, Permission, Role, Scope};

/// Who is calling. Handlers take it from the request's extensions and ask
/// [`Principal::require`] before doing anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Principal {
    /// No credentials.
    Anonymous,
    /// A person signed in through a session. Until they replace a one-time
    /// or reset password (`must_change_password`) their roles are not in force.
    User { id: String, name: String, session_id: String, bindings: Vec<Binding>, must_change_password: bool },
    /// A CI system with a bearer token; `domains` empty means every domain.
    Token { id: String, name: String, scopes: Vec<Scope>, domains: Vec<String> },
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// 401: no (valid) credentials.
    #[error("sign in or send an API token to do this")]
    Unauthenticated,
    /// 403: valid credentials without the permission.
    #[error("{0}")]
    Forbidden(String),
}

impl Principal {
    /// The actor as timelines and the audit log name it: `user:ada`, `token:ci`, `anonymous`.
    pub fn actor(&self) -> String {
        match self {
            Principal::Anonymous => "anonymous".to_owned(),
            Principal::User { name, .. } => format!("user:{name}"),
            Principal::Token { name, .. } => format!("token:{name}"),
        }
    }

    /// The signed-in person's name, if this is a person.
    pub fn user_name(&self) -> Option<&str> {
        match self {
            Principal::User { name, .. } => Some(name),
            _ => None,
        }
    }

    /// Whether the caller may do `permission` in `domain` (`None`: not tied to one domain).
    pub fn can(&self, permission: Permission, domain: Option<&str>) -> bool {
        match self {
            Principal::Anonymous => false,
            Principal::User { must_change_password: true, .. } => false,
            Principal::User { bindings, .. } => {
                if matches!(permission, Permission::Read | Permission::ReadFeed) {
                    return !bindings.is_empty();
                }
                let domain = if permission == Permission::Administer { None } else { domain };
                permission.roles().iter().any(|role| bindings.iter().any(|binding| binding.grants(*role, domain)))
            }
            Principal::Token { scopes, domains, .. } => {
                // A `read` token also reads the feed, a `ci` token registers and reports.
                let scoped = scopes.iter().any(|scope| scope.carries(permission));
                // A domain-limited token reads only what belongs to its domains: views
                // of every domain (`None`) are closed to it unless filtered for it.
                let in_domain = match domain {
                    _ if domains.is_empty() => true,
                    Some(domain) => domains.iter().any(|own| own == domain),
                    None => false,
                };
                scoped && in_domain
            }
        }
    }

    /// Whether the caller may do `permission` in at least one domain: the
    /// check before looking up the object whose domain decides.
    pub fn can_somewhere(&self, permission: Permission) -> bool {
        match self {
            Principal::Anonymous => false,
            Principal::User { must_change_password: true, .. } => false,
            Principal::User { bindings, .. } => match permission {
                Permission::Read | Permission::ReadFeed => !bindings.is_empty(),
                Permission::Administer => self.can(permission, None),
                _ => permission.roles().iter().any(|role| bindings.iter().any(|binding| binding.role == *role)),
            },
            Principal::Token { scopes, .. } => scopes.iter().any(|scope| scope.carries(permission)),
        }
    }

    /// The domains a domain-limited token is confined to (`None`: every domain).
    pub fn limited_to(&self) -> Option<&[String]> {
        match self {
            Principal::Token { domains, .. } if !domains.is_empty() => Some(domains),
            _ => None,
        }
    }

    /// Whether this is a token that can only read calendar feeds.
    pub fn is_feed_token(&self) -> bool {
        matches!(self, Principal::Token { scopes, .. } if scopes.iter().all(|s| *s == Scope::FeedRead) && !scopes.is_empty())
    }

    /// [`Self::can_somewhere`] as a result.
    pub fn require_somewhere(&self, permission: Permission) -> Result<(), Denied> {
        if self.can_somewhere(permission) {
            Ok(())
        } else {
            self.require(permission, None)
        }
    }

    /// [`Self::can`] as a result with a message a person understands.
    pub fn require(&self, permission: Permission, domain: Option<&str>) -> Result<(), Denied> {
        if self.can(permission, domain) {
            return Ok(());
        }
        if *self == Principal::Anonymous {
            return Err(Denied::Unauthenticated);
        }
        if matches!(self, Principal::User { must_change_password: true, .. }) {
            return Err(Denied::Forbidden(
                "choose your own password first (on /account); until then you can do nothing else".into(),
            ));
        }
        if let (Some(limits), None, Principal::Token { scopes, .. }) = (self.limited_to(), domain, self) {
            if scopes.iter().any(|scope| scope.carries(permission)) {
                return Err(Denied::Forbidden(format!(
                    "{} is limited to domain {}; it cannot read views of every domain: ask for one of its domains \
                     (e.g. ?domain={}) or use a token for every domain",
                    self.actor(),
                    limits.join(", "),
                    limits[0]
                )));
            }
        }
        let place = domain.map(|domain| format!(" in domain \"{domain}\"")).unwrap_or_default();
        let needs = match self {
            Principal::Token { .. } => match permission.scope() {
                Some(scope) => format!("a token with scope {}{}", scope.as_str(), place),
                None => "a person's sign-in; API tokens cannot do this".to_owned(),
            },
            _ if permission.roles().is_empty() => match permission.scope() {
                Some(scope) => format!("an API token with scope {}; people cannot do this themselves", scope.as_str()),
                None => "a permission no role carries".to_owned(),
            },
            _ => {
                let roles: Vec<&str> = permission.roles().iter().map(|role| role.as_str()).collect();
                format!("the {} role{}", roles.join(" or "), place)
            }
        };
        Err(Denied::Forbidden(format!("{} may not {}{place}: this needs {needs}", self.actor(), permission.describe())))
    }

    /// The roles a person holds anywhere, for deciding what the UI offers.
    pub fn roles(&self) -> Vec<Role> {
        match self {
            Principal::User { bindings, .. } => {
                let mut roles: Vec<Role> = bindings.iter().map(|binding| binding.role).collect();
                roles.sort_by_key(|role| role.as_str());
                roles.dedup();
                roles
            }
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(bindings: &[(Role, Option<&str>)]) -> Principal {
        Principal::User {
            id: "u1".into(),
            name: "ada".into(),
            session_id: "s1".into(),
            must_change_password: false,
            bindings: bindings
                .iter()
                .map(|(role, domain)| Binding { role: *role, domain: domain.map(str::to_owned) })
                .collect(),
        }
    }

    #[test]
    fn a_domain_release_manager_operates_only_their_domain() {
        let ada = user(&[(Role::ReleaseManager, Some("payments"))]);
        assert!(ada.can(Permission::Operate, Some("payments")));
        assert!(ada.can(Permission::Read, None));
        let refusal = ada.require(Permission::Operate, Some("search")).expect_err("other domain");
        assert_eq!(
            refusal.to_string(),
            "user:ada may not operate trains in domain \"search\": this needs the release_manager role in domain \"search\""
        );
    }

    #[test]
    fn a_domain_admin_binding_does_not_make_an_admin() {
        assert!(!user(&[(Role::Admin, Some("payments"))]).can(Permission::Administer, Some("payments")));
        assert!(user(&[(Role::Admin, None)]).can(Permission::Administer, None));
    }

    #[test]
    fn tokens_act_only_within_scope_and_domains() {
        let ci = Principal::Token {
            id: "t1".into(),
            name: "ci".into(),
            scopes: vec![Scope::ArtifactsWrite],
            domains: vec!["payments".into()],
        };
        assert!(ci.can(Permission::RegisterArtifacts, Some("payments")));
        assert!(!ci.can(Permission::RegisterArtifacts, Some("search")));
        assert!(!ci.can(Permission::ReportChecks, Some("payments")));
        assert!(!ci.can(Permission::Operate, Some("payments")));
        assert!(!ci.can(Permission::Read, None));
    }

    #[test]
    fn a_person_with_a_one_time_password_can_do_nothing_until_they_change_it() {
        let mut admin = user(&[(Role::Admin, None)]);
        if let Principal::User { must_change_password, .. } = &mut admin {
            *must_change_password = true;
        }
        assert!(!admin.can(Permission::Administer, None) && !admin.can(Permission::Read, None));
        let refusal = admin.require(Permission::Read, None).expect_err("refused");
        assert!(refusal.to_string().contains("choose your own password first"));
    }

    #[test]
    fn anonymous_callers_are_asked_to_sign_in() {
        assert_eq!(Principal::Anonymous.require(Permission::Read, None), Err(Denied::Unauthenticated));
    }
}
