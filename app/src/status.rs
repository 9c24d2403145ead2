//! Setting the HTTP status of a server-rendered page (a no-op in the browser).

/// Answers the current server-side render with `code` instead of 200.
#[cfg(feature = "ssr")]
pub fn respond_with(code: u16) {
    use leptos::prelude::use_context;
    if let (Some(response), Ok(status)) =
        (use_context::<leptos_axum::ResponseOptions>(), http::StatusCode::from_u16(code))
    {
        response.set_status(status);
    }
}

/// Answers the current server-side render with `code` instead of 200.
#[cfg(not(feature = "ssr"))]
pub fn respond_with(_code: u16) {}

/// Tells the client when to try again (a `Retry-After` header, in seconds).
#[cfg(feature = "ssr")]
pub fn retry_after(seconds: u64) {
    use leptos::prelude::use_context;
    if let (Some(response), Ok(value)) =
        (use_context::<leptos_axum::ResponseOptions>(), http::HeaderValue::from_str(&seconds.to_string()))
    {
        response.insert_header(http::header::RETRY_AFTER, value);
    }
}
