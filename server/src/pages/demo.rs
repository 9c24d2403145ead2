//! The demo's guide for the pages: the demo users, the shared password and
//! the live train; nothing outside demo mode.

use app::demo::{DemoGuide, DemoUser, BANNER_COOKIE};
use axum::http::header;
use axum::http::request::Parts;

use crate::api::ApiState;
use crate::auth::bootstrap::{DEMO_PASSWORD, DEMO_USERS};
use crate::auth::middleware::Caller;
use crate::auth::{Permission, Role};
use crate::demo_driver;

/// The guide for the visitor of `parts`, or `None` when this is not the demo.
pub fn guide<'a>(
    state: &'a ApiState,
    parts: &Parts,
) -> impl std::future::Future<Output = Option<DemoGuide>> + Send + 'a {
    let signed_in = parts.extensions.get::<Caller>().is_some_and(|caller| caller.principal.can(Permission::Read, None));
    let dismissed = dismissed(parts);
    async move {
        state.demo.then_some(())?;
        Some(build(state, signed_in, dismissed).await)
    }
}

async fn build(state: &ApiState, signed_in: bool, banner_dismissed: bool) -> DemoGuide {
    let live_train = if signed_in { live_train(state).await } else { None };
    DemoGuide {
        password: DEMO_PASSWORD.to_owned(),
        users: DEMO_USERS
            .iter()
            .map(|(name, role, domain)| DemoUser { name: (*name).to_owned(), can: can(*role, *domain) })
            .collect(),
        signed_in,
        live_train,
        banner_dismissed,
    }
}

/// What a demo user may do, in words.
fn can(role: Role, domain: Option<&str>) -> String {
    let what = match role {
        Role::Viewer => "reads the calendar, trains, gates and budgets",
        Role::ReleaseManager => "operates trains in the console (hold, promote, roll back, freezes)",
        Role::Approver => "approves or rejects candidates and break-glass requests",
        Role::Admin => "manages users, tokens and settings",
    };
    match domain {
        Some(domain) => format!("{what}, for {domain} only"),
        None => what.to_owned(),
    }
}

async fn live_train(state: &ApiState) -> Option<String> {
    demo_driver::live_train(&state.db).await
}

/// Whether this browser dismissed the banner.
fn dismissed(parts: &Parts) -> bool {
    parts.headers.get_all(header::COOKIE).iter().filter_map(|value| value.to_str().ok()).any(|cookies| {
        cookies.split(';').any(|pair| pair.trim().split_once('=').is_some_and(|(name, _)| name == BANNER_COOKIE))
    })
}
