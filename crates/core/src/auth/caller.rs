//! The caller of one request: who (a [`Principal`]) and how to name the
//! request in the audit log.

use std::net::IpAddr;

use super::{Denied, Permission, Principal};
use crate::store::audit::Entry;

/// The caller of a request and how to name the request in the audit log.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    pub request_id: String,
    pub ip: IpAddr,
    pub user_agent: String,
}

impl Caller {
    /// Refuses unless the caller may do `permission` in `domain`.
    pub fn require(&self, permission: Permission, domain: Option<&str>) -> Result<(), Denied> {
        self.principal.require(permission, domain)
    }

    /// Refuses unless the caller may do `permission` in some domain (checked
    /// before loading the object whose domain then decides).
    pub fn require_somewhere(&self, permission: Permission) -> Result<(), Denied> {
        self.principal.require_somewhere(permission)
    }

    /// An audit entry for this caller doing `action` to `object`.
    pub fn audit(&self, action: &str, object: &str) -> Entry {
        Entry::new(self.principal.actor(), action, object).request(&self.request_id)
    }
}
