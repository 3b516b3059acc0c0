//! State shared by every handler: configuration, store, readiness, metrics, the mappings
//! (switches and held problems live in the store) and the worker's liveness. Handlers never
//! run sync work: they queue it for the leader.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use metrics_exporter_prometheus::PrometheusHandle;

use crate::config::Config;
use crate::liveness::Liveness;
use crate::mappings::Mappings;
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
    mappings: Mappings,
    liveness: Liveness,
    sign_ins: super::console::throttle::SignInThrottle,
}

impl AppState {
    pub fn new(
        config: Arc<Config>,
        store: Store,
        readiness: Readiness,
        metrics: PrometheusHandle,
        mappings: Mappings,
        liveness: Liveness,
    ) -> Self {
        AppState {
            inner: Arc::new(Inner {
                config,
                store,
                readiness,
                metrics,
                mappings,
                liveness,
                sign_ins: Default::default(),
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

    /// The configured mappings' campaigns and programs, for the failing-signal lists.
    pub fn mapping_scopes(&self) -> Vec<crate::store::MappingScope> {
        self.mappings()
            .all()
            .iter()
            .map(|m| crate::store::MappingScope {
                name: m.name().to_string(),
                campaign_id: m.config.campaign_id.clone(),
                program_id: m.config.program_id,
            })
            .collect()
    }

    pub fn mappings(&self) -> &Mappings {
        &self.inner.mappings
    }

    /// The mappings with the switches and held problems every replica shares, read now (the
    /// last known ones when the store does not answer).
    pub async fn shared_mappings(&self) -> &Mappings {
        if let Err(error) = self.inner.mappings.refresh(&self.inner.store).await {
            tracing::warn!(%error, "could not read the shared switches; answering from memory");
        }
        &self.inner.mappings
    }

    pub fn liveness(&self) -> &Liveness {
        &self.inner.liveness
    }

    /// Refused console sign-ins by client address.
    pub fn sign_ins(&self) -> &super::console::throttle::SignInThrottle {
        &self.inner.sign_ins
    }
}
