//! Logs (tracing; JSON with `CAMPAIGN_SYNC_LOG_FORMAT=json`, `RUST_LOG` honoured) and the
//! Prometheus recorder.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

/// Latency buckets in seconds, from a fast acknowledgement to a slow API call.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// How often the histogram samples recorded since the last drain are folded into their buckets.
const METRICS_UPKEEP: Duration = Duration::from_secs(1);

/// Whether logs are JSON lines (`CAMPAIGN_SYNC_LOG_FORMAT=json`) rather than text.
pub fn json_logs() -> bool {
    log_format().is_ok_and(|json| json)
}

/// `CAMPAIGN_SYNC_LOG_FORMAT`: `json` (any case) or `text`; unset or empty is text. Anything
/// else is told once the logs run, in text.
fn log_format() -> Result<bool, String> {
    match std::env::var("CAMPAIGN_SYNC_LOG_FORMAT") {
        Ok(value) => match value.trim().to_ascii_lowercase().as_str() {
            "json" => Ok(true),
            "text" | "" => Ok(false),
            _ => Err(value),
        },
        Err(_) => Ok(false),
    }
}

/// Installs the log subscriber once; later calls (tests) are ignored. `one_shot`: a command
/// that ends on a refusal the service would wait out (a pause on refused credentials or a daily
/// quota) and says why as its last line, so the pause's own warning is left out by default.
pub fn init_logs(one_shot: bool) {
    // PostgreSQL's own notices (e.g. "relation _sqlx_migrations already exists, skipping" on
    // every start) are not the operator's business unless they warn; nor is the pool's note of
    // each idle connection it replaces (the service says what failed, in its own words).
    let default = if one_shot {
        "info,sqlx::postgres::notice=warn,sqlx_core::pool=warn,campaign_sync::quota=error"
    } else {
        "info,sqlx::postgres::notice=warn,sqlx_core::pool=warn"
    };
    let (filter, bad_filter) = match std::env::var("RUST_LOG") {
        Ok(text) if !text.trim().is_empty() => match EnvFilter::try_new(&text) {
            Ok(filter) => (filter, None),
            Err(error) => (EnvFilter::new(default), Some((text, error))),
        },
        _ => (EnvFilter::new(default), None),
    };
    let json = json_logs();
    // Colours only for a person at a terminal, never into files or log collectors.
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr());
    // A log line that cannot be written (a closed pipe, a full disk) is dropped: the default
    // reports it with `eprintln!`, which panics when stderr itself fails and so stopped the
    // service mid-work.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .log_internal_errors(false)
        .with_writer(std::io::stderr);
    let installed = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
    if installed.is_ok() {
        if let Some((text, error)) = bad_filter {
            tracing::warn!(
                "RUST_LOG={text:?} is not a log filter ({error}); logging with the default, {default:?}"
            );
        }
        if let Err(value) = log_format() {
            tracing::warn!(
                "CAMPAIGN_SYNC_LOG_FORMAT={value:?} is neither `json` nor `text`; logging as text"
            );
        }
    }
    let _ = DEFAULT_HOOK.set(std::panic::take_hook());
    std::panic::set_hook(Box::new(log_panic));
}

type PanicHook = Box<dyn Fn(&std::panic::PanicHookInfo<'_>) + Sync + Send + 'static>;

/// The hook Rust installed, for panics the log filter would drop.
static DEFAULT_HOOK: OnceLock<PanicHook> = OnceLock::new();

/// A panic as a log line with its backtrace, in the log's own format. The worker and the HTTP
/// layer catch panics and go on (the item ends dead with "internal error"); this line is where
/// an operator finds where it happened.
/// When `RUST_LOG` leaves out errors of `campaign_sync::panic`, Rust's own hook prints it, so a
/// panic is never silent.
fn log_panic(info: &std::panic::PanicHookInfo<'_>) {
    if tracing::enabled!(target: "campaign_sync::panic", tracing::Level::ERROR) {
        let backtrace = std::backtrace::Backtrace::force_capture();
        tracing::error!(target: "campaign_sync::panic", panic = %info, %backtrace, "panicked");
    } else if let Some(default) = DEFAULT_HOOK.get() {
        default(info);
    }
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
            if metrics::set_global_recorder(recorder).is_ok() {
                crate::telemetry_help::describe_all();
            }
            handle
        })
        .clone()
}

