//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 document of `/api/v1`,
//! generated from the handlers' `#[utoipa::path]` annotations and the request
//! and response types. Every operation also lists the error answers any
//! request may get (each a JSON `{"error": "…"}`), and the two ways to
//! authenticate. A test checks that it names exactly the routes the router serves.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, OpenApi as Document, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};

/// An error answer.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong and what to do about it, for a person.
    pub error: String,
}

/// The error answers every operation may give, besides its own.
const ERRORS: [(&str, &str); 11] = [
    ("400", "The request is malformed; the message says how"),
    ("401", "Sign in or send a valid API token"),
    ("403", "The caller may not do this, or a cross-site request was refused"),
    ("404", "Nothing exists at this address"),
    ("405", "The method is not allowed here"),
    ("408", "The request took too long"),
    ("409", "The request contradicts what is stored"),
    ("413", "The body is too large"),
    ("415", "The body must be JSON"),
    ("422", "The body is well-formed but names something unknown or invalid"),
    ("429", "Too many attempts; wait and retry"),
];

/// Errors and security shared by all operations.
pub struct Shared;

impl Modify for Shared {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.schemas.insert(ErrorBody::name().into_owned(), ErrorBody::schema());
        let bearer = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some("An API token from `POST /api/v1/tokens`"))
            .build();
        components.add_security_scheme("token", SecurityScheme::Http(bearer));
        let cookie = ApiKeyValue::with_description(
            "__Host-railyard_session",
            "The session cookie that `POST /api/v1/session` sets",
        );
        components.add_security_scheme("session", SecurityScheme::ApiKey(ApiKey::Cookie(cookie)));
        let json = || ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build();
        let unavailable = ResponseBuilder::new()
            .description(
                "Overloaded, or the database is unreachable; nothing was changed: retry after `Retry-After` seconds",
            )
            .header("Retry-After", HeaderBuilder::new().schema(i64::schema()).build())
            .content("application/json", json())
            .build();
        // Token, session, or neither (the few anonymous operations; others answer 401).
        let security = vec![
            SecurityRequirement::new::<_, _, &str>("token", []),
            SecurityRequirement::new::<_, _, &str>("session", []),
            SecurityRequirement::default(),
        ];
        for item in openapi.paths.paths.values_mut() {
            let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
            for operation in operations.into_iter().flatten() {
                let responses = &mut operation.responses.responses;
                for (status, description) in ERRORS {
                    let error = ResponseBuilder::new().description(description).content("application/json", json());
                    responses.entry(status.to_owned()).or_insert_with(|| RefOr::T(error.build()));
                }
                responses.entry("503".to_owned()).or_insert_with(|| RefOr::T(unavailable.clone()));
                operation.security = Some(security.clone());
            }
        }
    }
}

/// The document's frame (title, licence); the operations come from the route list
/// (`routes::api_routes`), and [`Shared`] adds the shared errors and security.
#[derive(OpenApi)]
#[openapi(info(
    title = "Railyard API",
    description = "Release trains for CI systems and scripts: register artifacts and their checks, \
                       read trains and their evidence, act on trains, declare freezes, approve candidates.",
    license(name = "Apache-2.0")
))]
pub struct ApiDoc;

/// The document, built once.
pub fn spec() -> &'static Document {
    static SPEC: OnceLock<Document> = OnceLock::new();
    SPEC.get_or_init(crate::routes::api_document)
}

/// `GET /api/v1/openapi.json`.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "meta",
    responses((status = 200, description = "This document", content_type = "application/json", body = Object))
)]
pub async fn document() -> Response {
    match spec().to_json() {
        Ok(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
        Err(error) => super::ApiError::Internal(error.into()).into_response(),
    }
}
