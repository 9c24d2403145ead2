//! Building and running the server: bind first (port 0 works in tests),
//! then serve until a shutdown signal, stopping the scheduler cleanly.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use leptos::prelude::LeptosOptions;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::api::ApiState;
use crate::auth::{self, rate_limit::LoginLimits, AuthContext};
use crate::clock::Clock;
use crate::config::Settings;
use crate::integrations::{self, FleetIntegrations, SimulatedMetrics};
use crate::pages::StoreBackend;
use crate::routes::{router, AppState};
use crate::store::Db;
use crate::{audit, demo_driver, fleet, runtime, scheduler};

/// How often the runtime looks for due effects.
const RUNTIME_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);
/// How often the budget sampler looks for samples to take.
const BUDGET_SAMPLING_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// A bound, ready-to-run server.
pub struct Application {
    listener: TcpListener,
    address: SocketAddr,
    router: Router,
    db: Db,
    clock: Arc<dyn Clock>,
    settings: Settings,
}

impl Application {
    /// Connects and migrates the store, seeds the demo fleet if asked, and binds the listener.
    pub async fn build(settings: Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let db = Db::connect(&settings.database_url).await?;
        db.migrate().await?;
        if settings.demo {
            let summary = fleet::demo::seed(&db, clock.now()).await.context("loading the demo fleet")?;
            tracing::info!(%summary, "demo fleet loaded");
        }
        let now = crate::time::to_ms(clock.now());
        auth::bootstrap::ensure_admin(&db, &settings.auth, now).await?;
        if settings.demo {
            auth::bootstrap::demo_users(&db, now).await.context("creating the demo users")?;
        }
        let auth = AuthContext {
            settings: settings.auth.clone(),
            limits: LoginLimits::default(),
            embed_key: auth::bootstrap::embed_key(&db, now).await?.into(),
        };
        let listener =
            TcpListener::bind(settings.addr).await.with_context(|| format!("cannot listen on {}", settings.addr))?;
        let address = listener.local_addr()?;
        let leptos_options = LeptosOptions::builder()
            .output_name("railyard")
            .site_root(settings.site_root.to_string_lossy().into_owned())
            .site_pkg_dir("pkg")
            .site_addr(address)
            .build();
        let api = ApiState { db: db.clone(), clock: clock.clone(), auth };
        let backend = Arc::new(StoreBackend::new(api.clone()));
        let state = AppState { leptos_options, api };
        Ok(Self { listener, address, router: router(state, backend), db, clock, settings })
    }

    /// The address actually bound.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The store this server uses.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Serves until `shutdown` completes, then stops the scheduler and closes the store.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let (stop, stopped) = watch::channel(false);
        let mut workers = Vec::new();
        if self.settings.run_workers {
            workers.push(tokio::spawn(audit::checkpoint::run(
                self.db.clone(),
                self.settings.auth.audit_checkpoint_interval,
                stopped.clone(),
            )));
            let metrics = if self.settings.demo {
                SimulatedMetrics {
                    regression: Some(("sessions".to_owned(), 1, 3)),
                    burning: Some(("auth".to_owned(), 1, 4)),
                    exhausted: vec!["ranking".to_owned()],
                }
            } else {
                SimulatedMetrics::default()
            };
            let (db, clock, timeouts) = (self.db.clone(), self.clock.clone(), self.settings.timeouts);
            let integrations = Arc::new(FleetIntegrations::with_timeouts(db, clock, metrics, timeouts)?);
            workers.push(tokio::spawn(scheduler::run(
                self.db.clone(),
                self.clock.clone(),
                self.settings.scheduler,
                stopped.clone(),
            )));
            workers.push(tokio::spawn(integrations::budget_samples::run(
                integrations.clone(),
                self.clock.clone(),
                BUDGET_SAMPLING_INTERVAL,
                stopped.clone(),
            )));
            workers.push(tokio::spawn(runtime::run(
                self.db.clone(),
                integrations,
                self.clock.clone(),
                RUNTIME_INTERVAL,
                stopped.clone(),
            )));
            if self.settings.demo {
                workers.push(tokio::spawn(demo_driver::run(self.db.clone(), self.clock.clone(), stopped)));
            }
        }
        axum::serve(self.listener, self.router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async move {
                shutdown.await;
                let _ = stop.send(true);
            })
            .await
            .context("serving HTTP")?;
        for worker in workers {
            worker.await.context("a background task failed")?;
        }
        self.db.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("SIGINT received; shutting down"),
        () = terminate => tracing::info!("SIGTERM received; shutting down"),
    }
}
