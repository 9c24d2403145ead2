//! Single sign-on with an OpenID provider: the authorization code flow with
//! PKCE, `state` and `nonce`, through the `openidconnect` crate. The
//! provider's metadata and signing keys come from discovery and are fetched
//! again once when a token names a key they do not hold (key rotation).

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, Scope, TokenResponse,
};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::RwLock;

/// Where the provider is and who Railyard is to it. The secret prints as `[REDACTED]`.
#[derive(Clone, Debug)]
pub struct OidcSettings {
    /// The issuer (`RAILYARD_OIDC_ISSUER`); discovery reads `/.well-known/openid-configuration` below it.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: SecretString,
    /// Shown on the sign-in button: "Sign in with <name>".
    pub name: String,
    /// This server's callback, `<public URL>/auth/oidc/callback`.
    pub redirect_url: String,
}

/// A sign-in to send the browser off with.
pub struct Authorization {
    /// The provider's authorization URL, with the PKCE challenge, `state` and `nonce`.
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// Who the provider says signed in, from a verified ID token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoIdentity {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    /// `preferred_username`, when the provider sends one.
    pub username: Option<String>,
    /// Every claim of the ID token, for role mappings.
    pub claims: serde_json::Map<String, serde_json::Value>,
}

/// Why a sign-in did not work.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The provider could not be reached or answered nonsense; trying again may work.
    #[error("the identity provider is unavailable: {0}")]
    Unavailable(String),
    /// The provider's answer does not prove who signed in.
    #[error("{0}")]
    Refused(String),
}

/// The provider, as discovered.
#[derive(Debug)]
pub struct OidcProvider {
    settings: OidcSettings,
    http: reqwest::Client,
    metadata: RwLock<Option<CoreProviderMetadata>>,
}

impl OidcProvider {
    /// A provider discovered on first use.
    pub fn new(settings: OidcSettings) -> Result<Self, OidcError> {
        // Following redirects would let a provider's answer point requests anywhere.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| OidcError::Unavailable(format!("no HTTP client: {e}")))?;
        IssuerUrl::new(settings.issuer.clone())
            .map_err(|e| OidcError::Refused(format!("RAILYARD_OIDC_ISSUER is not a URL: {e}")))?;
        RedirectUrl::new(settings.redirect_url.clone())
            .map_err(|e| OidcError::Refused(format!("the callback URL is not a URL: {e}")))?;
        Ok(Self { settings, http, metadata: RwLock::new(None) })
    }

    /// The name on the sign-in button.
    pub fn name(&self) -> &str {
        &self.settings.name
    }

    /// The issuer as configured.
    pub fn issuer(&self) -> &str {
        &self.settings.issuer
    }

    async fn discovered(&self, again: bool) -> Result<CoreProviderMetadata, OidcError> {
        if !again {
            if let Some(found) = self.metadata.read().await.clone() {
                return Ok(found);
            }
        }
        let issuer = IssuerUrl::new(self.settings.issuer.clone()).map_err(|e| OidcError::Refused(e.to_string()))?;
        let found = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| OidcError::Unavailable(format!("discovery at {} failed: {e}", self.settings.issuer)))?;
        *self.metadata.write().await = Some(found.clone());
        Ok(found)
    }

    /// Who Railyard is to the provider, and where it sends the browser back.
    fn credentials(&self) -> Result<(ClientId, Option<ClientSecret>, RedirectUrl), OidcError> {
        let redirect =
            RedirectUrl::new(self.settings.redirect_url.clone()).map_err(|e| OidcError::Refused(e.to_string()))?;
        let secret = ClientSecret::new(self.settings.client_secret.expose_secret().to_owned());
        Ok((ClientId::new(self.settings.client_id.clone()), Some(secret), redirect))
    }

    /// Where to send the browser: the provider's sign-in, asking for the
    /// `openid email profile` scopes plus `extra_scopes`.
    pub async fn authorize(&self, extra_scopes: &[String]) -> Result<Authorization, OidcError> {
        let (id, secret, redirect) = self.credentials()?;
        let client =
            CoreClient::from_provider_metadata(self.discovered(false).await?, id, secret).set_redirect_uri(redirect);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge);
        for scope in extra_scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.url();
        Ok(Authorization {
            url: url.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// Exchanges `code` for tokens and verifies the ID token (signature from
    /// the provider's keys, issuer, audience, expiry at `now`, `nonce`).
    pub async fn finish(
        &self,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<SsoIdentity, OidcError> {
        let (id, secret, redirect) = self.credentials()?;
        let client = CoreClient::from_provider_metadata(self.discovered(false).await?, id.clone(), secret.clone())
            .set_redirect_uri(redirect);
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| OidcError::Refused(format!("the provider has no token endpoint: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .request_async(&self.http)
            .await
            .map_err(|e| OidcError::Refused(format!("the provider did not exchange the sign-in code: {e}")))?;
        let id_token =
            response.id_token().ok_or_else(|| OidcError::Refused("the provider sent no ID token".into()))?.clone();
        let nonce = Nonce::new(nonce.to_owned());
        let checker = client.id_token_verifier().set_time_fn(move || now);
        let first = id_token.claims(&checker, &nonce).cloned();
        let verified = match first {
            Ok(claims) => claims,
            Err(first) => {
                // A key the cached set does not hold may be a rotated one: look again, once.
                let fresh = CoreClient::from_provider_metadata(self.discovered(true).await?, id, secret);
                let checker = fresh.id_token_verifier().set_time_fn(move || now);
                let again = id_token.claims(&checker, &nonce).cloned();
                again.map_err(|_| OidcError::Refused(format!("the ID token could not be verified: {first}")))?
            }
        };
        let claims = payload(&id_token.to_string())?;
        Ok(SsoIdentity {
            issuer: verified.issuer().to_string(),
            subject: verified.subject().to_string(),
            email: verified.email().map(|e| e.to_string()),
            username: verified.preferred_username().map(|u| u.to_string()),
            claims,
        })
    }
}

/// The claims of a JWT already verified, as JSON (for claims the core set does not name, like `groups`).
fn payload(jwt: &str) -> Result<serde_json::Map<String, serde_json::Value>, OidcError> {
    use base64::Engine;
    let part = jwt.split('.').nth(1).ok_or_else(|| OidcError::Refused("the ID token is not a JWT".into()))?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|_| OidcError::Refused("the ID token's claims are not base64".into()))?;
    serde_json::from_slice(&bytes).map_err(|_| OidcError::Refused("the ID token's claims are not JSON".into()))
}
