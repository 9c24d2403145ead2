//! The demo's guide (demo mode only): on the sign-in page, who to sign in
//! as; once signed in, a banner saying what is simulated, with a link to
//! the live train, until the person dismisses it.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The cookie that remembers a dismissed banner.
pub const BANNER_COOKIE: &str = "railyard_demo_banner";

/// One demo user: the name to sign in with and what that person may do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoUser {
    pub name: String,
    pub can: String,
}

/// What the demo tells a first-time visitor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoGuide {
    /// Every demo user's password.
    pub password: String,
    pub users: Vec<DemoUser>,
    /// Whether the visitor is signed in (the banner is for them only).
    pub signed_in: bool,
    /// The train the demo keeps moving (signed-in visitors only).
    pub live_train: Option<String>,
    /// Whether the signed-in visitor dismissed the banner.
    pub banner_dismissed: bool,
}

/// The guide when the server runs the demo, nothing otherwise.
#[server(prefix = "/rpc", endpoint = "demo_guide")]
pub async fn load_demo_guide() -> Result<Option<DemoGuide>, ServerFnError> {
    let (backend, caller) = crate::backend::backend_and_caller()?;
    Ok(backend.demo_guide(&caller).await)
}

/// The sign-in page's list of demo users.
#[component]
pub fn SignInHint() -> impl IntoView {
    let guide = Resource::new(|| (), |()| load_demo_guide());
    view! {
        <Transition fallback=|| ()>
            {move || {
                guide
                    .get()
                    .and_then(Result::ok)
                    .flatten()
                    .map(|guide| {
                        view! {
                            <aside class="demo-hint" aria-labelledby="demo-hint-title">
                                <h2 id="demo-hint-title">"This is the demo"</h2>
                                <p>
                                    "Sign in as one of these, all with the password "
                                    <code class="demo-password">{guide.password.clone()}</code> ":"
                                </p>
                                <ul>
                                    {guide
                                        .users
                                        .into_iter()
                                        .map(|user| {
                                            view! {
                                                <li>
                                                    <code>{user.name}</code>
                                                    " — "
                                                    {user.can}
                                                </li>
                                            }
                                        })
                                        .collect_view()}
                                </ul>
                            </aside>
                        }
                    })
            }}
        </Transition>
    }
}

/// The banner above every signed-in page of the demo until dismissed.
#[component]
pub fn Banner() -> impl IntoView {
    let guide = Resource::new(|| (), |()| load_demo_guide());
    let location = leptos_router::hooks::use_location();
    view! {
        <Transition fallback=|| ()>
            {move || {
                guide
                    .get()
                    .and_then(Result::ok)
                    .flatten()
                    .filter(|guide| guide.signed_in && !guide.banner_dismissed)
                    .map(|guide| {
                        let back = location.pathname.get_untracked();
                        // Until the driver has opened the live train, the console lists what is in flight.
                        let live = guide.live_train.map_or_else(|| "/console".to_owned(), |id| format!("/trains/{id}"));
                        view! {
                            <aside class="demo-banner" aria-label="About this demo">
                                <p>
                                    <strong>"Demo: "</strong>
                                    "the fleet, its CI, the deployer and the metrics are simulated. "
                                    <a href=live>"Watch the live train"</a>
                                    " move through its phases within a minute or two; every third one regresses and is rolled back."
                                </p>
                                <form method="post" action="/demo/banner/dismiss">
                                    <input type="hidden" name="back" value=back/>
                                    <button type="submit" class="dismiss">"Dismiss"</button>
                                </form>
                            </aside>
                        }
                    })
            }}
        </Transition>
    }
}
