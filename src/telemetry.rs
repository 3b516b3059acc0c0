//! Logs (tracing; JSON with `CAMPAIGN_SYNC_LOG_FORMAT=json`, `RUST_LOG` honoured) and the
//! Prometheus recorder.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

/// Latency buckets in seconds, from a fast acknowledgement to a slow API call.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Installs the log subscriber once; later calls (tests) are ignored.
pub fn init_logs() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("CAMPAIGN_SYNC_LOG_FORMAT").is_ok_and(|v| v == "json");
    // Colours only for a person at a terminal, never into files or log collectors.
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
}

/// The process-wide Prometheus recorder. The `metrics` facade has one global recorder, so every
/// app in a process (tests start many) shares it.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(BUCKETS)
                .expect("static, non-empty buckets")
                .build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed by an embedding program; then our
            // metrics go there and /metrics shows only what this handle sees.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}
