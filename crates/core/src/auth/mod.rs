//! Who is asking and what they may do: users with argon2id passwords,
//! server-side sessions, scoped API tokens for CI, signed embed links, roles
//! (global or per domain) and the checks every handler runs.

pub mod approval_link;
pub mod bootstrap;
pub mod caller;
pub mod context;
pub mod embed;
pub mod oidc;
pub mod password;
pub mod principal;
pub mod rate_limit;
pub use railyard_domain::roles;
pub mod secret;
pub mod settings;

pub use caller::Caller;
pub use context::AuthContext;
pub use principal::{Denied, Principal};
pub use roles::{Binding, Permission, Role, Scope};
pub use settings::AuthSettings;
