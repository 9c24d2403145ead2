//! The layers every request passes: find the caller (session cookie, bearer
//! token or embed link), refuse cross-site writes, and add the browser
//! security headers.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::request::Parts;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;

use super::embed::Claims;
use super::{Denied, Principal};
use crate::api::{ApiError, ApiState};
use crate::service::credentials;

/// The policy of everything that is not a page (JSON, files).
const OTHER_CSP: &str = "default-src 'none'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// The request's caller as handlers extract it: the core's [`railyard_core::auth::Caller`],
/// which the authentication layer stored in the request's extensions.
#[derive(Debug, Clone)]
pub struct Caller(pub railyard_core::auth::Caller);

impl std::ops::Deref for Caller {
    type Target = railyard_core::auth::Caller;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("the authentication layer did not run")))
    }
}

/// An embed link that was checked for this request.
#[derive(Debug, Clone)]
pub struct EmbedGrant(pub Claims);

impl From<Denied> for ApiError {
    fn from(denied: Denied) -> Self {
        crate::service::ServiceError::from(denied).into()
    }
}

/// Finds the caller and stores it in the request's extensions.
pub async fn authenticate(State(state): State<ApiState>, mut request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let result = identify(&state, &mut parts).await;
    request = Request::from_parts(parts, body);
    match result {
        Ok(caller) => {
            let grant = request.extensions().get::<EmbedGrant>().cloned();
            request.extensions_mut().insert(caller);
            let mut response = next.run(request).await;
            // The headers layer sits outside this one and sees only the response.
            if let Some(grant) = grant {
                response.extensions_mut().insert(grant);
            }
            response
        }
        Err(ApiError::Internal(error)) => {
            // Nearly always the database; the caller can retry, so say so rather than a bare 500.
            tracing::error!(error = format!("{error:#}"), "cannot check the caller's credentials");
            ApiError::Unavailable("cannot check your credentials right now (database unavailable); try again".into())
                .into_response()
        }
        Err(error) => error.into_response(),
    }
}

async fn identify(state: &ApiState, parts: &mut Parts) -> Result<Caller, ApiError> {
    let request_id = header_text(&parts.headers, "x-request-id");
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map_or(IpAddr::from([0, 0, 0, 0]), |info| info.0.ip());
    let forwarded: Vec<&str> =
        parts.headers.get_all("x-forwarded-for").iter().filter_map(|value| value.to_str().ok()).collect();
    let ip = state.auth.settings.client_address(peer, &forwarded);
    let user_agent = header_text(&parts.headers, header::USER_AGENT.as_str());
    if parts.uri.path().starts_with("/embed/") {
        let grant = embed_grant(state, parts).await?;
        parts.extensions.insert(grant);
        return Ok(Caller(railyard_core::auth::Caller { principal: Principal::Anonymous, request_id, ip, user_agent }));
    }
    let principal = if let Some(bearer) = bearer(&parts.headers)? {
        token_principal(state, &bearer).await?
    } else if let Some(token) = feed_token(parts) {
        // A URL ends up in browser histories, proxies and calendar servers: only a feed token may ride in one.
        let principal = token_principal(state, &token).await?;
        if !principal.is_feed_token() {
            return Err(ApiError::Unauthorized(
                "only a feed token (scope feed:read alone) may be sent in a URL; send other tokens in the Authorization header"
                    .into(),
            ));
        }
        principal
    } else {
        let jar = CookieJar::from_headers(&parts.headers);
        match jar.get(state.auth.settings.cookie_name()) {
            Some(cookie) => session_principal(state, cookie.value()).await?,
            None => Principal::Anonymous,
        }
    };
    Ok(Caller(railyard_core::auth::Caller { principal, request_id, ip, user_agent }))
}

/// The `token=` query parameter (tokens are URL-safe, so it needs no decoding).
fn query_token(parts: &Parts) -> Option<&str> {
    parts.uri.query()?.split('&').find_map(|pair| pair.strip_prefix("token="))
}

