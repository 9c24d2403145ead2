//! The signed-in person as pages see them, the sign-in page and the user
//! menu. Signing in and out are plain HTML forms posting to the server, so
//! they work before (and without) the wasm.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

pub use railyard_views::session::Viewer;

/// The signed-in person, if any.
#[server(prefix = "/rpc", endpoint = "current_viewer")]
pub async fn current_viewer() -> Result<Option<Viewer>, ServerFnError> {
    let (backend, caller) = crate::backend::backend_and_caller()?;
    Ok(backend.viewer(&caller))
}

/// Who is signed in, and signing out (the top bar's right end, or the foot of the narrow menu).
#[component]
pub fn UserMenu(viewer: Resource<Result<Option<Viewer>, ServerFnError>>) -> impl IntoView {
    view! {
        <Transition fallback=|| ()>
            {move || {
                viewer
                    .get()
                    .and_then(Result::ok)
                    .flatten()
                    .map(|viewer| {
                        view! {
                            <div class="user-menu">
                                {viewer
                                    .has_role("admin")
                                    .then(|| view! { <a class="admin-link" href="/admin">"Admin"</a> })}
                                <a class="user-name" href="/account">{viewer.name.clone()}</a>
                                <span class="user-roles">{viewer.roles.join(", ")}</span>
                                <form method="post" action="/logout">
                                    <button type="submit" class="link-button">"Sign out"</button>
                                </form>
                            </div>
                        }
                    })
            }}
        </Transition>
    }
}

/// `text` as a query value: everything but unreserved characters and `/` percent-encoded.
fn encode_query(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The identity provider's name, when single sign-on is set up.
#[server(prefix = "/rpc", endpoint = "single_sign_on")]
pub async fn single_sign_on() -> Result<Option<String>, ServerFnError> {
    let (backend, _) = crate::backend::backend_and_caller()?;
    Ok(backend.single_sign_on())
}

/// `/login`: "Sign in with <provider>" when single sign-on is set up, and the password form.
#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_else(|| "/".to_owned());
    let provider = Resource::new(|| (), |()| single_sign_on());
    let notice = move || match query.read().get("error").as_deref() {
        Some("failed") => Some(("error", "Wrong name or password.")),
        Some("limited") => Some(("error", "Too many attempts. Wait a minute and try again.")),
        Some("sso_only") => {
            Some(("error", "Signing in with a password is turned off here (admins excepted); use single sign-on."))
        }
        _ if query.read().get("signed_out").is_some() => Some(("info", "You are signed out.")),
        _ => None,
    };
    view! {
        <section class="login" aria-labelledby="login-title">
            <h1 id="login-title">"Sign in to Railyard"</h1>
            {move || {
                notice()
                    .map(|(kind, text)| {
                        view! {
                            <p class=format!("notice {kind}") role="alert">
                                {text}
                            </p>
                        }
                    })
            }}
            <Transition fallback=|| ()>
                {move || {
                    provider
                        .get()
                        .and_then(Result::ok)
                        .flatten()
                        .map(|name| {
                            let start = format!("/auth/oidc/start?next={}", encode_query(&next()));
                            view! {
                                <a class="sso-sign-in" href=start rel="external">
                                    {format!("Sign in with {name}")}
                                </a>
                                <p class="sso-or">"or with a Railyard account:"</p>
                            }
                        })
                }}
            </Transition>
            <form method="post" action="/login" class="login-form">
                <input type="hidden" name="next" value=next/>
                <label>
                    "Name" <input type="text" name="name" autocomplete="username" required autofocus/>
                </label>
                <label>
                    "Password"
                    <input type="password" name="password" autocomplete="current-password" required/>
                </label>
                <button type="submit">"Sign in"</button>
            </form>
            <crate::demo::SignInHint/>
        </section>
    }
}
