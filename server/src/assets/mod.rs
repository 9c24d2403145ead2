//! The built front end: packed at build time into content-hashed names with
//! brotli and gzip copies beside them ([`pack`]), then served under `/pkg`
//! with the copy the browser accepts and a cache policy by name ([`Site`]).

mod pack;
mod site;

pub use pack::pack;
pub use site::{cache_policy, Site};

/// The file, at the site root, that names the packed files.
pub const MANIFEST: &str = "assets.json";
/// The directory, inside the site root, holding the built files.
pub const PKG_DIR: &str = "pkg";
