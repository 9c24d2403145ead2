//! The admin and account pages over the same handlers as the HTTP API:
//! the pages call the handler functions themselves, so a check or an audit
//! record can never differ between the two.

use app::admin::{
    AccountCommand, AccountView, AdminCommand, AdminEmbedLink, AdminToken, AdminUser, AdminView, AuditLine, SessionLine,
};
use axum::extract::{Path, Query, State};
use axum::Json;

use crate::api::{self, ApiError, ApiState};
use crate::audit::Verification;
use crate::auth::{Binding, Caller, Permission, Role};
use crate::store;
use crate::time::rfc3339;

/// How many audit records the page lists.
const AUDIT_LINES: i64 = 50;

/// Everything the admin page shows.
pub async fn view(state: &ApiState, caller: &Caller) -> Result<AdminView, ApiError> {
    caller.require(Permission::Administer, None)?;
    let Json(users) = api::users::list(State(state.clone()), caller.clone()).await?;
    let Json(tokens) = api::tokens::list(State(state.clone()), caller.clone()).await?;
    let Json(origins) = api::embed::origins(State(state.clone()), caller.clone()).await?;
    let Json(links) = api::embed::links(State(state.clone()), caller.clone()).await?;
    let query = Query(api::audit::AuditQuery { limit: Some(AUDIT_LINES) });
    let Json(records) = api::audit::latest(State(state.clone()), caller.clone(), Ok(query)).await?;
    let mut conn = state.db.acquire().await?;
    let (audit_count, audit_head) = store::audit::head(&mut conn).await?;
    let mut rules = Vec::new();
    for domain in store::domains::list(&mut conn).await? {
        rules.push((domain.name, store::approvals::required(&mut conn, &domain.id).await?));
    }
    Ok(AdminView {
        users: users
            .into_iter()
            .map(|user| AdminUser {
                roles: user.roles.iter().map(binding_text).collect(),
                identities: user.identities,
                name: user.name,
                disabled: user.disabled,
                must_change_password: user.must_change_password,
            })
            .collect(),
        tokens: tokens
            .into_iter()
            .map(|token| AdminToken {
                id: token.id,
                name: token.name,
                scopes: token.scopes,
                domains: token.domains,
                expires_at: token.expires_at,
                revoked: token.revoked_at.is_some(),
                last_used_at: token.last_used_at,
            })
            .collect(),
        origins,
        embed_links: links
            .into_iter()
            .map(|link| AdminEmbedLink {
                panel: if link.params.is_empty() {
                    link.panel
                } else {
                    let params: Vec<String> = link.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    format!("{} ({})", link.panel, params.join(", "))
                },
                id: link.id,
                audience: link.audience,
                created_by: link.created_by,
                expires_at: link.expires_at,
                status: link.status,
            })
            .collect(),
        rules,
        audit_count,
        audit_head,
        audit: records
            .into_iter()
            .map(|record| AuditLine {
                seq: record.seq,
                at: rfc3339(record.at),
                actor: record.actor,
                action: record.action,
                object: record.object,
            })
            .collect(),
    })
}

