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
async fn every_operation_in_the_openapi_document_has_an_operation_id_of_its_own() {
    let app = spawn_app(Backend::Sqlite, false).await;
    let (_, body) = app.send_as(None, reqwest::Method::GET, "/api/v1/openapi.json", None).await;
    let document: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    let mut seen: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("operations") {
            let here = format!("{} {path}", method.to_uppercase());
            let id = operation["operationId"].as_str().unwrap_or_else(|| panic!("{here} has no operationId"));
            if let Some(other) = seen.insert(id.to_owned(), here.clone()) {
                panic!("{here} and {other} share the operationId {id:?}; client generators need each to be unique");
            }
        }
    }
    assert!(seen.len() > 40, "the document lists the API's operations: {}", seen.len());
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

/// Lets connections to database `name` in or out, dropping those open.
async fn allow_connections(name: &str, allowed: bool) {
    let admin = server::store::Db::connect(&crate::helpers::postgres::admin_url()).await.expect("admin connection");
    let mut conn = admin.acquire().await.expect("connection");
    sqlx::query(&format!("ALTER DATABASE {name} WITH ALLOW_CONNECTIONS {allowed}"))
        .execute(&mut *conn)
        .await
        .expect("alter database");
    if !allowed {
        sqlx::query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        )
        .bind(name)
        .execute(&mut *conn)
        .await
        .expect("terminate");
    }
    drop(conn);
    admin.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_the_database_answers_503_with_retry_after_and_a_retry_afterwards_stores_the_write_once() {
    let app = spawn_app(Backend::Postgres, false).await;
    let fleet = crate::helpers::ledger_fleet("", "", &[("100%", "production", 100, "0s")]);
    server::fleet::apply(
        &app.db,
        &server::fleet::parse("fleet.toml", &fleet).expect("valid"),
        crate::helpers::test_now(),
    )
    .await
    .expect("apply");
    let build = serde_json::json!({ "service": "ledger", "version": "1.0.0", "digest": format!("sha256:{}", "b".repeat(64)),
                                    "commit": "1234567", "author": "bob", "changes": [] });
    let register = || app.client.post(format!("{}/api/v1/artifacts", app.address)).json(&build).send();
    let name: String = {
        let mut conn = app.db.acquire().await.expect("connection");
        sqlx::query_scalar("SELECT CAST(current_database() AS TEXT)").fetch_one(&mut *conn).await.expect("name")
    };

    allow_connections(&name, false).await;
    let response = register().await.expect("answered");
    assert_eq!(response.status(), 503, "the database is gone: 503, not 500");
    let response = register().await.expect("answered");
    assert_eq!(response.status(), 503, "and while it stays away, new connections fail with 503 too");
    assert!(response.headers().contains_key("retry-after"), "with Retry-After");
    let body = response.text().await.expect("body");
    assert!(body.contains("try again"), "{body}");
    assert_eq!(app.get("/readyz").await.0, 503, "readiness goes red");
    let (status, _) = app.send_as(None, reqwest::Method::GET, "/healthz", None).await;
    assert_eq!(status, 200, "liveness stays green");

    allow_connections(&name, true).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while app.get("/readyz").await.0 != 200 {
        assert!(std::time::Instant::now() < deadline, "readiness recovers once the database is back");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let response = register().await.expect("answered");
    assert_eq!(response.status(), 201, "the retried write is stored");
    let response = register().await.expect("answered");
    assert_eq!(response.status(), 200, "and a second retry is recognised, not stored twice");
    let mut conn = app.db.acquire().await.expect("connection");
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM artifacts").fetch_one(&mut *conn).await.expect("count");
    assert_eq!(count, 1);
}

/// Listing the page routes runs the app with data loading switched off
/// process-wide; a page rendered meanwhile must not wait on its data for ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_render_while_the_route_list_is_taken() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let app = spawn_app(Backend::Sqlite, true).await;
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let lister = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut listed = 0;
            while !stop.load(Ordering::Relaxed) {
                listed += usize::from(!server::routes::page_inventory().is_empty());
            }
            listed
        })
    };
    let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(10)).build().expect("client");
    let mut stalled = Vec::new();
    for round in 0..30 {
        let path = ["/", "/budgets", "/gates"][round % 3];
        let request = client.get(format!("{}{path}", app.address)).header(reqwest::header::COOKIE, &app.admin_cookie);
        let rendered = match request.send().await {
            Ok(response) if response.status() == 200 => response.text().await.map(|_| ()).map_err(|e| e.to_string()),
            Ok(response) => Err(format!("status {}", response.status())),
            Err(error) => Err(error.to_string()),
        };
        if let Err(error) = rendered {
            stalled.push(format!("{path}: {error}"));
        }
    }
    stop.store(true, Ordering::Relaxed);
    assert!(lister.join().expect("lister") > 0, "the route list was taken");
    assert!(stalled.is_empty(), "pages that did not render in 10 s: {stalled:#?}");
}