/// Folds the histogram samples recorded since the last drain into their buckets, every
/// [`METRICS_UPKEEP`] until `shutdown`. The recorder keeps each sample (about 8 bytes) until
/// then, and otherwise only reading `/metrics` drains them: a service nobody scrapes would grow
/// by about 0.8 MiB a second under a webhook burst (two histograms per request).
pub async fn drain_metrics(shutdown: CancellationToken) {
    let handle = metrics_handle();
    let mut upkeep = tokio::time::interval(METRICS_UPKEEP);
    upkeep.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = upkeep.tick() => handle.run_upkeep(),
            () = shutdown.cancelled() => return,
        }
    }
}

/// Shows the counters an alert may watch at 0 from the start, rather than only once they first
/// count something: an alert on `rate()` or `absent()` then sees the series before any event.
/// The reconciliation series are made for each configured mapping.
pub fn zero_series(mappings: &[String]) {
    metrics::counter!("salesforce_deletions_out_of_reach_total").increment(0);
    metrics::counter!("salesforce_deletions_ignored_total").increment(0);
    metrics::counter!("outbound_notifications_without_data_total").increment(0);
    metrics::counter!("salesforce_future_stamps_total").increment(0);
    for mapping in mappings {
        for kind in [
            "salesforce_changed",
            "marketo_changed",
            "salesforce_removed",
            "marketo_removed",
        ] {
            metrics::counter!("reconcile_differences_total", "mapping" => mapping.clone(), "kind" => kind)
                .increment(0);
        }
        for result in ["applied", "dead"] {
            metrics::counter!("reconcile_repairs_total", "mapping" => mapping.clone(), "result" => result)
                .increment(0);
        }
    }
}

/// What `during` returns, and the log lines it wrote (plain text, no colours), for tests of
/// what the service logs.
#[cfg(test)]
pub(crate) fn logged<T>(during: impl FnOnce() -> T) -> (T, String) {
    /// Log lines written to a shared buffer.
    #[derive(Clone, Default)]
    struct Lines(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    let lines = Lines::default();
    let writer = lines.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let value = tracing::subscriber::with_default(subscriber, during);
    let text = String::from_utf8_lossy(&lines.0.lock().unwrap()).into_owned();
    (value, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn metrics_are_drained_until_shutdown() {
        let shutdown = CancellationToken::new();
        let drain = tokio::spawn(drain_metrics(shutdown.clone()));
        metrics_handle();
        metrics::histogram!("telemetry_test_seconds").record(0.5);
        tokio::time::sleep(3 * METRICS_UPKEEP).await;
        assert!(!drain.is_finished());
        // Drained samples still count: the bucket totals keep them.
        assert!(
            metrics_handle()
                .render()
                .contains("telemetry_test_seconds_count 1")
        );
        shutdown.cancel();
        drain.await.unwrap();
    }

    #[test]
    fn a_panic_is_logged_with_where_it_happened_and_its_backtrace() {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(log_panic));
        // The hook runs on the panicking thread, where the capturing subscriber is the default.
        let (caught, text) = logged(|| std::panic::catch_unwind(|| panic!("poisoned input 42")));
        std::panic::set_hook(previous);
        assert!(caught.is_err());
        assert!(text.contains("poisoned input 42"), "{text}");
        assert!(
            text.contains("src/telemetry.rs"),
            "the panic's place: {text}"
        );
        assert!(text.contains("backtrace="), "{text}");
    }
}
