//! Building and running the server: bind first (port 0 works in tests),
//! then serve until a shutdown signal, stopping the scheduler cleanly.

use secrecy::ExposeSecret;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::serve::ListenerExt;
use axum::Router;
use leptos::prelude::LeptosOptions;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::api::ApiState;
use crate::assets::Site;
use crate::auth::{self, rate_limit::LoginLimits, AuthContext};
use crate::clock::Clock;
use crate::config::Settings;
use crate::integrations::{self, FleetIntegrations, SimulatedMetrics};
use crate::leadership::{self, Fence, Role};
use crate::pages::StoreBackend;
use crate::read_cache::ReadCaches;
use crate::routes::{router, AppState};
use crate::store::Db;
use crate::{alerter, audit, demo_driver, demo_history, fleet, gitops_sync, runtime, scheduler};

/// How often the runtime looks for due effects.
const RUNTIME_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);
/// How often the stuck-train detector looks.
const STUCK_CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);
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
    role: Arc<Role>,
    caches: Arc<ReadCaches>,
}

impl Application {
    /// Connects and migrates the store, seeds the demo fleet if asked, and binds the listener.
    pub async fn build(settings: Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        settings.validate()?;
        let db = Db::connect(&settings.database_url).await?;
        db.migrate().await?;
        let seeded = if settings.demo {
            let seeded = fleet::demo::seed(&db, clock.now()).await.context("loading the demo fleet")?;
            tracing::info!(summary = %seeded.summary, "demo fleet loaded");
            Some(seeded)
        } else {
            None
        };
        let now = clock.instant();
        auth::bootstrap::ensure_admin(&db, &settings.auth, now).await?;
        if let Some(seeded) = seeded {
            auth::bootstrap::demo_users(&db, now).await.context("creating the demo users")?;
            if seeded.fresh && settings.demo_history {
                tracing::info!(
                    "first start of the demo: replaying its last six weeks through the engine (a few seconds)"
                );
                let past = demo_history::replay(&db, clock.now(), settings.timeouts)
                    .await
                    .context("replaying the demo's past")?;
                tracing::info!(%past, "demo history replayed through the engine");
            }
        }
        let auth = AuthContext {
            settings: settings.auth.clone(),
            limits: LoginLimits::default(),
            embed_key: auth::bootstrap::embed_key(&db, now).await?.into(),
            audit_key: settings.auth.audit_key.as_ref().map(|key| Arc::from(key.expose_secret().as_bytes())),
            oidc: match &settings.auth.oidc {
                None => None,
                Some(oidc) => {
                    Some(Arc::new(auth::oidc::OidcProvider::new(oidc.clone()).context("setting up single sign-on")?))
                }
            },
        };
        if auth.audit_key.is_none() {
            tracing::warn!(
                "RAILYARD_AUDIT_KEY is not set: the audit log's head is logged now and then, but not signed"
            );
        }
        let listener =
            TcpListener::bind(settings.addr).await.with_context(|| format!("cannot listen on {}", settings.addr))?;
        let address = listener.local_addr()?;
        let leptos_options = LeptosOptions::builder()
            .output_name("railyard")
            .site_root(settings.site_root.to_string_lossy().into_owned())
            .site_pkg_dir("pkg")
            .site_addr(address)
            .build();
        let role = Arc::new(Role::new(leadership::holder_name(address)));
        let caches = Arc::new(ReadCaches::default());
        let api = ApiState {
            db: db.clone(),
            clock: clock.clone(),
            auth,
            role: role.clone(),
            stuck_after: settings.stuck_after,
            caches: caches.clone(),
            demo: settings.demo,
        };
        let backend = Arc::new(StoreBackend::new(api.clone()));
        let state = AppState { leptos_options, api };
        let limit = settings.max_concurrent_requests;
        let site = Site::load(&settings.site_root);
        Ok(Self { listener, address, router: router(state, backend, site, limit), db, clock, settings, role, caches })
    }

