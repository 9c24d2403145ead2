//! Signed embed links. A token names one panel, its parameters, the wiki
//! origin it is for (audience) and an expiry, and is signed with
//! HMAC-SHA256 under a key the server generated. The algorithm is fixed:
//! the token's header must be exactly the one this module writes, so a
//! token claiming another algorithm (or none) is refused, never obeyed.

use railyard_domain::time::Instant;
use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The only header a valid token has.
const HEADER: &str = r#"{"alg":"HS256","typ":"railyard-embed"}"#;

/// The panels a wiki can embed, with the parameters each needs (`/embed/budget?service=auth`).
pub const PANELS: [(&str, &[&str]); 5] =
    [("calendar", &[]), ("budget", &["service"]), ("train", &["id"]), ("countdown", &["definition"]), ("oncall", &[])];

/// Checks `params` against what `panel` needs; answers the link's query (without the token).
pub fn panel_query(panel: &str, params: &BTreeMap<String, String>) -> Result<String, String> {
    let names: Vec<&str> = PANELS.iter().map(|(name, _)| *name).collect();
    let (_, needed) = PANELS
        .iter()
        .find(|(name, _)| *name == panel)
        .ok_or_else(|| format!("unknown panel \"{panel}\"; panels: {}", names.join(", ")))?;
    if let Some(extra) = params.keys().find(|key| !needed.contains(&key.as_str())) {
        return Err(format!("the {panel} panel takes no parameter \"{extra}\"; it takes: {}", list(needed)));
    }
    let mut query = String::new();
    for key in *needed {
        let value = params.get(*key).ok_or_else(|| format!("the {panel} panel needs the parameter \"{key}\""))?;
        if value.is_empty() || !value.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
            return Err(format!("\"{key}\" must be a name of letters, digits, '-', '_' or '.', got \"{value}\""));
        }
        query.push_str(&format!("{key}={value}&"));
    }
    Ok(query)
}

fn list(names: &[&str]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

/// What a token grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claims {
    /// Which panel, e.g. `calendar`.
    pub panel: String,
    /// The panel's parameters, e.g. `{"domain": "payments"}`.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// The origin allowed to frame it, e.g. `https://wiki.example.com`.
    pub aud: String,
    /// Expiry, epoch milliseconds.
    pub exp: i64,
    /// Who created the link (`user:NAME`).
    pub sub: String,
    /// The stored link this token is (revoking it ends the token).
    pub jti: String,
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmbedError {
    /// 401: not a token this server signed as it is.
    #[error("the embed link is not valid (malformed, altered or signed by someone else)")]
    Invalid,
    /// 401: signed by us but past its expiry.
    #[error("the embed link has expired; ask for a new one")]
    Expired,
    /// 403: a valid token for another panel.
    #[error("the embed link is for the {0} panel, not this one")]
    WrongPanel(String),
}

fn mac(key: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length; this cannot fail.
    <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key length"))
}

/// The token for `claims` under `key`.
pub fn sign(claims: &Claims, key: &[u8]) -> anyhow::Result<String> {
    let signing_input =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(HEADER), URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims)?));
    let mut mac = mac(key);
    mac.update(signing_input.as_bytes());
    Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())))
}

/// The claims of `token` if `key` signed it, it has not expired at `now`
/// and it is for `panel`.
pub fn verify(token: &str, key: &[u8], panel: &str, now: Instant) -> Result<Claims, EmbedError> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(EmbedError::Invalid);
    };
    let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| EmbedError::Invalid)?;
    let mut mac = mac(key);
    mac.update(format!("{header}.{payload}").as_bytes());
    mac.verify_slice(&signature).map_err(|_| EmbedError::Invalid)?;
    if URL_SAFE_NO_PAD.decode(header).ok().as_deref() != Some(HEADER.as_bytes()) {
        return Err(EmbedError::Invalid);
    }
    let claims: Claims = URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or(EmbedError::Invalid)?;
    if claims.exp <= now.ms() {
        return Err(EmbedError::Expired);
    }
    if claims.panel != panel {
        return Err(EmbedError::WrongPanel(claims.panel));
    }
    Ok(claims)
}

/// `origin` if it is a bare `scheme://host[:port]` web origin, lowercased.
pub fn parse_origin(origin: &str) -> Result<String, String> {
    let origin = origin.trim().trim_end_matches('/').to_lowercase();
    let rest = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !host.contains(['/', '?', '#', '@', ' ', '*', ';', '\'', '"']) => Ok(origin),
        _ => Err(format!(
            "\"{origin}\" is not an origin; give scheme, host and optional port, e.g. https://wiki.example.com"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn claims() -> Claims {
        Claims {
            panel: "calendar".into(),
            params: BTreeMap::from([("domain".into(), "payments".into())]),
            aud: "https://wiki.example.com".into(),
            exp: 2_000,
            sub: "user:ada".into(),
            jti: "link-1".into(),
        }
    }

    #[test]
    fn a_valid_token_yields_its_claims() {
        let token = sign(&claims(), KEY).expect("sign");
        assert_eq!(verify(&token, KEY, "calendar", Instant::from_ms(1_000)), Ok(claims()));
    }

    #[test]
    fn expired_foreign_and_misdirected_tokens_are_refused() {
        let token = sign(&claims(), KEY).expect("sign");
        assert_eq!(verify(&token, KEY, "calendar", Instant::from_ms(2_000)), Err(EmbedError::Expired));
        assert_eq!(verify(&token, b"another key", "calendar", Instant::from_ms(1_000)), Err(EmbedError::Invalid));
        assert_eq!(
            verify(&token, KEY, "budgets", Instant::from_ms(1_000)),
            Err(EmbedError::WrongPanel("calendar".into()))
        );
    }

    #[test]
    fn a_changed_payload_or_signature_is_refused() {
        let token = sign(&claims(), KEY).expect("sign");
        let parts: Vec<&str> = token.split('.').collect();
        let mut wider = claims();
        wider.exp = i64::MAX;
        let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&wider).expect("json"));
        let forged = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
        assert_eq!(verify(&forged, KEY, "calendar", Instant::from_ms(1_000)), Err(EmbedError::Invalid));
        let other = if parts[2].starts_with('A') { "B" } else { "A" };
        let flipped = format!("{}.{}.{other}{}", parts[0], parts[1], &parts[2][1..]);
        assert_eq!(verify(&flipped, KEY, "calendar", Instant::from_ms(1_000)), Err(EmbedError::Invalid));
    }

    #[test]
    fn a_token_claiming_another_algorithm_is_refused_even_when_signed() {
        for header in [r#"{"alg":"none","typ":"railyard-embed"}"#, r#"{"alg":"HS512","typ":"railyard-embed"}"#] {
            let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims()).expect("json"));
            let input = format!("{}.{payload}", URL_SAFE_NO_PAD.encode(header));
            let mut mac = mac(KEY);
            mac.update(input.as_bytes());
            let token = format!("{input}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()));
            assert_eq!(verify(&token, KEY, "calendar", Instant::from_ms(1_000)), Err(EmbedError::Invalid));
            assert_eq!(
                verify(&format!("{input}."), KEY, "calendar", Instant::from_ms(1_000)),
                Err(EmbedError::Invalid)
            );
        }
    }

    #[test]
    fn origins_are_bare_scheme_host_port() {
        assert_eq!(parse_origin("https://Wiki.Example.com/"), Ok("https://wiki.example.com".into()));
        assert!(parse_origin("https://wiki.example.com/page").is_err());
        assert!(parse_origin("*").is_err());
        assert!(parse_origin("javascript:alert(1)").is_err());
    }
}