/// Carries out an admin's change and says what happened.
pub async fn command(state: &ApiState, caller: &Caller, command: AdminCommand) -> Result<String, ApiError> {
    let (state, caller) = (State(state.clone()), caller.clone());
    Ok(match command {
        AdminCommand::CreateUser { name, password, roles } => {
            let request = api::users::NewUser { name, password, roles: parse_roles(&roles)? };
            let (_, Json(user)) = api::users::create(state, caller, Ok(Json(request))).await?;
            format!("{} can now sign in with the initial password and must change it.", user.name)
        }
        AdminCommand::SetRoles { name, roles } => {
            let request = api::users::RolesRequest { roles: parse_roles(&roles)? };
            let Json(user) = api::users::set_roles(state, caller, Path(name), Ok(Json(request))).await?;
            format!("{} now holds: {}.", user.name, user.roles.iter().map(binding_text).collect::<Vec<_>>().join(", "))
        }
        AdminCommand::SetIdentities { name, identities } => {
            let request = api::users::IdentitiesRequest { identities: words(&identities) };
            let Json(user) = api::users::set_identities(state, caller, Path(name), Ok(Json(request))).await?;
            if user.identities.is_empty() {
                format!("{} has no author identities besides their user name.", user.name)
            } else {
                format!("{} authors builds as: {}.", user.name, user.identities.join(", "))
            }
        }
        AdminCommand::SetDisabled { name, disabled } => {
            let Json(user) = if disabled {
                api::users::disable(state, caller, Path(name)).await?
            } else {
                api::users::enable(state, caller, Path(name)).await?
            };
            if user.disabled {
                format!("{} is disabled and signed out everywhere.", user.name)
            } else {
                format!("{} can sign in again.", user.name)
            }
        }
        AdminCommand::CreateToken { name, scopes, domains, expires_in } => {
            let request = api::tokens::NewToken {
                name,
                scopes: words(&scopes),
                domains: words(&domains),
                expires_in: Some(expires_in).filter(|text| !text.trim().is_empty()),
            };
            let (_, Json(created)) = api::tokens::create(state, caller, Ok(Json(request))).await?;
            format!("Token {} created. Copy it now; it is not shown again: {}", created.details.name, created.token)
        }
        AdminCommand::RevokeToken { id } => {
            api::tokens::revoke(state, caller, Path(id)).await?;
            "The token is revoked; requests with it are refused from now on.".to_owned()
        }
        AdminCommand::AllowOrigin { origin } => {
            api::embed::allow_origin(state, caller, Ok(Json(api::embed::OriginRequest { origin }))).await?;
            "The origin may now frame embedded panels.".to_owned()
        }
        AdminCommand::RemoveOrigin { origin } => {
            api::embed::remove_origin(state, caller, Ok(Query(api::embed::OriginRequest { origin }))).await?;
            "The origin may no longer frame panels; its links stop working.".to_owned()
        }
        AdminCommand::RevokeEmbedLink { id } => {
            api::embed::revoke_link(state, caller, Path(id)).await?;
            "The link is revoked: its panel shows nothing from the next request.".to_owned()
        }
        AdminCommand::CreateEmbedLink { audience, expires_in } => {
            let request = api::embed::LinkRequest {
                panel: "calendar".into(),
                params: Default::default(),
                audience,
                expires_in: Some(expires_in).filter(|text| !text.trim().is_empty()),
            };
            let (_, Json(link)) = api::embed::create_link(state, caller, Ok(Json(request))).await?;
            format!(
                "Put this in the wiki's iframe src (after this server's address), valid until {}: {}",
                link.expires_at, link.path
            )
        }
        AdminCommand::SetApprovalRule { domain, required } => {
            let request = api::approvals::RuleRequest { required_approvals: required };
            let Json(rule) = api::approvals::set_rule(state, caller, Path(domain), Ok(Json(request))).await?;
            format!("{} now needs {} approval(s) per candidate.", rule.domain, rule.required_approvals)
        }
        AdminCommand::VerifyAudit => match api::audit::verify(state, caller).await?.0 {
            Verification::Intact { count, head } => format!("The audit log is intact: {count} records, head {head}."),
            Verification::Broken { seq, problem } => format!("The audit log is BROKEN at record {seq}: {problem}."),
        },
    })
}

/// The caller's own account.
pub async fn account(state: &ApiState, caller: &Caller) -> Result<AccountView, ApiError> {
    let Json(me) = api::session::me(State(state.clone()), caller.clone()).await?;
    let Json(sessions) = api::session::sessions(State(state.clone()), caller.clone()).await?;
    Ok(AccountView {
        name: me.name,
        roles: me.roles.iter().map(binding_text).collect(),
        must_change_password: me.must_change_password,
        sessions: sessions
            .into_iter()
            .map(|session| SessionLine {
                id: session.id,
                current: session.current,
                created_at: session.created_at,
                last_seen_at: session.last_seen_at,
                ip: session.ip,
                user_agent: session.user_agent,
            })
            .collect(),
    })
}

/// A change to the caller's own account.
pub async fn account_command(state: &ApiState, caller: &Caller, command: AccountCommand) -> Result<String, ApiError> {
    let (state, caller) = (State(state.clone()), caller.clone());
    Ok(match command {
        AccountCommand::EndSession { id } => {
            api::session::end_one(state, caller, Path(id)).await?;
            "That session is signed out.".to_owned()
        }
        AccountCommand::ChangePassword { current, new } => {
            let change = api::session::PasswordChange { current, new };
            api::session::change_password(state, caller, Ok(Json(change))).await?;
            "Your password is changed; your other sessions are signed out.".to_owned()
        }
    })
}

/// `release_manager@payments` for a domain binding, `admin` for a global one.
pub fn binding_text(binding: &Binding) -> String {
    match &binding.domain {
        Some(domain) => format!("{}@{domain}", binding.role),
        None => binding.role.to_string(),
    }
}

/// Role bindings from text like "viewer, release_manager@payments".
fn parse_roles(text: &str) -> Result<Vec<Binding>, ApiError> {
    words(text)
        .iter()
        .map(|word| {
            let (role, domain) = match word.split_once('@') {
                Some((role, domain)) => (role, Some(domain.to_owned())),
                None => (word.as_str(), None),
            };
            Ok(Binding { role: Role::parse(role).map_err(ApiError::BadRequest)?, domain })
        })
        .collect()
}

/// Words separated by commas or spaces.
fn words(text: &str) -> Vec<String> {
    text.split([',', ' ']).map(str::trim).filter(|word| !word.is_empty()).map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_read_from_the_form_text() {
        let roles = parse_roles("viewer, release_manager@payments approver").expect("valid");
        let texts: Vec<String> = roles.iter().map(binding_text).collect();
        assert_eq!(texts, ["viewer", "release_manager@payments", "approver"]);
        assert!(parse_roles("superuser").is_err());
        assert!(parse_roles("").expect("none").is_empty());
    }
}
