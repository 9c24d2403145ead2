//! How sign-in behaves.

use std::net::IpAddr;
use std::time::Duration;

use ipnet::IpNet;
use secrecy::SecretString;

/// Session and bootstrap settings. Secrets print as `[REDACTED]`.
#[derive(Clone, Debug)]
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
    pub admin_password: Option<SecretString>,
    /// How often the audit head is written to the log output.
    pub audit_checkpoint_interval: Duration,
    /// Reverse proxies whose `X-Forwarded-For` names the client; from any
    /// other peer the header is ignored.
    pub trusted_proxies: Vec<IpNet>,
    /// The key audit checkpoints are signed with; kept outside the database.
    pub audit_key: Option<SecretString>,
    /// Single sign-on with an OpenID provider, when one is set up.
    pub oidc: Option<super::oidc::OidcSettings>,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            secure_cookies: true,
            idle_timeout: Duration::from_secs(30 * 60),
            absolute_lifetime: Duration::from_secs(12 * 60 * 60),
            admin_password: None,
            audit_checkpoint_interval: Duration::from_secs(10 * 60),
            trusted_proxies: Vec::new(),
            audit_key: None,
            oidc: None,
        }
    }
}

impl AuthSettings {
    /// The client behind a request from `peer`: the peer itself unless it is
    /// a trusted proxy, else the right-most `X-Forwarded-For` address that is
    /// not one (what the nearest untrusted hop said it was).
    pub fn client_address(&self, peer: IpAddr, forwarded_for: &[&str]) -> IpAddr {
        let trusted = |ip: &IpAddr| self.trusted_proxies.iter().any(|net| net.contains(ip));
        if !trusted(&peer) {
            return peer;
        }
        let hops: Vec<IpAddr> = forwarded_for
            .iter()
            .flat_map(|header| header.split(','))
            .filter_map(|hop| hop.trim().parse::<IpAddr>().ok())
            .collect();
        hops.iter().rev().find(|ip| !trusted(ip)).or(hops.first()).copied().unwrap_or(peer)
    }

    /// The session cookie's name: `__Host-` binds it to this exact origin over HTTPS.
    pub fn cookie_name(&self) -> &'static str {
        if self.secure_cookies {
            "__Host-railyard_session"
        } else {
            "railyard_session"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let key = "k".repeat(32);
        let settings = AuthSettings {
            admin_password: Some("correct horse battery".into()),
            audit_key: Some(key.as_str().into()),
            ..AuthSettings::default()
        };
        let printed = format!("{settings:?}");
        assert!(!printed.contains("correct horse") && !printed.contains(&key), "{printed}");
        assert!(printed.contains("secure_cookies: true"), "the rest still prints: {printed}");
    }

    fn behind(proxies: &[&str]) -> AuthSettings {
        AuthSettings {
            trusted_proxies: proxies.iter().map(|p| p.parse().expect("net")).collect(),
            ..AuthSettings::default()
        }
    }

    #[test]
    fn forwarded_for_counts_only_from_a_trusted_proxy() {
        let peer: IpAddr = "10.0.0.2".parse().expect("ip");
        let spoofed = ["203.0.113.9"];
        assert_eq!(behind(&[]).client_address(peer, &spoofed), peer, "no proxy trusted: the header is ignored");
        assert_eq!(behind(&["10.0.0.0/24"]).client_address(peer, &spoofed).to_string(), "203.0.113.9");
        let chain = ["198.51.100.7, 203.0.113.9", "10.0.0.5"];
        assert_eq!(
            behind(&["10.0.0.0/24"]).client_address(peer, &chain).to_string(),
            "203.0.113.9",
            "the right-most hop the proxies did not add; what the client wrote further left is not trusted"
        );
        assert_eq!(behind(&["10.0.0.0/24"]).client_address(peer, &["garbage"]), peer);
        assert_eq!(
            behind(&["10.0.0.2/32"]).client_address("10.0.0.3".parse().expect("ip"), &spoofed).to_string(),
            "10.0.0.3"
        );
    }
}
