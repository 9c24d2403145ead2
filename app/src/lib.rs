//! Railyard's user interface: the HTML shell, the router and the pages.
//! Data comes from server functions whose bodies reach the backend through
//! the [`backend`] port; this crate never touches SQL.

#![recursion_limit = "256"]

pub mod admin;
pub mod approval_link;
pub mod assets;
pub mod backend;
pub mod budgets;
pub mod calendar;
pub mod chart;
pub mod console;
pub mod dashboard;
pub mod demo;
pub mod gates;
pub mod oncall;
mod security;
pub mod session;
mod status;
pub mod train;
mod viewer_time;
mod wide_table;

/// The mark beside a train that is not a regular one (`EMERGENCY`,
/// `HOTFIX`, `REHEARSAL`), in words as well as colour.
#[component]
pub fn KindMark(kind: TrainKind) -> impl IntoView {
    let class = if kind.is_emergency() { "kind-mark emergency-mark" } else { "kind-mark rehearsal-mark" };
    (kind != TrainKind::Regular).then(|| view! { <span class=class>{kind.as_str().to_uppercase()}</span> })
}

/// The class a train's chip or row gets for its kind (` emergency`, ` rehearsal`, or nothing).
pub fn kind_class(kind: TrainKind) -> &'static str {
    match kind {
        TrainKind::Emergency | TrainKind::Hotfix => " emergency",
        TrainKind::Rehearsal => " rehearsal",
        TrainKind::Regular => "",
    }
}

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, SsrMode};
use railyard_domain::train_kind::TrainKind;

/// The HTML document every page is rendered into; `assets` names the built
/// files it loads.
pub fn shell(assets: assets::AssetNames) -> impl IntoView {
    security::send_content_security_policy();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" type="image/svg+xml" href="/favicon.svg"/>
                <assets::AssetLinks assets/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// What a failed server function says to a person.
fn error_text(error: &ServerFnError) -> String {
    match error {
        ServerFnError::ServerError(message) => message.clone(),
        other => other.to_string(),
    }
}

/// A server function's result as a page shows it: `show` for the value, a loading line
/// (`loading`) until it arrives, and the error as an alert.
fn loaded<T, V>(
    resource: Resource<Result<T, ServerFnError>>,
    loading: &'static str,
    show: impl Fn(T) -> V + Clone + Send + Sync + 'static,
) -> impl IntoView
where
    T: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static,
    V: IntoView + 'static,
{
    view! {
        <Transition fallback=move || view! { <p class="loading">{loading}</p> }>
            {
                let show = show.clone();
                move || {
                    resource
                        .get()
                        .map(|result| match result {
                            Ok(value) => show(value).into_any(),
                            Err(error) => view! { <p class="notice error" role="alert">{error_text(&error)}</p> }.into_any(),
                        })
                }
            }
        </Transition>
    }
}

/// The bar above every page except embedded panels. Wide windows show the
/// links and the user inline; narrow ones fold both into a disclosure menu
/// (a native `<details>`, so it opens by keyboard and before the wasm loads).
#[component]
fn TopBar() -> impl IntoView {
    let location = leptos_router::hooks::use_location();
    let embedded = move || location.pathname.get().starts_with("/embed/");
    let signing_in = move || location.pathname.get() == "/login";
    let viewer = Resource::new(|| (), |()| session::current_viewer());
    // A navigation inside the app keeps the header: the menu closes behind it.
    let menu = NodeRef::<leptos::html::Details>::new();
    Effect::new(move |_| {
        location.pathname.track();
        if let Some(menu) = menu.get_untracked() {
            let _ = menu.remove_attribute("open");
        }
    });
    view! {
        <Show when=move || !embedded()>
            <header class="topbar">
                <a class="brand" href="/">"Railyard"</a>
                <span class="tagline">"release trains"</span>
                <Show when=move || !signing_in()>
                    <nav class="main-nav" aria-label="Pages">
                        <PageLinks/>
                    </nav>
                    <session::UserMenu viewer/>
                    <details class="nav-menu" node_ref=menu>
                        <summary>
                            <span class="menu-icon" aria-hidden="true">"☰"</span>
                            " Menu"
                        </summary>
                        <div class="nav-menu-panel">
                            <nav aria-label="Pages">
                                <PageLinks/>
                            </nav>
                            <session::UserMenu viewer/>
                        </div>
                    </details>
                </Show>
            </header>
        </Show>
    }
}

/// The links to the main pages; the current one is marked for screen readers too.
#[component]
fn PageLinks() -> impl IntoView {
    let location = leptos_router::hooks::use_location();
    let current = move |href: &'static str| {
        let path = location.pathname.get();
        let here = if href == "/" { path == "/" } else { path.starts_with(href) };
        here.then_some("page")
    };
    [("/", "Calendar"), ("/gates", "Gates"), ("/budgets", "Budgets"), ("/oncall", "On call"), ("/console", "Console")]
        .map(|(href, label)| view! { <a href=href aria-current=move || current(href)>{label}</a> })
        .collect_view()
}

