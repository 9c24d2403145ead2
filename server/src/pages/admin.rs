//! The admin and account pages over the same use cases as the HTTP API
//! (`service::{users, tokens, embeds, audit, approval_rules, account}`), so
//! a check or an audit record can never differ between the two.

use crate::api::ApiState;
use crate::audit::Verification;
use crate::auth::{Binding, Caller, Permission, Role};
use crate::service::{self, ServiceError};
use crate::time::Instant;
use app::admin::{
    AccountCommand, AccountView, AdminCommand, AdminEmbedLink, AdminToken, AdminUser, AdminView, AuditLine, SessionLine,
};

/// How many audit records the page lists.
const AUDIT_LINES: i64 = 50;

/// Everything the admin page shows.
pub async fn view(state: &ApiState, caller: &Caller) -> Result<AdminView, ServiceError> {
    let ctx = state.ctx();
    caller.principal.require(Permission::Administer, None)?;
    let users = service::users::list(ctx, caller).await?;
    let tokens = service::tokens::list(ctx, caller).await?;
    let origins = service::embeds::origins(ctx, caller).await?;
    let links = service::embeds::links(ctx, caller).await?;
    let records = service::audit::latest(ctx, caller, AUDIT_LINES).await?;
    let (audit_count, audit_head) = service::audit::head(ctx, caller).await?;
    let rules = service::approval_rules::list(ctx, caller).await?;
    let now = ctx.now();
    Ok(AdminView {
        users: users
            .into_iter()
            .map(|record| AdminUser {
                roles: record.roles.iter().map(Binding::label).collect(),
                sso_roles: record.sso_roles.iter().map(Binding::label).collect(),
                sso: record
                    .sso
                    .iter()
                    .map(|link| {
                        let shown = if link.email.is_empty() { &link.subject } else { &link.email };
                        format!("{shown} ({} at {})", link.subject, link.issuer)
                    })
                    .collect(),
                identities: record.identities,
                name: record.user.name,
                disabled: record.user.disabled != 0,
                must_change_password: record.user.must_change_password != 0,
            })
            .collect(),
        tokens: tokens
            .into_iter()
            .map(|token| AdminToken {
                scopes: token.scopes.split_whitespace().map(str::to_owned).collect(),
                domains: token.domains.split_whitespace().map(str::to_owned).collect(),
                expires_at: token.expires_at.map(Instant::rfc3339),
                revoked: token.revoked_at.is_some(),
                last_used_at: token.last_used_at.map(Instant::rfc3339),
                id: token.id,
                name: token.name,
            })
            .collect(),
        origins,
        embed_links: links
            .into_iter()
            .map(|link| {
                let params: std::collections::BTreeMap<String, String> =
                    serde_json::from_str(&link.params).unwrap_or_default();
                AdminEmbedLink {
                    status: service::embeds::status(&link, now).to_owned(),
                    panel: if params.is_empty() {
                        link.panel
                    } else {
                        let params: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
                        format!("{} ({})", link.panel, params.join(", "))
                    },
                    id: link.id,
                    audience: link.audience,
                    created_by: link.created_by,
                    expires_at: link.expires_at.rfc3339(),
                }
            })
            .collect(),
        rules,
        audit_count,
        audit_head,
        audit: records
            .into_iter()
            .map(|record| AuditLine {
                seq: record.seq,
                at: record.at.rfc3339(),
                actor: record.actor,
                action: record.action,
                object: record.object,
            })
            .collect(),
        local_sign_in: service::sign_in::local_sign_in(ctx).await?,
        single_sign_on: state.auth.single_sign_on(),
    })
}

