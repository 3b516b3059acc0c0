//! Salesforce's concurrent long-running request limit: while `max_long_requests` calls (25 in
//! a production org) have each been running `long_request_threshold` (20 s) or longer, a new
//! call is refused with 403 `REQUEST_LIMIT_EXCEEDED` "ConcurrentPerOrgLongTxn Limit exceeded.";
//! calls shorter than the threshold are never limited.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::state::lock;

/// The calls being answered now, by when each began.
#[derive(Default)]
pub struct LongRequests {
    next: AtomicU64,
    running: Mutex<HashMap<u64, Instant>>,
}

/// A call being answered; dropping it ends it.
pub struct Running<'a> {
    id: u64,
    of: &'a LongRequests,
}

impl LongRequests {
    /// Whether `max` calls have been running for `threshold` or longer.
    pub fn at_limit(&self, threshold: Duration, max: usize, now: Instant) -> bool {
        let running = lock(&self.running);
        running
            .values()
            .filter(|began| now.saturating_duration_since(**began) >= threshold)
            .count()
            >= max
    }

    /// Counts a call as running until the returned guard is dropped.
    pub fn begin(&self, now: Instant) -> Running<'_> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        lock(&self.running).insert(id, now);
        Running { id, of: self }
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        lock(&self.of.running).remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_calls_past_the_threshold_count_and_an_ended_call_frees_its_place() {
        let calls = LongRequests::default();
        let start = Instant::now();
        let first = calls.begin(start);
        let _second = calls.begin(start + Duration::from_secs(15));
        let later = start + Duration::from_secs(21);
        let threshold = Duration::from_secs(20);
        assert!(calls.at_limit(threshold, 1, later));
        assert!(
            !calls.at_limit(threshold, 2, later),
            "the second is short yet"
        );
        drop(first);
        assert!(!calls.at_limit(threshold, 1, later));
    }
}
