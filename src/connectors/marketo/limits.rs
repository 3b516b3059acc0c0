//! Client-side rate limit for Marketo: at most N calls per sliding window, so the shared
//! instance quota (100 per 20 s) is never what stops us. Live changes come first: scheduled
//! work (feeds, settings, reconciliation) may use the window only while a fifth of it is free.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use tokio::time::Instant;

use crate::connectors::Lane;

pub struct RateWindow {
    calls: usize,
    /// Slots only live calls may take.
    reserved: usize,
    window: Duration,
    /// Start times within the window; never held across an await.
    started: std::sync::Mutex<VecDeque<Instant>>,
    /// When a long wait was last logged, per lane (live, scheduled): once a window at most, so
    /// a bulk load does not log every call, yet a job that waits in silence says why, and a
    /// scheduled wait does not hide a live one.
    said: std::sync::Mutex<[Option<Instant>; 2]>,
}

/// A wait for the window at least this long is said in the log.
const SAY_WAITS_OVER: Duration = Duration::from_secs(1);

impl RateWindow {
    pub fn new(calls: u32, window: Duration) -> Self {
        let calls = calls.max(1) as usize;
        RateWindow {
            calls,
            reserved: if calls > 1 { (calls / 5).max(1) } else { 0 },
            window,
            started: std::sync::Mutex::new(VecDeque::new()),
            said: std::sync::Mutex::new([None, None]),
        }
    }

    /// Logs a wait of `wait` for the window, unless it is short or one was said this window;
    /// whether it did.
    fn say_wait(&self, wait: Duration, lane: Lane) -> bool {
        if wait < SAY_WAITS_OVER {
            return false;
        }
        let now = Instant::now();
        {
            let mut said = self.said.lock().unwrap_or_else(|e| e.into_inner());
            let last = &mut said[usize::from(lane == Lane::Scheduled)];
            if last.is_some_and(|at| now.duration_since(at) < self.window) {
                return false;
            }
            *last = Some(now);
        }
        tracing::info!(
            wait_ms = wait.as_millis() as u64,
            ?lane,
            calls = self.calls,
            window_secs = self.window.as_secs(),
            "waiting for Marketo's rate window"
        );
        true
    }

    /// Calls started within the window now.
    pub fn usage(&self) -> WindowUse {
        let started = self.started.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let used = started
            .iter()
            .filter(|t| now.duration_since(**t) < self.window)
            .count();
        WindowUse {
            used,
            limit: self.calls,
            window_secs: self.window.as_secs(),
        }
    }

    /// Waits until one more call of `lane` fits in the window, then counts it. The lock is not
    /// held while waiting, so a live call arriving meanwhile is not queued behind a scheduled one.
    pub async fn admit(&self, lane: Lane) {
        let limit = match lane {
            Lane::Live => self.calls,
            Lane::Scheduled => self.calls - self.reserved,
        };
        loop {
            let wake = {
                let mut started = self.started.lock().unwrap_or_else(|e| e.into_inner());
                let now = Instant::now();
                while started
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= self.window)
                {
                    started.pop_front();
                }
                if started.len() < limit {
                    started.push_back(now);
                    return;
                }
                // The call that frees a slot for this lane is the one `len - limit` from the front.
                started[started.len() - limit] + self.window
            };
            self.say_wait(wake.saturating_duration_since(Instant::now()), lane);
            tokio::time::sleep_until(wake).await;
        }
    }
}

/// How much of the client-side rate window is taken: calls started within the last
/// `window_secs` (the configured window plus the client's margin) against the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WindowUse {
    pub used: usize,
    pub limit: usize,
    pub window_secs: u64,
}

type Windows = BTreeMap<String, Weak<RateWindow>>;

fn windows() -> &'static std::sync::Mutex<Windows> {
    static WINDOWS: OnceLock<std::sync::Mutex<Windows>> = OnceLock::new();
    WINDOWS.get_or_init(Default::default)
}

/// Makes a client's window readable by [`window_use`] under its base URL (several services in
/// one process, as in tests, keep theirs apart).
pub(super) fn register(endpoint: &str, window: &Arc<RateWindow>) {
    let mut all = windows().lock().unwrap_or_else(|e| e.into_inner());
    all.retain(|_, w| w.strong_count() > 0);
    all.insert(
        endpoint.trim_end_matches('/').to_string(),
        Arc::downgrade(window),
    );
}

/// The rate window of the Marketo client at `endpoint` in this process, if one is running.
pub fn window_use(endpoint: &str) -> Option<WindowUse> {
    let all = windows().lock().unwrap_or_else(|e| e.into_inner());
    Some(all.get(endpoint.trim_end_matches('/'))?.upgrade()?.usage())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_long_wait_is_said_once_a_window() {
        let window = RateWindow::new(3, Duration::from_secs(20));
        let long = Duration::from_secs(5);
        assert!(
            !window.say_wait(Duration::from_millis(200), Lane::Live),
            "short"
        );
        assert!(window.say_wait(long, Lane::Scheduled));
        assert!(!window.say_wait(long, Lane::Scheduled), "said this window");
        assert!(
            window.say_wait(long, Lane::Live),
            "a live wait is not hidden"
        );
        assert!(!window.say_wait(long, Lane::Live), "said this window");
        tokio::time::advance(Duration::from_secs(20)).await;
        assert!(window.say_wait(long, Lane::Live), "a window later");
    }

    #[tokio::test(start_paused = true)]
    async fn the_window_admits_n_calls_then_waits_for_the_oldest_to_age_out() {
        let window = RateWindow::new(3, Duration::from_secs(20));
        let start = Instant::now();
        for _ in 0..3 {
            window.admit(Lane::Live).await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
        window.admit(Lane::Live).await;
        assert_eq!(start.elapsed(), Duration::from_secs(20));
    }

    #[tokio::test(start_paused = true)]
    async fn scheduled_calls_leave_a_fifth_of_the_window_to_live_ones() {
        let window = RateWindow::new(10, Duration::from_secs(20));
        let start = Instant::now();
        for _ in 0..8 {
            window.admit(Lane::Scheduled).await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
        let scheduled = tokio::spawn(async move {
            window.admit(Lane::Scheduled).await;
            (window, Instant::now())
        });
        tokio::task::yield_now().await;
        assert!(!scheduled.is_finished(), "the ninth scheduled call waits");
        let (window, admitted) = scheduled.await.unwrap();
        assert_eq!(admitted - start, Duration::from_secs(20));
        // Live calls still find their two slots at once.
        let before = Instant::now();
        window.admit(Lane::Live).await;
        window.admit(Lane::Live).await;
        assert_eq!(before.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn the_window_in_use_is_read_by_the_client_s_endpoint() {
        let window = Arc::new(RateWindow::new(5, Duration::from_secs(20)));
        register("http://mkto.test/", &window);
        window.admit(Lane::Live).await;
        window.admit(Lane::Scheduled).await;
        let expected = |used| WindowUse {
            used,
            limit: 5,
            window_secs: 20,
        };
        assert_eq!(window_use("http://mkto.test"), Some(expected(2)));
        tokio::time::advance(Duration::from_secs(21)).await;
        assert_eq!(window_use("http://mkto.test"), Some(expected(0)));
        drop(window);
        assert_eq!(window_use("http://mkto.test"), None);
    }
}
