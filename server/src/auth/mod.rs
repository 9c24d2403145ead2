//! Who is asking, as the HTTP edge finds out: the core's authentication and
//! roles (`railyard_core::auth`) plus the layers that identify the caller of
//! each request, refuse cross-site writes and add the security headers.

pub mod middleware;

pub use middleware::Caller;
pub use railyard_core::auth::{
    bootstrap, context, embed, oidc, password, principal, rate_limit, roles, secret, settings, AuthContext,
    AuthSettings, Binding, Denied, Permission, Principal, Role, Scope,
};
