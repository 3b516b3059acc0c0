//! Builds the service from its configuration: store, routers, listeners (the admin one when
//! `admin_listen` is set); runs it until the shutdown token is cancelled, then drains.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::http::{self, AppState, Readiness};
use crate::instance_lock::{self, InstanceLock};
use crate::liveness::Liveness;
use crate::mappings::Mappings;
use crate::outbox::Deliverer;
use crate::store::Store;
use crate::telemetry;
use crate::worker::Worker;

/// The end of a stop after the worker's share of the bound, at most.
const WRAP_UP: Duration = Duration::from_secs(2);
/// Each step of that end (handing back leases, sharing the call count) waits this long at most.
const STEP_TIMEOUT: Duration = Duration::from_millis(700);

pub struct App {
    listener: TcpListener,
    admin_listener: Option<TcpListener>,
    state: AppState,
    worker: Worker,
    /// Sends the outbox to subscribers, on its own task beside the worker.
    deliverer: Deliverer,
    shutdown: CancellationToken,
    /// On SQLite, refuses a second process on the same file for as long as this one runs.
    instance_lock: Option<InstanceLock>,
}

impl App {
    /// Locks a SQLite file against a second process, opens (and migrates) the store and binds
    /// the listeners. `listen` with port 0 picks a free port; `local_addr` tells which.
    pub async fn build(config: Config, shutdown: CancellationToken) -> anyhow::Result<App> {
        let instance_lock = instance_lock::acquire(config.database_url.expose())?;
        let store = Store::connect(config.database_url.expose())
            .await
            .map_err(|e| anyhow::anyhow!("opening the store: {e}"))?;
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|e| anyhow::anyhow!("binding {}: {e}", config.listen))?;
        let admin_listener = match config.admin_listen {
            Some(address) => Some(
                TcpListener::bind(address)
                    .await
                    .map_err(|e| anyhow::anyhow!("binding admin_listen {address}: {e}"))?,
            ),
            None => None,
        };
        let config = Arc::new(config);
        let mappings = Mappings::configured(&config.mappings, config.sync_enabled);
        let liveness = Liveness::default();
        let worker = Worker::new(
            store.clone(),
            config.clone(),
            mappings.clone(),
            liveness.clone(),
        )?;
        let deliverer = Deliverer::new(
            store.clone(),
            config.clone(),
            worker.marketo().clone(),
            worker.salesforce().clone(),
        )?
        .marketo_only_when_leading(liveness.clone());
        let metrics = telemetry::metrics_handle();
        let names: Vec<String> = config.mappings.iter().map(|m| m.name.clone()).collect();
        telemetry::zero_series(&names);
        // Today's calls and any pause from before this start (or from other replicas) count
        // before the first call is made; after the recorder is in place, so the pause's gauge
        // shows it at once.
        if let Err(error) = liveness
            .quota()
            .share(&store, crate::store::now_millis())
            .await
        {
            tracing::warn!(%error, "could not read the shared daily call counts");
        }
        liveness.publish_metrics();
        let state = AppState::new(
            config,
            store,
            Readiness::default(),
            metrics,
            mappings,
            liveness,
        );
        Ok(App {
            listener,
            admin_listener,
            state,
            worker,
            deliverer,
            shutdown,
            instance_lock,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Where `/metrics` and `/admin/...` are served when `admin_listen` is set.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_listener.as_ref().map(|listener| {
            listener
                .local_addr()
                .expect("a bound listener has an address")
        })
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The sync worker; tests drive it with `run_pending()` instead of its loop.
    pub fn worker(&self) -> &Worker {
        &self.worker
    }

    /// Serves until the shutdown token is cancelled. Then `/readyz` turns 503 at once, requests
    /// keep being answered for the drain delay so the load balancer notices, in-flight requests
    /// finish, and the call returns within the configured bound.
    pub async fn run(self) -> anyhow::Result<()> {
        let App {
            listener,
            admin_listener,
            state,
            worker,
            deliverer,
            shutdown,
            instance_lock,
        } = self;
        let http_config = state.config().http.clone();
        let drain = Duration::from_secs(http_config.drain_delay_secs);
        let bound = Duration::from_secs(http_config.shutdown_timeout_secs);
        let store = state.store().clone();
        let owner = worker.owner().to_string();
        // Without either side's credentials there is nothing a worker could call.
        let runs_worker = state.config().worker.enabled && state.config().apis_configured();
        if !state.config().worker.enabled {
            tracing::info!(
                "worker.enabled = false: this replica receives and stores signals but runs no worker"
            );
        }
        let worker = runs_worker.then(|| tokio::spawn(worker.clone().run(shutdown.clone())));
        let delivering = runs_worker.then(|| tokio::spawn(deliverer.run(shutdown.clone())));
        tokio::spawn(telemetry::drain_metrics(shutdown.clone()));
        let quota = state.liveness().quota().clone();
        tokio::spawn(quota.clone().share_until(store.clone(), shutdown.clone()));
        let sides = [
            ("salesforce", state.config().salesforce.login_url.clone()),
            ("marketo", state.config().marketo.base_url.clone()),
        ];
        tokio::spawn(crate::upstream::share_until(
            store.clone(),
            quota.clone(),
            sides,
            shutdown.clone(),
        ));
        let cancelled = shutdown.clone();
        // The worker's share of the bound leaves time for what follows it (handing back its
        // leases, sharing the day's call count, closing the store), so the whole stop keeps
        // within drain + bound.
        let wrap_up = (bound / 4).min(WRAP_UP);
        let stop_by = tokio::spawn(async move {
            cancelled.cancelled().await;
            tokio::time::Instant::now() + drain + bound - wrap_up
        });
        let stop_accepting = CancellationToken::new();
        tokio::spawn(drain_then_stop(
            shutdown.clone(),
            state.readiness().clone(),
            drain,
            stop_accepting.clone(),
        ));
        let mut servers = tokio::task::JoinSet::new();
        let routers = match admin_listener {
            None => vec![("public", listener, http::router(state))],
            Some(admin) => vec![
                ("public", listener, http::public_router(state.clone())),
                ("admin", admin, http::admin_router(state)),
            ],
        };
        for (name, listener, router) in routers {
            let limits = http::server::ConnectionLimits::from_config(&http_config);
            let stop = stop_accepting.clone().cancelled_owned();
            servers.spawn(http::server::serve(name, listener, router, limits, stop));
        }
        let finished = tokio::select! {
            result = join_all(&mut servers) => Some(result),
            () = async { shutdown.cancelled().await; tokio::time::sleep(drain + bound).await } => None,
        };
        match finished {
            Some(result) => result?,
            None => {
                tracing::warn!("in-flight requests did not finish in time; stopping anyway");
                servers.abort_all();
            }
        }
        let stop_by = stop_by
            .await
            .unwrap_or_else(|_| tokio::time::Instant::now());
        if let Some(mut worker) = worker {
            // The worker stops between rounds; whatever is left of the bound lets it finish
            // and record its round. Past it, its leases are handed back before the store
            // closes, so the next start (or another replica) takes the signals at once.
            if tokio::time::timeout_at(stop_by, &mut worker).await.is_err() {
                worker.abort();
                tracing::warn!("the worker did not finish its round in time; releasing its leases");
                let released = tokio::time::timeout(
                    STEP_TIMEOUT,
                    store.release_own_leases(&owner, crate::store::now_millis()),
                )
                .await;
                match released {
                    Ok(Ok(_)) => {}
                    Ok(Err(error)) => {
                        tracing::warn!(%error, "could not release the worker's leases; they will expire")
                    }
                    Err(_) => tracing::warn!(
                        "releasing the worker's leases took too long; they will expire"
                    ),
                }
            }
        }
        // Subscriber deliveries in flight record how they ended (within the same share of the
        // bound) instead of staying leased.
        if let Some(delivering) = delivering
            && tokio::time::timeout_at(stop_by, delivering).await.is_err()
        {
            tracing::warn!(
                "subscriber deliveries did not end in time; they go again once their lease ends"
            );
        }
        // The calls made since the last share, so the next start (or another replica) counts
        // them against today's budget.
        match tokio::time::timeout(
            STEP_TIMEOUT,
            quota.share(&store, crate::store::now_millis()),
        )
        .await
        {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, "could not share the daily call counts"),
            Err(_) => tracing::warn!("sharing the daily call counts took too long; skipped"),
        }
        store.close().await;
        drop(instance_lock);
        match crate::commands::stopped_by() {
            Some(signal) => tracing::info!(signal, "stopped: {signal} asked for it; drained"),
            None => tracing::info!("stopped"),
        }
        Ok(())
    }
}

/// After shutdown is requested: `/readyz` turns 503 at once, requests are still answered for the
/// drain delay so the load balancer notices, then every listener stops accepting.
async fn drain_then_stop(
    shutdown: CancellationToken,
    readiness: Readiness,
    drain: Duration,
    stop_accepting: CancellationToken,
) {
    shutdown.cancelled().await;
    readiness.start_draining();
    tracing::info!(
        drain_secs = drain.as_secs(),
        "draining: /readyz now answers 503"
    );
    tokio::time::sleep(drain).await;
    tracing::info!("no longer accepting connections; finishing in-flight requests");
    stop_accepting.cancel();
}

/// Waits for every server; the first failure ends the wait.
async fn join_all(servers: &mut tokio::task::JoinSet<()>) -> anyhow::Result<()> {
    while let Some(result) = servers.join_next().await {
        result?;
    }
    Ok(())
}
