use crate::helpers::{spawn_app, Backend};

#[tokio::test]
async fn health_and_readiness_answer_when_the_database_is_up() {
    let app = spawn_app(Backend::Sqlite, false).await;
    assert_eq!(app.get("/healthz").await.0, 200);
    let (status, body) = app.get("/readyz").await;
    assert_eq!(status, 200);
    assert!(body.contains("\"database\":\"ok\""), "{body}");
}

#[tokio::test]
async fn readiness_turns_red_when_the_database_is_gone() {
    let app = spawn_app(Backend::Sqlite, false).await;
    app.db.close().await;
    let (status, body) = app.send_as(None, reqwest::Method::GET, "/readyz", None).await;
    assert_eq!(status, 503);
    assert!(body.contains("unreachable"), "{body}");
    let (status, _) = app.send_as(None, reqwest::Method::GET, "/healthz", None).await;
    assert_eq!(status, 200, "liveness does not depend on the database");
    let (status, body) = app.get("/api/v1/trains?from=2026-11-01&to=2026-12-01").await;
    assert_eq!(status, 503, "a token cannot be checked without the database: {body}");
    assert!(body.contains("try again"), "{body}");
}

#[tokio::test]
async fn the_openapi_document_describes_exactly_the_api_the_router_serves() {
    let app = spawn_app(Backend::Sqlite, false).await;
    let (status, body) = app.send_as(None, reqwest::Method::GET, "/api/v1/openapi.json", None).await;
    assert_eq!(status, 200, "anyone may read the document");
    let document: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert!(document["openapi"].as_str().is_some_and(|v| v.starts_with("3.")), "{}", document["openapi"]);
    let mut documented = std::collections::BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("operations") {
            documented.insert(format!("{} {path}", method.to_uppercase()));
            let responses = operation["responses"].as_object().expect("responses");
            assert!(responses.keys().any(|s| s.starts_with('2')), "{method} {path} documents its success");
            for status in ["400", "401", "403", "404", "422", "429", "503"] {
                assert!(responses.contains_key(status), "{method} {path} documents {status}");
            }
        }
    }
    let served: std::collections::BTreeSet<String> = server::routes::api_inventory()
        .into_iter()
        .filter(|route| route.path.starts_with("/api/v1/"))
        .map(|route| format!("{} {}", route.method, route.path))
        .collect();
    assert_eq!(documented, served, "every /api/v1 route is documented, and nothing else");
    let schemas = document["components"]["schemas"].as_object().expect("schemas");
    for name in ["TrainDetail", "ArtifactJson", "NewArtifactRequest", "ErrorBody", "FreezeEntry"] {
        assert!(schemas.contains_key(name), "{name} is described");
    }
}
