//! The pages' content security policy: scripts only from this origin or
//! carrying the nonce Leptos put on its hydration script, no plugins, no
//! `<base>`, and no framing (the server relaxes `frame-ancestors` for
//! embeds whose signed link names the framing wiki).

/// The policy; `{nonce}` is replaced per response.
#[cfg(feature = "ssr")]
const POLICY: &str = "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
     style-src-elem 'self'; style-src-attr 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Sets the `Content-Security-Policy` header of the page being rendered.
#[cfg(feature = "ssr")]
pub fn send_content_security_policy() {
    use leptos::prelude::use_context;
    let (Some(response), Some(nonce)) = (use_context::<leptos_axum::ResponseOptions>(), leptos::nonce::use_nonce())
    else {
        return;
    };
    if let Ok(value) = http::HeaderValue::from_str(&POLICY.replace("{nonce}", &nonce.to_string())) {
        response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
    }
}

/// Nothing to send in the browser.
#[cfg(not(feature = "ssr"))]
pub fn send_content_security_policy() {}
