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
