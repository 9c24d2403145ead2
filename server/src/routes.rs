//! Railyard's one route table and its middleware stack. Every API route is
//! registered once through [`ApiRoutes`], which gives the router, the
//! OpenAPI document and the inventory that the authorization matrix test
//! walks: a route cannot be added without being documented and without the
//! test asking who may call it.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use app::backend::SharedBackend;
use app::{shell, App};
use axum::error_handling::HandleErrorLayer;
use axum::extract::{FromRef, MatchedPath, Request, State};
use axum::handler::Handler;
use axum::http::{header, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{on, MethodFilter};
use axum::{Extension, Router};
use futures_util::StreamExt;
use leptos::prelude::{provide_context, LeptosOptions};
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use tokio::sync::Semaphore;
use tower::{BoxError, ServiceBuilder};
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::OpenApi as Document;
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::api::{self, ApiState};
use crate::assets::{self, Site};
use crate::auth::middleware::{authenticate, refuse_cross_site, security_headers, Caller};
use crate::auth::Principal;

/// Largest request body accepted anywhere (JSON bodies are further held to axum's 2 MiB default).
pub const BODY_LIMIT: usize = 16 * 1024 * 1024;
/// Largest SARIF log accepted: scans of big images run to megabytes.
const SARIF_LIMIT: usize = BODY_LIMIT;
/// Longest a request may take before it is answered with 408.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Everything the router's handlers may extract.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub api: ApiState,
}

/// A route as the inventory lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteId {
    pub method: Method,
    pub path: String,
}

/// Builds the router, the OpenAPI document and the inventory from one list:
/// `/api/v1` operations come with their `#[utoipa::path]` (method, path,
/// parameters, answers); the few routes outside the document are named here.
struct ApiRoutes {
    router: OpenApiRouter<AppState>,
    /// Health probes, kept apart so that load shedding never fails them.
    probes: Router<AppState>,
    /// Routes outside the OpenAPI document (probes, feeds, form posts, metrics).
    undocumented: Vec<RouteId>,
}

/// The parts [`ApiRoutes`] builds.
struct Built {
    router: Router<AppState>,
    probes: Router<AppState>,
    document: Document,
    inventory: Vec<RouteId>,
}

impl ApiRoutes {
    fn new() -> Self {
        Self {
            router: OpenApiRouter::with_openapi(api::openapi::ApiDoc::openapi()),
            probes: Router::new(),
            undocumented: Vec::new(),
        }
    }

    /// An `/api/v1` operation: routed where its `#[utoipa::path]` says, and documented.
    fn api(mut self, operation: UtoipaMethodRouter<AppState>) -> Self {
        self.router = self.router.routes(operation);
        self
    }

    /// A route outside the OpenAPI document.
    fn plain<H, T>(mut self, method: Method, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone()).unwrap_or(MethodFilter::GET);
        self.router = self.router.route(path, on(filter, handler));
        self.undocumented.push(RouteId { method, path: path.to_owned() });
        self
    }

    fn probe<H, T>(mut self, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.probes = self.probes.route(path, axum::routing::get(handler));
        self.undocumented.push(RouteId { method: Method::GET, path: path.to_owned() });
        self
    }

    fn build(self) -> Built {
        let (router, mut document) = self.router.split_for_parts();
        api::openapi::Shared.modify(&mut document);
        let mut inventory = self.undocumented;
        for (path, item) in &document.paths.paths {
            let operations = [
                (Method::GET, &item.get),
                (Method::PUT, &item.put),
                (Method::POST, &item.post),
                (Method::DELETE, &item.delete),
                (Method::PATCH, &item.patch),
            ];
            for (method, operation) in operations {
                if operation.is_some() {
                    inventory.push(RouteId { method, path: path.clone() });
                }
            }
        }
        Built { router, probes: self.probes, document, inventory }
    }
}

