//! How often a round renews its leases, and when another worker's leases count as abandoned:
//! the two sides of one rule, so a leader taking over waits no longer than it must.

use std::time::Duration;

/// A round renews its leases at least this often, whatever the lease's length: a replica that
/// dies (`kill -9`, a lost node) is then known to have stopped within seconds, not minutes.
const RENEW_AT_MOST_EVERY: Duration = Duration::from_secs(2);

/// Slack for a renewal running late (a slow database) before its lease counts as abandoned.
const STALE_MARGIN: Duration = Duration::from_secs(8);

/// How often a round holding leases of `lease` renews them: every third of the lease, or every
/// [`RENEW_AT_MOST_EVERY`] if that is sooner.
pub fn renew_every(lease: Duration) -> Duration {
    (lease / 3)
        .min(RENEW_AT_MOST_EVERY)
        .max(Duration::from_millis(100))
}

/// At `now_ms`, a lease of `lease` that runs out before the returned instant was last renewed
/// (or claimed) longer ago than a renewal and its slack: its holder has stopped.
pub fn abandoned_if_expiring_before(now_ms: i64, lease: Duration) -> i64 {
    let millis = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4);
    now_ms
        .saturating_add(millis(lease))
        .saturating_sub(millis(renew_every(lease)))
        .saturating_sub(millis(STALE_MARGIN))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewals_come_every_two_seconds_or_a_third_of_a_short_lease() {
        assert_eq!(
            renew_every(Duration::from_secs(120)),
            Duration::from_secs(2)
        );
        assert_eq!(renew_every(Duration::from_secs(3)), Duration::from_secs(1));
        assert_eq!(
            renew_every(Duration::from_millis(30)),
            Duration::from_millis(100)
        );
    }

    #[test]
    fn a_lease_is_abandoned_ten_seconds_after_its_last_renewal() {
        let lease = Duration::from_secs(120);
        let renewed_at = 1_000_000;
        let expires = renewed_at + 120_000;
        // Nine seconds on, the holder may only be late; eleven seconds on, it has stopped.
        assert!(expires >= abandoned_if_expiring_before(renewed_at + 9_000, lease));
        assert!(expires < abandoned_if_expiring_before(renewed_at + 11_000, lease));
    }
}