    /// The address actually bound.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The store this server uses.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Serves until `shutdown` completes. Meanwhile the replica competes for
    /// the orchestrator lease and, while it leads, runs the background workers.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let (stop, stopped) = watch::channel(false);
        let mut leader = None;
        if self.settings.run_workers {
            let workers = Workers::new(&self.db, &self.clock, &self.settings, &self.caches)?;
            let start = move |fence, stopped| workers.start(fence, stopped);
            leader = Some(tokio::spawn(leadership::run(
                self.db.clone(),
                self.settings.lease,
                self.role.clone(),
                start,
                stopped,
            )));
        }
        // Without TCP_NODELAY a response written in pieces (a static file) waits on the
        // client's delayed ACK: 40 ms for a small asset on loopback.
        let listener = self.listener.tap_io(|stream| {
            if let Err(error) = stream.set_nodelay(true) {
                tracing::debug!(%error, "cannot set TCP_NODELAY on a connection");
            }
        });
        axum::serve(listener, self.router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async move {
                shutdown.await;
                let _ = stop.send(true);
            })
            .await
            .context("serving HTTP")?;
        if let Some(leader) = leader {
            leader.await.context("the leadership task failed")?;
        }
        self.db.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// What the leader runs in the background, built once and started for each term.
struct Workers {
    db: Db,
    caches: Arc<ReadCaches>,
    clock: Arc<dyn Clock>,
    settings: Settings,
    integrations: Arc<FleetIntegrations>,
    gitops: Arc<gitops_sync::watch::Watcher>,
    alerter: Arc<alerter::Alerter>,
}

impl Workers {
    fn new(db: &Db, clock: &Arc<dyn Clock>, settings: &Settings, caches: &Arc<ReadCaches>) -> anyhow::Result<Self> {
        let metrics = if settings.demo {
            SimulatedMetrics {
                regression: Some(("sessions".to_owned(), 1, 3)),
                burning: Some(("auth".to_owned(), 1, 4)),
                exhausted: vec!["ranking".to_owned()],
                ..SimulatedMetrics::default()
            }
        } else {
            SimulatedMetrics::default()
        };
        let integrations = Arc::new(
            FleetIntegrations::with_timeouts(db.clone(), clock.clone(), metrics, settings.timeouts)?
                .with_public_url(&settings.alerting.public_url),
        );
        let gitops = Arc::new(gitops_sync::watch::Watcher::new(db.clone(), settings.timeouts.webhook)?);
        let alerter = Arc::new(alerter::Alerter::new(db.clone(), settings.alerting.clone())?);
        Ok(Self {
            db: db.clone(),
            caches: caches.clone(),
            clock: clock.clone(),
            settings: settings.clone(),
            integrations,
            gitops,
            alerter,
        })
    }

    /// Spawns every worker for the term behind `fence`; they stop when `stopped` turns true.
    fn start(&self, fence: Fence, stopped: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
        let (db, caches, clock, settings) = (&self.db, &self.caches, &self.clock, &self.settings);
        let mut workers = vec![
            tokio::spawn(audit::checkpoint::run(
                db.clone(),
                clock.clone(),
                settings.auth.audit_checkpoint_interval,
                settings.auth.audit_key.as_ref().map(|key| Arc::from(key.expose_secret().as_bytes())),
                stopped.clone(),
            )),
            tokio::spawn(scheduler::run(
                db.clone(),
                caches.clone(),
                fence,
                clock.clone(),
                settings.scheduler,
                stopped.clone(),
            )),
            tokio::spawn(integrations::budget_samples::run(
                self.integrations.clone(),
                caches.clone(),
                clock.clone(),
                BUDGET_SAMPLING_INTERVAL,
                stopped.clone(),
            )),
            tokio::spawn(runtime::run(
                db.clone(),
                caches.clone(),
                fence,
                self.integrations.clone(),
                clock.clone(),
                RUNTIME_INTERVAL,
                stopped.clone(),
            )),
            tokio::spawn(gitops_sync::watch::run(
                self.gitops.clone(),
                caches.clone(),
                clock.clone(),
                settings.gitops_poll,
                stopped.clone(),
            )),
            tokio::spawn(alerter::run(self.alerter.clone(), clock.clone(), stopped.clone())),
            tokio::spawn(runtime::stuck::watch(
                db.clone(),
                clock.clone(),
                settings.stuck_after,
                STUCK_CHECK_INTERVAL,
                stopped.clone(),
            )),
        ];
        if settings.demo {
            workers.push(tokio::spawn(demo_driver::run(db.clone(), caches.clone(), clock.clone(), stopped)));
        }
        workers
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
