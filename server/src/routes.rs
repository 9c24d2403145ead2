//! Railyard's one route table and its middleware stack.

use std::time::Duration;

use app::backend::SharedBackend;
use app::{shell, App};
use axum::extract::DefaultBodyLimit;
use axum::extract::{FromRef, MatchedPath};
use axum::http::{Request, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use leptos::prelude::{provide_context, LeptosOptions};
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower::ServiceBuilder;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::api::{self, ApiState};

/// Largest request body accepted anywhere (JSON bodies are further held to axum's 2 MiB default).
const BODY_LIMIT: usize = 16 * 1024 * 1024;
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

/// Builds the router: probes, the API, the pages and the static files.
pub fn router(state: AppState, backend: SharedBackend) -> Router {
    let pages = generate_route_list(App);
    let context = move || provide_context(backend.clone());
    let api_routes = Router::new()
        .route("/healthz", get(api::health::healthz))
        .route("/readyz", get(api::health::readyz))
        .route("/metrics", get(api::metrics::metrics))
        .route("/api/v1/trains", get(api::trains::list))
        .route("/api/v1/incidents", post(api::incidents::report))
        .route("/api/v1/deployments/{key}/status", post(api::deployments::status))
        .route("/api/v1/trains/{id}", get(api::trains::show))
        .route("/api/v1/trains/{id}/release-notes", get(api::trains::release_notes))
        .route("/api/v1/artifacts", post(api::artifacts::register))
        .route("/api/v1/artifacts/{id}", get(api::artifacts::show))
        .route("/api/v1/artifacts/{id}/checks", post(api::artifacts::report_check))
        .route(
            "/api/v1/artifacts/{id}/sarif",
            post(api::artifacts::report_sarif).layer(DefaultBodyLimit::max(SARIF_LIMIT)),
        );

    let options = state.leptos_options.clone();
    Router::new()
        .merge(api_routes)
        .leptos_routes_with_context(&state, pages, context, move || shell(options.clone()))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(
            ServiceBuilder::new()
                .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                    let route = request.extensions().get::<MatchedPath>().map_or("", MatchedPath::as_str);
                    tracing::info_span!("request", method = %request.method(), route, uri = %request.uri())
                }))
                .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
                .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, REQUEST_TIMEOUT)),
        )
        .with_state(state)
}
