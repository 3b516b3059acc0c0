//! Builds the service from its configuration: store, router, listener; runs it until the
//! shutdown token is cancelled, then drains.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::http::{self, AppState, Readiness};
use crate::store::Store;
use crate::telemetry;
use crate::worker::{Mappings, Worker};

pub struct App {
    listener: TcpListener,
    state: AppState,
    shutdown: CancellationToken,
}

impl App {
    /// Opens (and migrates) the store and binds the listener. `listen` with port 0 picks a free
    /// port; `local_addr` tells which.
    pub async fn build(config: Config, shutdown: CancellationToken) -> anyhow::Result<App> {
        let store = Store::connect(config.database_url.expose())
            .await
            .map_err(|e| anyhow::anyhow!("opening the store: {e}"))?;
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|e| anyhow::anyhow!("binding {}: {e}", config.listen))?;
        let config = Arc::new(config);
        let worker = Worker::new(
            store.clone(),
            config.clone(),
            Mappings::new(&config.mappings),
        )?;
        let state = AppState::new(
            config,
            store,
            Readiness::default(),
            telemetry::metrics_handle(),
            worker,
        );
        Ok(App {
            listener,
            state,
            shutdown,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The sync worker; tests drive it with `run_pending()` instead of its loop.
    pub fn worker(&self) -> &Worker {
        self.state.worker()
    }

    /// Serves until the shutdown token is cancelled. Then `/readyz` turns 503 at once, requests
    /// keep being answered for the drain delay so the load balancer notices, in-flight requests
    /// finish, and the call returns within the configured bound.
    pub async fn run(self) -> anyhow::Result<()> {
        let App {
            listener,
            state,
            shutdown,
        } = self;
        let http_config = state.config().http.clone();
        let drain = Duration::from_secs(http_config.drain_delay_secs);
        let bound = Duration::from_secs(http_config.shutdown_timeout_secs);
        let readiness = state.readiness().clone();
        let store = state.store().clone();
        let worker = state
            .config()
            .worker
            .enabled
            .then(|| tokio::spawn(state.worker().clone().run(shutdown.clone())));
        let router = http::router(state);
        let signal = shutdown.clone();
        let limits = http::server::ConnectionLimits::from_config(&http_config);
        let server = http::server::serve(listener, router, limits, async move {
            signal.cancelled().await;
            readiness.start_draining();
            tracing::info!(
                drain_secs = drain.as_secs(),
                "draining: /readyz now answers 503"
            );
            tokio::time::sleep(drain).await;
            tracing::info!("no longer accepting connections; finishing in-flight requests");
        });
        let mut serving = tokio::spawn(server);
        tokio::select! {
            result = &mut serving => result?,
            () = async { shutdown.cancelled().await; tokio::time::sleep(drain + bound).await } => {
                tracing::warn!("in-flight requests did not finish in time; stopping anyway");
                serving.abort();
            }
        }
        if let Some(worker) = worker {
            // The worker finishes its round; an unfinished lease simply expires.
            let _ = tokio::time::timeout(bound, worker).await;
        }
        store.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}
