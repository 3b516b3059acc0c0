//! The org's API allocation as Salesforce counts it: the calls of the last 24 hours, rolling
//! (kept in one-minute buckets), so a long-running simulator recovers as old calls age out.

use std::collections::VecDeque;
use std::sync::Mutex;

const MINUTE_MS: i64 = 60_000;
const WINDOW_MINUTES: i64 = 24 * 60;

#[derive(Debug, Default)]
pub struct DailyUsage {
    /// `(minute, calls)`, oldest first.
    buckets: Mutex<VecDeque<(i64, u64)>>,
}

impl DailyUsage {
    /// Counts one call at `now_ms`; the calls in the window, this one included.
    pub fn count(&self, now_ms: i64) -> u64 {
        let minute = now_ms.div_euclid(MINUTE_MS);
        let mut buckets = self.lock();
        match buckets.back_mut() {
            Some((last, calls)) if *last >= minute => *calls += 1,
            _ => buckets.push_back((minute, 1)),
        }
        total(&mut buckets, minute)
    }

    /// The calls in the window ending at `now_ms`.
    pub fn used(&self, now_ms: i64) -> u64 {
        total(&mut self.lock(), now_ms.div_euclid(MINUTE_MS))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<(i64, u64)>> {
        self.buckets.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Drops the buckets older than the window ending in `minute`, and sums the rest.
fn total(buckets: &mut VecDeque<(i64, u64)>, minute: i64) -> u64 {
    while buckets
        .front()
        .is_some_and(|(m, _)| *m <= minute - WINDOW_MINUTES)
    {
        buckets.pop_front();
    }
    buckets.iter().map(|(_, calls)| calls).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_leave_the_count_a_day_after_they_were_made() {
        let usage = DailyUsage::default();
        let t0 = 1_700_000_000_000;
        assert_eq!(usage.count(t0), 1);
        assert_eq!(usage.count(t0 + 1_000), 2);
        assert_eq!(usage.count(t0 + 3_600_000), 3);
        assert_eq!(usage.used(t0 + 24 * 3_600_000 - MINUTE_MS), 3);
        assert_eq!(usage.used(t0 + 24 * 3_600_000 + MINUTE_MS), 1);
        assert_eq!(usage.used(t0 + 25 * 3_600_000 + MINUTE_MS), 0);
        assert_eq!(usage.count(t0 + 26 * 3_600_000), 1);
    }
}