/// The demo's banner on signed-in pages (never on embeds or the sign-in page).
#[component]
fn DemoBanner() -> impl IntoView {
    let location = leptos_router::hooks::use_location();
    let shown = move || {
        let path = location.pathname.get();
        !path.starts_with("/embed/") && path != "/login"
    };
    view! {
        <Show when=shown>
            <demo::Banner/>
        </Show>
    }
}

/// The page for addresses that match no route (served with status 404).
#[component]
fn NotFound() -> impl IntoView {
    status::respond_with(404);
    view! {
        <section class="not-found">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address. " <a href="/">"Go to the calendar"</a></p>
        </section>
    }
}

/// The application: header and routes.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Effects run only in the browser: once this one has, the page is hydrated (tests wait for it).
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    view! {
        <Title text="Railyard"/>
        <Router>
            <TopBar/>
            <main>
                <DemoBanner/>
                <Routes fallback=NotFound>
                    // Async: the whole page arrives rendered, so it reads (and navigates) without JavaScript.
                    <Route path=path!("/") view=calendar::CalendarPage ssr=SsrMode::Async/>
                    <Route path=path!("/login") view=session::LoginPage ssr=SsrMode::Async/>
                    <Route path=path!("/console") view=console::ConsolePage ssr=SsrMode::Async/>
                    <Route path=path!("/trains/:id") view=train::TrainDetailPage ssr=SsrMode::Async/>
                    <Route path=path!("/gates") view=gates::GatesPage ssr=SsrMode::Async/>
                    <Route path=path!("/oncall") view=oncall::OnCallPage ssr=SsrMode::Async/>
                    <Route path=path!("/budgets") view=budgets::BudgetsPage ssr=SsrMode::Async/>
                    <Route path=path!("/budgets/:service") view=budgets::ServiceBudgetPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin") view=admin::AdminPage ssr=SsrMode::Async/>
                    <Route path=path!("/approve/:token") view=approval_link::ApprovalLinkPage ssr=SsrMode::Async/>
                    <Route path=path!("/account") view=admin::AccountPage ssr=SsrMode::Async/>
                    <Route path=path!("/embed/calendar") view=calendar::EmbeddedCalendar ssr=SsrMode::Async/>
                    <Route path=path!("/embed/budget") view=budgets::EmbeddedBudget ssr=SsrMode::Async/>
                    <Route path=path!("/embed/train") view=train::EmbeddedTrain ssr=SsrMode::Async/>
                    <Route path=path!("/embed/countdown") view=dashboard::EmbeddedCountdown ssr=SsrMode::Async/>
                    <Route path=path!("/embed/oncall") view=oncall::EmbeddedOnCall ssr=SsrMode::Async/>
                </Routes>
            </main>
        </Router>
    }
}
