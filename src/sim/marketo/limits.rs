//! Marketo's per-instance limits: calls per rolling window (606), calls in flight (615) and a
//! daily quota that resets at midnight US Central time (607). A call refused by a limit still
//! counts against the window and the day (only the starred codes are not counted, and these
//! are not starred); a call later answered with a starred code is refunded.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::envelope::MktoError;

pub struct Limits {
    calls: u32,
    window: Duration,
    max_concurrency: usize,
    daily_quota: u64,
    recent: VecDeque<Instant>,
    in_flight: Arc<AtomicUsize>,
    day: i64,
    used_today: u64,
}

/// Holds one of the concurrent-call slots until dropped.
pub struct Slot {
    in_flight: Arc<AtomicUsize>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Limits {
    pub fn new(calls: u32, window: Duration, max_concurrency: usize, daily_quota: u64) -> Limits {
        Limits {
            calls,
            window,
            max_concurrency,
            daily_quota,
            recent: VecDeque::new(),
            in_flight: Arc::new(AtomicUsize::new(0)),
            day: 0,
            used_today: 0,
        }
    }

    /// Admits a call or says which limit refuses it. `now_ms` decides the quota day.
    pub fn admit(&mut self, now: Instant, now_ms: i64) -> Result<Slot, MktoError> {
        while self
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            self.recent.pop_front();
        }
        let day = quota_day(now_ms);
        if day != self.day {
            self.day = day;
            self.used_today = 0;
        }
        let refusal = if self.in_flight.load(Ordering::SeqCst) >= self.max_concurrency {
            Some(MktoError::Concurrency)
        } else if self.recent.len() >= self.calls as usize {
            Some(MktoError::RateLimit {
                limit: self.calls,
                window_secs: self.window.as_secs(),
            })
        } else if self.used_today >= self.daily_quota {
            Some(MktoError::DailyQuota)
        } else {
            None
        };
        self.recent.push_back(now);
        self.used_today += 1;
        if let Some(refusal) = refusal {
            return Err(refusal);
        }
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        Ok(Slot {
            in_flight: Arc::clone(&self.in_flight),
        })
    }

    /// Takes back the most recent admission: the call ended with an uncounted code.
    pub fn refund(&mut self) {
        self.recent.pop_back();
        self.used_today = self.used_today.saturating_sub(1);
    }

    pub fn used_today(&self) -> u64 {
        self.used_today
    }
}

/// Days since the epoch, counted from midnight CST (UTC−6), when Marketo resets the quota.
pub fn quota_day(now_ms: i64) -> i64 {
    (now_ms / 1000 - 6 * 3600).div_euclid(86_400)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_frees_up_after_it_passes() {
        let mut limits = Limits::new(2, Duration::from_secs(20), 10, 1000);
        let t0 = Instant::now();
        drop(limits.admit(t0, 0));
        drop(limits.admit(t0, 0));
        assert!(matches!(
            limits.admit(t0 + Duration::from_secs(19), 0),
            Err(MktoError::RateLimit {
                limit: 2,
                window_secs: 20
            })
        ));
        assert!(limits.admit(t0 + Duration::from_secs(20), 0).is_ok());
    }

    #[test]
    fn quota_resets_at_central_midnight() {
        let mut limits = Limits::new(100, Duration::from_secs(20), 10, 1);
        let before_reset =
            1_700_000_000_000 - (1_700_000_000_000 / 1000 - 6 * 3600) % 86_400 * 1000 - 1000;
        let t0 = Instant::now();
        drop(limits.admit(t0, before_reset));
        assert_eq!(
            limits.admit(t0, before_reset).err(),
            Some(MktoError::DailyQuota)
        );
        assert!(limits.admit(t0, before_reset + 2000).is_ok());
    }

    #[test]
    fn refused_calls_count_against_the_window_and_the_day() {
        let mut limits = Limits::new(2, Duration::from_secs(20), 1, 1000);
        let now = Instant::now();
        let slot = limits.admit(now, 0);
        assert_eq!(limits.admit(now, 0).err(), Some(MktoError::Concurrency));
        drop(slot);
        assert!(
            matches!(limits.admit(now, 0), Err(MktoError::RateLimit { .. })),
            "the 615 took the window's second call"
        );
        assert_eq!(limits.used_today(), 3);
    }

    #[test]
    fn slots_are_released_on_drop() {
        let mut limits = Limits::new(100, Duration::from_secs(20), 1, 1000);
        let now = Instant::now();
        let slot = limits.admit(now, 0);
        assert_eq!(limits.admit(now, 0).err(), Some(MktoError::Concurrency));
        drop(slot);
        assert!(limits.admit(now, 0).is_ok());
    }
}
