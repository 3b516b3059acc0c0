//! State shared by every handler: configuration, store, readiness and the metrics handle.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use metrics_exporter_prometheus::PrometheusHandle;

use crate::config::Config;
use crate::store::Store;

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
}

impl AppState {
    pub fn new(
        config: Arc<Config>,
        store: Store,
        readiness: Readiness,
        metrics: PrometheusHandle,
    ) -> Self {
        AppState {
            inner: Arc::new(Inner {
                config,
                store,
                readiness,
                metrics,
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
}
