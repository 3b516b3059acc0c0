//! Salesforce's concurrent long-running request limit: while `max_long_requests` calls (25 in
//! a production org) have each been running `long_request_threshold` (20 s) or longer, a new
//! call is refused with 403 `REQUEST_LIMIT_EXCEEDED` "ConcurrentPerOrgLongTxn Limit exceeded.";
//! calls shorter than the threshold are never limited. `POST /__sim/limits/long-requests`
//! `{"thresholdMs": 100, "max": 2}` changes both while the simulator runs.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::state::{Shared, lock};
use crate::sim::fault_rules::bad_request;

/// The calls being answered now, by when each began, and the limit in force.
pub struct LongRequests {
    next: AtomicU64,
    running: Mutex<HashMap<u64, Instant>>,
    /// How long a call runs to be long-running, and how many of those may run at once.
    limit: Mutex<(Duration, usize)>,
}

/// A call being answered; dropping it ends it.
pub struct Running<'a> {
    id: u64,
    of: &'a LongRequests,
}

impl LongRequests {
    pub fn new(threshold: Duration, max: usize) -> LongRequests {
        LongRequests {
            next: AtomicU64::new(0),
            running: Mutex::new(HashMap::new()),
            limit: Mutex::new((threshold, max)),
        }
    }

    /// Whether as many calls as the limit allows have been running past its threshold.
    pub fn at_limit(&self, now: Instant) -> bool {
        let (threshold, max) = *lock(&self.limit);
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Limit {
    threshold_ms: u64,
    max: usize,
}

/// `POST /__sim/limits/long-requests` `{"thresholdMs": …, "max": …}`: the limit from now on
/// (`max` at least 1); answers it.
pub async fn set_limit(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let limit = match serde_json::from_slice::<Limit>(&body) {
        Ok(limit) if limit.max > 0 => limit,
        Ok(_) => return bad_request("max must be at least 1"),
        Err(error) => {
            return bad_request(&format!(
                "expected {{\"thresholdMs\": <number>, \"max\": <number>}}: {error}"
            ));
        }
    };
    *lock(&shared.long_requests.limit) = (Duration::from_millis(limit.threshold_ms), limit.max);
    Json(json!({ "thresholdMs": limit.threshold_ms, "max": limit.max })).into_response()
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
        let one = LongRequests::new(Duration::from_secs(20), 1);
        let two = LongRequests::new(Duration::from_secs(20), 2);
        let start = Instant::now();
        let later = start + Duration::from_secs(21);
        let first = one.begin(start);
        let _second = one.begin(start + Duration::from_secs(15));
        let _a = two.begin(start);
        let _b = two.begin(start + Duration::from_secs(15));
        assert!(one.at_limit(later));
        assert!(!two.at_limit(later), "the second is short yet");
        drop(first);
        assert!(!one.at_limit(later));
    }
}
