//! What the authentication layer shares between requests.

use std::sync::Arc;

use super::rate_limit::LoginLimits;
use super::AuthSettings;

/// Settings, sign-in limits and the embed signing key.
#[derive(Clone, Debug)]
pub struct AuthContext {
    pub settings: AuthSettings,
    pub limits: LoginLimits,
    /// HMAC key for embed links (shared by every replica through the store).
    pub embed_key: Arc<[u8]>,
    /// HMAC key for audit checkpoints (given to every replica, never stored).
    pub audit_key: Option<Arc<[u8]>>,
    /// The identity provider for single sign-on, when one is set up.
    pub oidc: Option<Arc<super::oidc::OidcProvider>>,
}

impl AuthContext {
    /// The identity provider's name ("Sign in with …"), when single sign-on is set up.
    pub fn single_sign_on(&self) -> Option<String> {
        self.oidc.as_ref().map(|provider| provider.name().to_owned())
    }
}
