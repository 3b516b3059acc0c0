//! Refused console sign-ins counted per client address: past a limit within a window, the
//! address is answered 429 until the window ends, without its token being checked, so the
//! admin token cannot be guessed at the speed of the network. The address is the TCP peer's:
//! behind a proxy, every client shares the proxy's (sessions already signed in are not held).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Refused sign-ins an address may make within [`WINDOW`]: far more than a person mistyping.
pub const LIMIT: u32 = 20;
pub const WINDOW: Duration = Duration::from_secs(60);
/// Addresses kept at most; past it, windows that ended are dropped first.
const MAX_ADDRESSES: usize = 10_000;

#[derive(Default)]
pub struct SignInThrottle {
    failures: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl SignInThrottle {
    /// How long `address` must wait before its next attempt is checked; `None` when it may
    /// try now.
    pub fn wait(&self, address: IpAddr, now: Instant) -> Option<Duration> {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let (since, count) = failures.get(&address)?;
        let ends = *since + WINDOW;
        (*count >= LIMIT && ends > now).then(|| ends - now)
    }

    /// Counts a refused sign-in from `address`.
    pub fn refused(&self, address: IpAddr, now: Instant) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() >= MAX_ADDRESSES && !failures.contains_key(&address) {
            failures.retain(|_, (since, _)| *since + WINDOW > now);
            // Still full (many addresses failing within one window): the oldest window goes.
            if failures.len() >= MAX_ADDRESSES
                && let Some(oldest) = failures.iter().min_by_key(|(_, (since, _))| *since)
            {
                let oldest = *oldest.0;
                failures.remove(&oldest);
            }
        }
        let entry = failures.entry(address).or_insert((now, 0));
        if entry.0 + WINDOW <= now {
            *entry = (now, 0);
        }
        entry.1 += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_waits_once_it_has_failed_too_often_and_no_longer_after_the_window() {
        let throttle = SignInThrottle::default();
        let address: IpAddr = "192.0.2.7".parse().unwrap();
        let other: IpAddr = "192.0.2.8".parse().unwrap();
        let start = Instant::now();
        for _ in 0..LIMIT - 1 {
            throttle.refused(address, start);
        }
        assert_eq!(throttle.wait(address, start), None, "one attempt left");
        throttle.refused(address, start);
        let later = start + Duration::from_secs(15);
        assert_eq!(
            throttle.wait(address, later),
            Some(WINDOW - Duration::from_secs(15))
        );
        assert_eq!(
            throttle.wait(other, later),
            None,
            "another address is not held"
        );
        assert_eq!(
            throttle.wait(address, start + WINDOW),
            None,
            "the window ended"
        );
        throttle.refused(address, start + WINDOW);
        assert_eq!(
            throttle.wait(address, start + WINDOW),
            None,
            "counting again from one"
        );
    }

    #[test]
    fn addresses_kept_are_bounded_the_oldest_window_going_first() {
        let throttle = SignInThrottle::default();
        let start = Instant::now();
        for i in 0..MAX_ADDRESSES {
            let address = IpAddr::from(std::net::Ipv6Addr::from(i as u128));
            throttle.refused(address, start + Duration::from_millis(i as u64 % 1000));
        }
        let newcomer: IpAddr = "2001:db8::1".parse().unwrap();
        for _ in 0..LIMIT {
            throttle.refused(newcomer, start + Duration::from_secs(2));
        }
        let failures = throttle.failures.lock().unwrap();
        assert_eq!(failures.len(), MAX_ADDRESSES);
        assert_eq!(failures[&newcomer].1, LIMIT, "the newcomer is counted");
    }
}
