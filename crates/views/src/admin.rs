//! What the admin and account pages show and send.

use serde::{Deserialize, Serialize};

/// The admin page: people, tokens, embedding, approval rules and the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminView {
    pub users: Vec<AdminUser>,
    pub tokens: Vec<AdminToken>,
    pub origins: Vec<String>,
    /// Every embed link handed out, newest first (never its token).
    #[serde(default)]
    pub embed_links: Vec<AdminEmbedLink>,
    /// (domain, approvals required) for every domain.
    pub rules: Vec<(String, i64)>,
    /// The audit log's record count and head hash.
    pub audit_count: i64,
    pub audit_head: String,
    /// The newest records, newest first.
    pub audit: Vec<AuditLine>,
    /// Whether everyone may sign in with a password (false: only hand-set admins).
    #[serde(default)]
    pub local_sign_in: bool,
    /// The identity provider's name, when single sign-on is set up.
    #[serde(default)]
    pub single_sign_on: Option<String>,
}

/// A user as admins see them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AdminUser {
    pub name: String,
    /// The roles an admin set by hand: `viewer`, `release_manager@payments` …
    pub roles: Vec<String>,
    /// The roles their last single sign-on granted (recomputed at each sign-in).
    #[serde(default)]
    pub sso_roles: Vec<String>,
    /// Who the identity provider says they are: `paula@example.com (paula at https://idp.example.com)`.
    #[serde(default)]
    pub sso: Vec<String>,
    /// The names they author builds under (e-mail, VCS login).
    #[serde(default)]
    pub identities: Vec<String>,
    pub disabled: bool,
    pub must_change_password: bool,
}

/// An API token (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AdminToken {
    pub id: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub domains: Vec<String>,
    pub expires_at: Option<String>,
    pub revoked: bool,
    pub last_used_at: Option<String>,
}

/// An embed link as admins see it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AdminEmbedLink {
    pub id: String,
    /// `calendar`, or `budget (service=auth)`.
    pub panel: String,
    pub audience: String,
    pub created_by: String,
    pub expires_at: String,
    /// `active`, `expired` or `revoked`.
    pub status: String,
}

/// One audit record, shortened.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AuditLine {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub object: String,
}

/// Something an admin does; the answer is a sentence to show (or a secret shown once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdminCommand {
    CreateUser {
        name: String,
        password: String,
        roles: String,
    },
    SetRoles {
        name: String,
        roles: String,
    },
    /// Author identities, separated by commas or spaces.
    SetIdentities {
        name: String,
        identities: String,
    },
    SetDisabled {
        name: String,
        disabled: bool,
    },
    /// Signs a person out everywhere at once.
    EndSessions {
        name: String,
    },
    /// Password sign-in for everyone (true) or only hand-set admins (false).
    SetLocalSignIn {
        allowed: bool,
    },
    CreateToken {
        name: String,
        scopes: String,
        domains: String,
        expires_in: String,
    },
    RevokeToken {
        id: String,
    },
    AllowOrigin {
        origin: String,
    },
    RemoveOrigin {
        origin: String,
    },
    CreateEmbedLink {
        audience: String,
        expires_in: String,
    },
    RevokeEmbedLink {
        id: String,
    },
    SetApprovalRule {
        domain: String,
        required: i64,
    },
    VerifyAudit,
}

/// The account page: who I am and where I am signed in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountView {
    pub name: String,
    pub roles: Vec<String>,
    pub must_change_password: bool,
    pub sessions: Vec<SessionLine>,
}

/// One of my live sessions.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SessionLine {
    pub id: String,
    pub current: bool,
    pub created_at: String,
    pub last_seen_at: String,
    pub ip: String,
    pub user_agent: String,
}

/// Something I do to my own account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AccountCommand {
    EndSession { id: String },
    ChangePassword { current: String, new: String },
}
