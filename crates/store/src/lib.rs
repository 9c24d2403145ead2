//! The SQL store: one portable schema on SQLite (embedded default) or
//! PostgreSQL (several replicas). Query functions take the connection or
//! transaction explicitly; callers own `begin()` and `commit()`.

pub mod alerts;
pub mod analyses;
pub mod approval_links;
pub mod approvals;
pub mod artifacts;
pub mod audit;
pub mod audit_checkpoints;
pub mod budget_samples;
pub mod definitions;
pub mod digests;
pub mod domains;
pub mod embed_links;
pub mod freezes;
pub mod gate_runs;
pub mod gitops_waits;
pub mod incidents;
pub mod instant;
pub mod json_text;
pub mod kinds;
pub mod leases;
pub mod measurements;
pub mod metrics;
pub mod regions;
pub mod release_history;
pub mod role_mappings;
pub mod runs;
pub mod secrets;
pub mod services;
pub mod sessions;
pub mod sign_in_backoff;
pub mod sign_in_policy;
pub mod sso;
pub mod tokens;
pub mod trains;
pub mod users;
pub mod views;

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool, Executor, Transaction};

pub use sqlx::AnyConnection as Conn;

/// A write transaction begun by [`Db::begin`].
pub type Tx = Transaction<'static, Any>;

/// What a query function can fail with.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The row asked for does not exist.
    #[error("not found")]
    NotFound,
    /// A write fenced by a leadership term that has since ended.
    #[error("leadership term {0} has ended; another replica leads now")]
    StaleTerm(i64),
    /// A stored value Railyard wrote cannot be read back (a bug or a hand edit).
    #[error("the stored {what} is unreadable: {why}")]
    Corrupt { what: String, why: String },
    /// Anything else the database reported.
    #[error(transparent)]
    Other(#[from] sqlx::Error),
}

/// Which SQL engine is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// A pool of connections to the store.
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

impl Db {
    /// Connects to `url` (`sqlite://FILE` or `postgres://…`). A SQLite file is
    /// created when missing and runs with WAL, foreign keys and a busy timeout.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let (backend, url) = normalise_url(url)?;
        let options =
            AnyConnectOptions::from_str(&url).with_context(|| format!("invalid database URL {}", redact(&url)))?;
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 8 } else { 16 })
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                        )
                        .await?;
                    } else {
                        // A replica stopped mid-transaction (paused, partitioned) must not hold
                        // its row locks (the lease's among them) for ever.
                        conn.execute("SET idle_in_transaction_session_timeout = '5s'").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .with_context(|| format!("cannot connect to the database at {}", redact(&url)))?;
        Ok(Self { pool, backend })
    }

    /// Applies every migration not yet applied.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        MIGRATOR.run(&self.pool).await.context("running database migrations")
    }

    /// Which engine this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A connection from the pool.
    pub async fn acquire(&self) -> Result<PoolConnection<Any>, DbError> {
        Ok(self.pool.acquire().await?)
    }

    /// Begins a transaction that will write. On SQLite it takes the write lock
    /// up front (`BEGIN IMMEDIATE`) so two writers queue instead of deadlocking.
    pub async fn begin(&self) -> Result<Tx, DbError> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Picks the backend and makes SQLite URLs create their file.
fn normalise_url(url: &str) -> anyhow::Result<(Backend, String)> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok((Backend::Postgres, url.to_owned()));
    }
    if url.starts_with("sqlite:") {
        let url = if url.contains("mode=") || url.contains(":memory:") {
            url.to_owned()
        } else if url.contains('?') {
            format!("{url}&mode=rwc")
        } else {
            format!("{url}?mode=rwc")
        };
        return Ok((Backend::Sqlite, url));
    }
    anyhow::bail!("database URL must start with sqlite:// or postgres://, got {}", redact(url))
}

/// The URL with any password replaced, for messages and logs (one that
/// does not parse is not shown at all: it might hold a password).
pub fn redact(text: &str) -> String {
    match url::Url::parse(text) {
        Ok(mut parsed) => {
            if parsed.password().is_some() && parsed.set_password(Some("***")).is_err() {
                return "(a URL that cannot be shown)".to_owned();
            }
            parsed.to_string()
        }
        Err(_) => "(a URL that does not parse)".to_owned(),
    }
}

/// Whether `error` means the database could not be reached (as opposed to
/// refusing a query): callers may answer 503 and retry later.
pub fn is_unreachable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::WorkerCrashed => true,
        // PostgreSQL: connection exceptions, the server shutting down or starting, too many connections.
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08") || matches!(code.as_ref(), "57P01" | "57P02" | "57P03" | "53300")
        }),
        _ => false,
    }
}

/// Whether `error` is a unique-key violation: someone stored the same thing first.
pub fn is_unique_violation(error: &DbError) -> bool {
    matches!(error, DbError::Other(sqlx::Error::Database(db)) if db.is_unique_violation())
}

/// A fresh application-generated id (time-ordered UUIDv7).
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(redact("postgres://app:s3cret@db:5432/railyard"), "postgres://app:***@db:5432/railyard");
        assert_eq!(redact("sqlite://railyard.db"), "sqlite://railyard.db");
        assert_eq!(redact("postgres://app@db/railyard"), "postgres://app@db/railyard", "no password, nothing hidden");
        assert!(!redact("postgres//app:s3cret@db").contains("s3cret"), "an unparsable URL is not echoed");
    }

    #[test]
    fn sqlite_files_are_created_when_missing() {
        let (backend, url) = normalise_url("sqlite://railyard.db").expect("valid url");
        assert_eq!(backend, Backend::Sqlite);
        assert_eq!(url, "sqlite://railyard.db?mode=rwc");
    }

    #[test]
    fn unknown_schemes_are_refused() {
        assert!(normalise_url("mysql://x").is_err());
    }
}
