//! Client-side rate limit for Marketo: at most N calls per sliding window, so the shared
//! instance quota (100 per 20 s) is never what stops us.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

pub struct RateWindow {
    calls: usize,
    window: Duration,
    started: Mutex<VecDeque<Instant>>,
}

impl RateWindow {
    pub fn new(calls: u32, window: Duration) -> Self {
        RateWindow {
            calls: calls.max(1) as usize,
            window,
            started: Mutex::new(VecDeque::new()),
        }
    }

    /// Waits until one more call fits in the window, then counts it.
    pub async fn admit(&self) {
        let mut started = self.started.lock().await;
        loop {
            let now = Instant::now();
            while started
                .front()
                .is_some_and(|t| now.duration_since(*t) >= self.window)
            {
                started.pop_front();
            }
            if started.len() < self.calls {
                started.push_back(now);
                return;
            }
            let oldest = *started.front().expect("window is full, so not empty");
            tokio::time::sleep_until(oldest + self.window).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_window_admits_n_calls_then_waits_for_the_oldest_to_age_out() {
        let window = RateWindow::new(3, Duration::from_secs(20));
        let start = Instant::now();
        for _ in 0..3 {
            window.admit().await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
        window.admit().await;
        assert_eq!(start.elapsed(), Duration::from_secs(20));
    }
}
