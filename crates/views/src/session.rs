//! The signed-in person as the pages see them.

use serde::{Deserialize, Serialize};

/// Who is looking at the page. Pages use it only to decide what to offer;
/// the server checks every request on its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    pub name: String,
    /// Role bindings as text: `admin`, `release_manager@payments` …
    pub roles: Vec<String>,
}

impl Viewer {
    /// Whether the person holds `role` anywhere.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|held| held == role || held.starts_with(&format!("{role}@")))
    }
}
