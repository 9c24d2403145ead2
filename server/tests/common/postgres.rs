//! Throwaway databases on the PostgreSQL server `make test` starts, shared by
//! the API and chaos test crates.

use server::store::Db;

/// The URL of the PostgreSQL server `make test` starts. Its absence is a
/// failure, never a reason to skip: the store must be tested on both backends.
pub fn admin_url() -> String {
    std::env::var("RAILYARD_TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!("RAILYARD_TEST_POSTGRES_URL is not set: run the suite with `make test`, which starts PostgreSQL")
    })
}

/// Creates an empty database whose name starts with `prefix`; returns its URL.
pub async fn fresh_database(prefix: &str) -> String {
    let admin = admin_url();
    let name = format!("{prefix}_{}", uuid::Uuid::now_v7().simple());
    let db = Db::connect(&admin).await.expect("PostgreSQL answers");
    let mut conn = db.acquire().await.expect("connection");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut *conn).await.expect("create database");
    drop(conn);
    db.close().await;
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(base, _)| base);
    format!("{base}/{name}")
}
