//! State shared by every handler: configuration, store, readiness, metrics and the worker.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use metrics_exporter_prometheus::PrometheusHandle;

use crate::config::Config;
use crate::store::Store;
use crate::worker::{Mappings, Worker};

/// Whether the load balancer should keep sending traffic. Flipped once, at shutdown.
#[derive(Clone, Default)]
pub struct Readiness {
    draining: Arc<AtomicBool>,
}

impl Readiness {
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }
}

#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    config: Arc<Config>,
    store: Store,
    readiness: Readiness,
    metrics: PrometheusHandle,
    worker: Worker,
}

impl AppState {
    pub fn new(
        config: Arc<Config>,
        store: Store,
        readiness: Readiness,
        metrics: PrometheusHandle,
        worker: Worker,
    ) -> Self {
        AppState {
            inner: Arc::new(Inner {
                config,
                store,
                readiness,
                metrics,
                worker,
            }),
        }
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn readiness(&self) -> &Readiness {
        &self.inner.readiness
    }

    pub fn metrics(&self) -> &PrometheusHandle {
        &self.inner.metrics
    }

    /// The worker (its loop may or may not run in this process; admin calls use its clients).
    pub fn worker(&self) -> &Worker {
        &self.inner.worker
    }

    pub fn mappings(&self) -> &Mappings {
        self.inner.worker.mappings()
    }
}