/// Carries out an admin's change and says what happened.
pub async fn command(state: &ApiState, caller: &Caller, command: AdminCommand) -> Result<String, ServiceError> {
    let ctx = state.ctx();
    Ok(match command {
        AdminCommand::CreateUser { name, password, roles } => {
            let record = service::users::create(ctx, caller, &name, password, &parse_roles(&roles)?).await?;
            format!("{} can now sign in with the initial password and must change it.", record.user.name)
        }
        AdminCommand::SetRoles { name, roles } => {
            let record = service::users::set_roles(ctx, caller, &name, &parse_roles(&roles)?).await?;
            let roles: Vec<String> = record.roles.iter().map(Binding::label).collect();
            format!("{} now holds: {}.", record.user.name, roles.join(", "))
        }
        AdminCommand::SetIdentities { name, identities } => {
            let record = service::users::set_identities(ctx, caller, &name, &words(&identities)).await?;
            if record.identities.is_empty() {
                format!("{} has no author identities besides their user name.", record.user.name)
            } else {
                format!("{} authors builds as: {}.", record.user.name, record.identities.join(", "))
            }
        }
        AdminCommand::SetDisabled { name, disabled } => {
            let record = service::users::set_disabled(ctx, caller, &name, disabled).await?;
            if record.user.disabled != 0 {
                format!("{} is disabled and signed out everywhere.", record.user.name)
            } else {
                format!("{} can sign in again.", record.user.name)
            }
        }
        AdminCommand::EndSessions { name } => {
            let ended = service::users::end_sessions(ctx, caller, &name).await?;
            format!("{name} is signed out everywhere ({ended} sessions ended); their next sign-in recomputes roles from sign-in.")
        }
        AdminCommand::SetLocalSignIn { allowed } => {
            service::sign_in::set_local_sign_in(ctx, caller, allowed, state.auth.oidc.is_some()).await?;
            if allowed {
                "Everyone may sign in with a password again.".to_owned()
            } else {
                "Only admins set by hand (break-glass accounts) may sign in with a password now; everyone else uses single sign-on.".to_owned()
            }
        }
        AdminCommand::CreateToken { name, scopes, domains, expires_in } => {
            let wanted = service::tokens::NewToken {
                name: &name,
                scopes: &words(&scopes),
                domains: &words(&domains),
                expires_in: Some(expires_in.as_str()).filter(|text| !text.trim().is_empty()),
            };
            let (row, secret) = service::tokens::create(ctx, caller, wanted).await?;
            format!("Token {} created. Copy it now; it is not shown again: {secret}", row.name)
        }
        AdminCommand::RevokeToken { id } => {
            service::tokens::revoke(ctx, caller, &id).await?;
            "The token is revoked; requests with it are refused from now on.".to_owned()
        }
        AdminCommand::AllowOrigin { origin } => {
            service::embeds::allow_origin(ctx, caller, &origin).await?;
            "The origin may now frame embedded panels.".to_owned()
        }
        AdminCommand::RemoveOrigin { origin } => {
            service::embeds::remove_origin(ctx, caller, &origin).await?;
            "The origin may no longer frame panels; its links stop working.".to_owned()
        }
        AdminCommand::RevokeEmbedLink { id } => {
            service::embeds::revoke_link(ctx, caller, &id).await?;
            "The link is revoked: its panel shows nothing from the next request.".to_owned()
        }
        AdminCommand::CreateEmbedLink { audience, expires_in } => {
            let wanted = service::embeds::NewLink {
                panel: "calendar".into(),
                params: Default::default(),
                audience,
                expires_in: Some(expires_in).filter(|text| !text.trim().is_empty()),
            };
            let created = service::embeds::create_link(ctx, caller, &state.auth.embed_key, wanted).await?;
            format!(
                "Put this in the wiki's iframe src (after this server's address), valid until {}: {}",
                created.link.expires_at.rfc3339(),
                created.path
            )
        }
        AdminCommand::SetApprovalRule { domain, required } => {
            service::approval_rules::set(ctx, caller, &domain, required).await?;
            format!("{domain} now needs {required} approval(s) per candidate.")
        }
        AdminCommand::VerifyAudit => {
            match service::audit::verify(ctx, caller, state.auth.audit_key.as_deref()).await? {
                Verification::Intact { count, head } => {
                    format!("The audit log is intact: {count} records, head {head}.")
                }
                Verification::Broken { seq, problem } => format!("The audit log is BROKEN at record {seq}: {problem}."),
            }
        }
    })
}

/// The caller's own account.
pub async fn account(state: &ApiState, caller: &Caller) -> Result<AccountView, ServiceError> {
    let me = service::account::me(state.ctx(), caller).await?;
    let idle_ms = i64::try_from(state.auth.settings.idle_timeout.as_millis()).unwrap_or(i64::MAX / 2);
    let (sessions, current) = service::account::sessions(state.ctx(), caller, idle_ms).await?;
    Ok(AccountView {
        name: me.name,
        roles: me.roles.iter().map(Binding::label).collect(),
        must_change_password: me.must_change_password,
        sessions: sessions
            .into_iter()
            .map(|session| SessionLine {
                current: session.id == current,
                created_at: session.created_at.rfc3339(),
                last_seen_at: session.last_seen_at.rfc3339(),
                id: session.id,
                ip: session.ip,
                user_agent: session.user_agent,
            })
            .collect(),
    })
}

/// A change to the caller's own account.
pub async fn account_command(
    state: &ApiState,
    caller: &Caller,
    command: AccountCommand,
) -> Result<String, ServiceError> {
    Ok(match command {
        AccountCommand::EndSession { id } => {
            service::account::end_session(state.ctx(), caller, &id).await?;
            "That session is signed out.".to_owned()
        }
        AccountCommand::ChangePassword { current, new } => {
            service::account::change_password(state.ctx(), caller, &state.auth.limits, current, new).await?;
            "Your password is changed; your other sessions are signed out.".to_owned()
        }
    })
}

/// Role bindings from text like "viewer, release_manager@payments".
fn parse_roles(text: &str) -> Result<Vec<Binding>, ServiceError> {
    words(text)
        .iter()
        .map(|word| {
            let (role, domain) = match word.split_once('@') {
                Some((role, domain)) => (role, Some(domain.to_owned())),
                None => (word.as_str(), None),
            };
            Ok(Binding { role: Role::parse(role).map_err(ServiceError::Invalid)?, domain })
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
        let texts: Vec<String> = roles.iter().map(Binding::label).collect();
        assert_eq!(texts, ["viewer", "release_manager@payments", "approver"]);
        assert!(parse_roles("superuser").is_err());
        assert!(parse_roles("").expect("none").is_empty());
    }
}