fn api_routes() -> Built {
    use api::metrics;
    use api::{
        actions, approvals, artifacts, audit, break_glass, demo, deployments, embed, emergency, gitops, health,
        incidents,
    };
    use api::{calendar_feed, freezes, openapi, plan, postmortem, rejections, session, sign_in_policy, sso};
    use api::{tokens, trains, users};
    ApiRoutes::new()
        .probe("/healthz", health::healthz)
        .probe("/readyz", health::readyz)
        .plain(Method::GET, "/metrics", metrics::metrics)
        .plain(Method::GET, "/calendar.ics", calendar_feed::feed)
        .plain(Method::POST, "/login", session::sign_in_form)
        .plain(Method::POST, "/logout", session::sign_out_form)
        .plain(Method::GET, "/auth/oidc/start", sso::start)
        .plain(Method::GET, "/auth/oidc/callback", sso::callback)
        .plain(Method::POST, "/demo/banner/dismiss", demo::dismiss_banner)
        .api(routes!(openapi::document))
        .api(routes!(session::sign_in))
        .api(routes!(session::sign_out))
        .api(routes!(session::me))
        .api(routes!(session::sessions))
        .api(routes!(session::end_one))
        .api(routes!(session::change_password))
        .api(routes!(users::list))
        .api(routes!(users::create))
        .api(routes!(users::set_roles))
        .api(routes!(users::set_identities))
        .api(routes!(users::disable))
        .api(routes!(users::enable))
        .api(routes!(users::reset_password))
        .api(routes!(users::end_sessions))
        .api(routes!(sign_in_policy::show, sign_in_policy::change))
        .api(routes!(tokens::list))
        .api(routes!(tokens::create))
        .api(routes!(tokens::revoke))
        .api(routes!(embed::origins))
        .api(routes!(embed::allow_origin))
        .api(routes!(embed::remove_origin))
        .api(routes!(embed::create_link))
        .api(routes!(embed::links))
        .api(routes!(embed::revoke_link))
        .api(routes!(audit::latest))
        .api(routes!(audit::verify))
        .api(routes!(trains::list))
        .api(routes!(plan::plan))
        .api(routes!(emergency::start))
        .api(routes!(emergency::rehearse))
        .api(routes!(trains::show))
        .api(routes!(trains::release_notes))
        .api(routes!(postmortem::postmortem))
        .api(routes!(actions::act))
        .api(routes!(freezes::preview))
        .api(routes!(freezes::declare))
        .api(routes!(approvals::rules))
        .api(routes!(approvals::set_rule))
        .api(routes!(approvals::list))
        .api(routes!(approvals::decide))
        .api(routes!(break_glass::list))
        .api(routes!(break_glass::request))
        .api(routes!(break_glass::approve))
        .api(routes!(break_glass::reject))
        .api(routes!(incidents::report))
        .api(routes!(incidents::resolve))
        .api(routes!(incidents::alertmanager))
        .api(routes!(deployments::status))
        .api(routes!(gitops::flux_event))
        .api(routes!(artifacts::register))
        .api(routes!(artifacts::show))
        .api(routes!(artifacts::report_check))
        .api(routes!(rejections::reject))
        .api(routes!(artifacts::report_sarif).layer(Extension(api::json::JsonLimit(SARIF_LIMIT))))
        .build()
}

/// Every API route, for the authorization matrix test.
pub fn api_inventory() -> Vec<RouteId> {
    api_routes().inventory
}

/// The OpenAPI document of `/api/v1`, from the same list as the router.
pub fn api_document() -> Document {
    api_routes().document
}

/// Every page path, for the authorization matrix test.
pub fn page_inventory() -> Vec<String> {
    page_routes().iter().map(|route| route.path().to_owned()).collect()
}

/// The page routes, listed once per process. Listing runs the app with
/// resource loading suppressed through a process-wide flag, so a page being
/// rendered at that moment (by another server in the same process, as in the
/// tests) would wait for ever on its data (leptos-rs/leptos#4773).
fn page_routes() -> Vec<AxumRouteListing> {
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// Every server function path, for the authorization matrix test.
pub fn server_fn_inventory() -> Vec<(&'static str, Method)> {
    leptos::server_fn::axum::server_fn_paths().collect()
}

/// Builds the router: probes, the API, the pages and the static files.
/// Beyond `max_concurrent` requests in flight, new ones (other than the
/// probes) are answered 503 at once rather than queued until they time out.
pub fn router(state: AppState, backend: SharedBackend, site: Site, max_concurrent: usize) -> Router {
    let pages = page_routes();
    let context = move || provide_context(backend.clone());
    let assets = site.names.clone();
    let page_shell = move || shell(assets.clone());
    let assets = site.names.clone();
    let error_shell = move |_: LeptosOptions| shell(assets.clone());
    let renders = Arc::new(Semaphore::new(render_slots()));
    let pages = Router::new()
        .leptos_routes_with_context(&state, pages, context, page_shell)
        .route_layer(middleware::from_fn_with_state(renders, limit_renders))
        .route_layer(middleware::from_fn(sign_in_first))
        .route_layer(middleware::from_fn(bad_arguments_are_400));
    let api = api_routes();
    let everything_else = Router::new()
        .merge(api.router)
        .merge(pages)
        .nest("/pkg", site.pkg_router())
        .route_layer(middleware::from_fn(record_route))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(error_shell))
        .layer(middleware::from_fn_with_state(site, assets::cache_policy));
    let everything_else = guarded(everything_else, &state).with_state(state.clone());
    // One limit for the whole server (a `Router::layer` would give each route
    // its own), ahead of authentication so that shedding costs no query.
    let shedding = ServiceBuilder::new()
        .layer(HandleErrorLayer::new(|_: BoxError| async { overloaded() }))
        .load_shed()
        .concurrency_limit(max_concurrent)
        .service(everything_else);
    Router::new()
        // Probes answer without authentication, so no credential or database outage changes liveness.
        .merge(api.probes.layer(middleware::from_fn(security_headers)))
        .fallback_service(shedding)
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                    let id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
                    let route = tracing::field::Empty;
                    tracing::info_span!("request", method = %request.method(), route, path = %request.uri().path(), id)
                }))
                .layer(PropagateRequestIdLayer::x_request_id())
                // Pages and JSON compressed on the fly (packed files already are; event streams never are).
                .layer(CompressionLayer::new().br(true).gzip(true)),
        )
        .with_state(state)
}

