//! The worker's liveness, shared with the HTTP layer: whether this replica leads, when the last
//! round ended, the last error, and how often the worker task crashed in a row. `/healthz`
//! fails after repeated crashes, so an orchestrator restarts the process.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

/// Crashes in a row after which `/healthz` fails.
pub const CRASHES_BEFORE_UNHEALTHY: u32 = 3;

#[derive(Clone, Default)]
pub struct Liveness {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    leader: AtomicBool,
    last_round_ms: AtomicI64,
    crashes_in_a_row: AtomicU32,
    restarts: AtomicU32,
    last_error: Mutex<Option<String>>,
    /// Each side's daily-quota pause and call count (the clients share it).
    quota: crate::quota::Quota,
}

impl Liveness {
    /// Whether this replica runs the worker. One that stops (it lost the lock, or is stopping)
    /// forgets its last round, as a follower has none: a round time frozen on a former leader
    /// would read as a stuck worker.
    pub fn set_leader(&self, leader: bool) {
        let was = self.inner.leader.swap(leader, Ordering::SeqCst);
        metrics::gauge!("worker_leader").set(if leader { 1.0 } else { 0.0 });
        if was && !leader {
            self.inner.last_round_ms.store(0, Ordering::SeqCst);
            metrics::gauge!("worker_last_round_timestamp_seconds").set(0.0);
        }
    }

    /// Shows the restart count and each side's pause in `/metrics` from the start, at 0 until
    /// something happens, so a dashboard or alert has a series to read before the first event.
    /// Adding nothing registers a series without moving one another part of the process set.
    pub fn publish_metrics(&self) {
        metrics::counter!("worker_restarts_total").increment(0);
        // 0 until this replica's worker takes the lock (and on a replica that runs none).
        metrics::gauge!("worker_leader").increment(0.0);
        metrics::gauge!("worker_last_round_timestamp_seconds").increment(0.0);
        for side in [&self.inner.quota.marketo, &self.inner.quota.salesforce] {
            metrics::gauge!("upstream_paused_until_seconds", "system" => side.system())
                .increment(0.0);
        }
    }

    /// Each side's daily-quota pause and call count, as the clients see them.
    pub fn quota(&self) -> &crate::quota::Quota {
        &self.inner.quota
    }

    pub fn is_leader(&self) -> bool {
        self.inner.leader.load(Ordering::SeqCst)
    }

    /// A round (or an idle pass) ended normally at `now_ms`.
    pub fn round_ended(&self, now_ms: i64) {
        self.inner.last_round_ms.store(now_ms, Ordering::SeqCst);
        self.inner.crashes_in_a_row.store(0, Ordering::SeqCst);
        metrics::gauge!("worker_last_round_timestamp_seconds").set(now_ms as f64 / 1000.0);
    }

    pub fn error(&self, error: String) {
        *self
            .inner
            .last_error
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(error);
    }

    /// The worker task ended unexpectedly and is being restarted.
    pub fn crashed(&self, why: String) {
        self.inner.crashes_in_a_row.fetch_add(1, Ordering::SeqCst);
        self.inner.restarts.fetch_add(1, Ordering::SeqCst);
        metrics::counter!("worker_restarts_total").increment(1);
        self.error(why);
    }

    pub fn last_round_ms(&self) -> Option<i64> {
        Some(self.inner.last_round_ms.load(Ordering::SeqCst)).filter(|&ms| ms > 0)
    }

    pub fn last_error(&self) -> Option<String> {
        self.inner
            .last_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn restarts(&self) -> u32 {
        self.inner.restarts.load(Ordering::SeqCst)
    }

    /// False once the worker crashed [`CRASHES_BEFORE_UNHEALTHY`] times in a row.
    pub fn is_healthy(&self) -> bool {
        self.inner.crashes_in_a_row.load(Ordering::SeqCst) < CRASHES_BEFORE_UNHEALTHY
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replica_that_stops_leading_forgets_its_last_round() {
        let liveness = Liveness::default();
        liveness.set_leader(true);
        liveness.round_ended(1_000);
        assert_eq!(liveness.last_round_ms(), Some(1_000));
        liveness.set_leader(true);
        assert_eq!(liveness.last_round_ms(), Some(1_000), "still leading");
        liveness.set_leader(false);
        assert_eq!(liveness.last_round_ms(), None);
    }
}