/// A calendar feed's `?token=`: calendar apps subscribe by URL and cannot send headers.
fn feed_token(parts: &Parts) -> Option<String> {
    parts.uri.path().ends_with(".ics").then(|| query_token(parts)).flatten().map(str::to_owned)
}

fn header_text(headers: &HeaderMap, name: &str) -> String {
    headers.get(name).and_then(|value| value.to_str().ok()).unwrap_or_default().to_owned()
}

fn bearer(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else { return Ok(None) };
    let text = value.to_str().unwrap_or_default();
    match text.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
            Ok(Some(token.trim().to_owned()))
        }
        _ => Err(ApiError::Unauthorized("the Authorization header must be `Bearer <token>`".into())),
    }
}

async fn token_principal(state: &ApiState, token: &str) -> Result<Principal, ApiError> {
    Ok(credentials::token(state.ctx(), token).await?)
}

async fn session_principal(state: &ApiState, cookie: &str) -> Result<Principal, ApiError> {
    let idle_ms = i64::try_from(state.auth.settings.idle_timeout.as_millis()).unwrap_or(i64::MAX);
    Ok(credentials::session(state.ctx(), cookie, idle_ms).await?)
}

async fn embed_grant(state: &ApiState, parts: &Parts) -> Result<EmbedGrant, ApiError> {
    let token =
        query_token(parts).ok_or_else(|| ApiError::Unauthorized("an embed link needs its token= parameter".into()))?;
    let panel = parts.uri.path().trim_start_matches("/embed/").trim_end_matches('/');
    Ok(EmbedGrant(credentials::embed_link(state.ctx(), &state.auth.embed_key, token, panel).await?))
}

/// Refuses state-changing requests a browser sent on behalf of another
/// site: `Sec-Fetch-Site` other than same-origin/none, or an `Origin` that
/// is not this server's. Requests without either (CI tools) pass: browsers
/// always send them on cross-site writes.
pub async fn refuse_cross_site(request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(request).await;
    }
    let headers = request.headers();
    let fetch_site = header_text(headers, "sec-fetch-site");
    if !fetch_site.is_empty() && fetch_site != "same-origin" && fetch_site != "none" {
        return cross_site(&format!("Sec-Fetch-Site is {fetch_site}"));
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let host = header_text(headers, header::HOST.as_str());
        let origin_host = origin.to_str().unwrap_or_default().split_once("://").map(|(_, host)| host);
        if origin_host != Some(host.as_str()) || host.is_empty() {
            return cross_site(&format!("Origin {} is not this server", origin.to_str().unwrap_or("(unreadable)")));
        }
    }
    next.run(request).await
}

fn cross_site(why: &str) -> Response {
    ApiError::Forbidden(format!("cross-site request refused ({why}); changes must come from Railyard's own pages"))
        .into_response()
}

/// Adds the security headers. Pages bring their own CSP (with the nonce of
/// their scripts); an embed may be framed by the origin its link names.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let https = arrived_over_https(request.headers());
    let mut response = next.run(request).await;
    let frame_ancestor = response.extensions().get::<EmbedGrant>().map(|grant| grant.0.aud.clone());
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("strict-origin-when-cross-origin"));
    let csp = headers
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|value| value.to_str().ok())
        .unwrap_or(OTHER_CSP)
        .to_owned();
    let csp = match frame_ancestor {
        Some(origin) => csp.replace("frame-ancestors 'none'", &format!("frame-ancestors {origin}")),
        None => csp,
    };
    if let Ok(value) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    if !headers.contains_key(header::X_FRAME_OPTIONS) && !csp.contains("frame-ancestors http") {
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    if https {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    }
    response
}

/// Whether the TLS-terminating proxy in front says the request came over
/// HTTPS. Browsers ignore HSTS received over plain HTTP, so a client that
/// forges this header gains nothing.
fn arrived_over_https(headers: &HeaderMap) -> bool {
    let forwarded_proto = headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok());
    let forwarded = headers.get(header::FORWARDED).and_then(|v| v.to_str().ok()).unwrap_or_default();
    forwarded_proto.is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
        || forwarded.split([';', ',']).any(|part| part.trim().eq_ignore_ascii_case("proto=https"))
}