/// The per-request protections: a time limit, security headers, the
/// cross-site check, authentication, the body limit and the body guard
/// (a memory budget for large bodies, printable form fields).
fn guarded(router: Router<AppState>, state: &AppState) -> Router<AppState> {
    router.layer(
        ServiceBuilder::new()
            .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, REQUEST_TIMEOUT))
            .layer(middleware::from_fn(security_headers))
            .layer(middleware::from_fn(refuse_cross_site))
            .layer(middleware::from_fn_with_state(state.api.clone(), authenticate))
            .layer(middleware::from_fn(api::body_guard::guard_bodies))
            .layer(RequestBodyLimitLayer::new(BODY_LIMIT)),
    )
}

/// Pages rendered at once: two per core. More would not finish sooner on the
/// cores there are, but each holds its page (up to a few megabytes) in memory.
fn render_slots() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from) * 2
}

/// Lets a page render only with a free slot, held until its body is sent
/// (pages stream, so the handler returns before rendering ends). Waiting
/// requests queue; the request timeout still bounds the wait.
async fn limit_renders(State(slots): State<Arc<Semaphore>>, request: Request, next: Next) -> Response {
    let Ok(slot) = slots.acquire_owned().await else {
        return overloaded();
    };
    let (parts, body) = next.run(request).await.into_parts();
    let held = body.into_data_stream().map(move |chunk| {
        let _slot = &slot;
        chunk
    });
    Response::from_parts(parts, axum::body::Body::from_stream(held))
}

/// Names the matched route in the request's log span.
async fn record_route(request: Request, next: Next) -> Response {
    if let Some(route) = request.extensions().get::<MatchedPath>() {
        tracing::Span::current().record("route", route.as_str());
    }
    next.run(request).await
}

/// The answer to a request shed under overload.
fn overloaded() -> Response {
    let body = axum::Json(serde_json::json!({ "error": "Railyard is overloaded right now; try again in a moment" }));
    (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "1")], body).into_response()
}

/// Pages other than the sign-in page send anonymous browsers to sign in
/// first; server functions answer them 401 from their own check.
async fn sign_in_first(request: Request, next: Next) -> Response {
    let anonymous = request.extensions().get::<Caller>().is_none_or(|caller| caller.principal == Principal::Anonymous);
    let path = request.uri().path();
    let page = request.method() == Method::GET && path != "/login" && !path.starts_with("/embed/");
    if anonymous && page {
        let wanted = request.uri().path_and_query().map_or("/", |p| p.as_str());
        let target = format!("/login?next={}", url_encode(wanted));
        return ([(header::CACHE_CONTROL, "no-store")], Redirect::to(&target)).into_response();
    }
    next.run(request).await
}

/// Leptos answers a server function whose arguments do not parse with 500;
/// that is the caller's mistake, so it becomes a 400 with the same message.
async fn bad_arguments_are_400(request: Request, next: Next) -> Response {
    let server_fn = request.uri().path().starts_with("/rpc/");
    let response = next.run(request).await;
    if !server_fn || response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if bytes.starts_with(b"Args|") || bytes.starts_with(b"Deserialization|") {
        parts.status = StatusCode::BAD_REQUEST;
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// What a query value keeps as it is: RFC 3986's unreserved characters, and `/` so paths stay readable.
const QUERY_VALUE: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b'/');

/// `text` percent-encoded for a query value (slashes kept readable).
pub fn url_encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, QUERY_VALUE).to_string()
}

#[cfg(test)]
mod tests {
    use super::url_encode;

    #[test]
    fn a_query_value_keeps_paths_readable_and_escapes_the_rest() {
        assert_eq!(url_encode("/trains/t-1_a.b~c"), "/trains/t-1_a.b~c");
        assert_eq!(url_encode("/console?x=1&y=ü #"), "/console%3Fx%3D1%26y%3D%C3%BC%20%23");
    }
}
