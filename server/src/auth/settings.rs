//! How sign-in behaves.

use std::fmt;
use std::time::Duration;

/// Session and bootstrap settings.
#[derive(Clone)]
pub struct AuthSettings {
    /// Send cookies with `Secure` and the `__Host-` prefix. Turn off only for
    /// plain HTTP that browsers do not treat as secure (not needed for
    /// `http://localhost` or `127.0.0.1`, which browsers treat as secure).
    pub secure_cookies: bool,
    /// A session unused this long ends.
    pub idle_timeout: Duration,
    /// A session ends this long after sign-in, used or not.
    pub absolute_lifetime: Duration,
    /// The first admin's password; without it a one-time password is logged.
    pub admin_password: Option<String>,
    /// How often the audit head is written to the log output.
    pub audit_checkpoint_interval: Duration,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            secure_cookies: true,
            idle_timeout: Duration::from_secs(30 * 60),
            absolute_lifetime: Duration::from_secs(12 * 60 * 60),
            admin_password: None,
            audit_checkpoint_interval: Duration::from_secs(10 * 60),
        }
    }
}

impl AuthSettings {
    /// The session cookie's name: `__Host-` binds it to this exact origin over HTTPS.
    pub fn cookie_name(&self) -> &'static str {
        if self.secure_cookies {
            "__Host-railyard_session"
        } else {
            "railyard_session"
        }
    }
}

impl fmt::Debug for AuthSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthSettings")
            .field("secure_cookies", &self.secure_cookies)
            .field("idle_timeout", &self.idle_timeout)
            .field("absolute_lifetime", &self.absolute_lifetime)
            .field("admin_password", &self.admin_password.as_ref().map(|_| "***"))
            .field("audit_checkpoint_interval", &self.audit_checkpoint_interval)
            .finish()
    }
}
