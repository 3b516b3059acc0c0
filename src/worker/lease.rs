//! How often a round renews its leases, and when another worker's leases count as abandoned:
//! the two sides of one rule, so a leader taking over waits no longer than it must (and a round
//! cut off from the database stops before then); the renewing task itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use super::context::Context;

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

/// Slack a holder keeps before the point another worker could count its leases abandoned:
/// for the renewal in flight and the two replicas' clocks.
const HOLDER_SLACK: Duration = Duration::from_secs(2);

/// How long after its last renewal was sent a round may still act on its leases (8 s with the
/// default lease): less than the [`abandoned_if_expiring_before`] wait of another worker, so a
/// leader cut off from the database stops before its signals are taken over and written again.
pub fn held_for(lease: Duration) -> Duration {
    (renew_every(lease) + STALE_MARGIN).saturating_sub(HOLDER_SLACK)
}

/// A round's hold on its leases: renewed each time a renewal lands, lapsed [`held_for`] after
/// the last one was sent (or the claim made).
#[derive(Clone)]
pub struct Fence {
    base: Instant,
    held_for: Duration,
    /// Milliseconds from `base` to the sending of the last renewal that landed.
    renewed: Arc<AtomicU64>,
}

impl Fence {
    /// A hold that starts when the claim was made.
    pub fn new(claimed: Instant, lease: Duration) -> Fence {
        Fence {
            base: claimed,
            held_for: held_for(lease),
            renewed: Arc::new(AtomicU64::new(0)),
        }
    }

    /// A renewal sent at `sent` landed.
    pub fn renewed(&self, sent: Instant) {
        let millis = u64::try_from(sent.saturating_duration_since(self.base).as_millis())
            .unwrap_or(u64::MAX / 4);
        self.renewed.fetch_max(millis, Ordering::SeqCst);
    }

    fn deadline(&self) -> Instant {
        self.base + Duration::from_millis(self.renewed.load(Ordering::SeqCst)) + self.held_for
    }

    /// How long the hold has gone without a renewal, at `now`.
    pub fn unrenewed_for(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.deadline() - self.held_for)
    }

    /// Ends when the hold lapses: no renewal landed for [`held_for`].
    pub async fn lapsed(&self) {
        loop {
            let deadline = self.deadline();
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

/// Makes due again the signals a stopped round of this replica still leased (the round was
/// dropped: nothing of it acts on them), so they do not wait out their lease; whether that was
/// done (false: the store did not answer, to be tried again).
pub async fn release_own(ctx: &Context) -> bool {
    match ctx
        .store
        .release_own_leases(&ctx.owner, crate::store::now_millis())
        .await
    {
        Ok(0) => true,
        Ok(released) => {
            tracing::info!(
                released,
                "made due again the signals a stopped round had claimed"
            );
            true
        }
        Err(error) => {
            tracing::debug!(%error, "could not yet release a stopped round's leases");
            false
        }
    }
}

/// A task that ends with its owner: aborted when dropped.
pub struct AbortOnDrop(pub tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Keeps the round's leases alive while it works, renewing every two seconds (see
/// [`renew_every`]): a round waiting on rate limits or slow calls is never claimed a
/// second time meanwhile, and one whose replica died is taken over within seconds.
pub fn renew(
    ctx: &Context,
    ids: Vec<i64>,
    lease: std::time::Duration,
    fence: Fence,
) -> tokio::task::JoinHandle<()> {
    let store = ctx.store.clone();
    let owner = ctx.owner.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(renew_every(lease)).await;
            let sent = tokio::time::Instant::now();
            let until = crate::store::now_millis() + lease.as_millis() as i64;
            match store.extend_leases(&owner, &ids, until).await {
                // None left to renew: the round has ended them, or they were taken over.
                Ok(0) => return,
                Ok(_) => fence.renewed(sent),
                Err(error) => tracing::warn!(%error, "could not renew the round's leases"),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_holder_stops_before_another_worker_takes_over() {
        let lease = Duration::from_secs(120);
        assert_eq!(held_for(lease), Duration::from_secs(8));
        let renewed_at = 1_000_000;
        let expires = renewed_at + 120_000;
        let stops = renewed_at + i64::try_from(held_for(lease).as_millis()).unwrap();
        // At the moment the holder stops, nobody has taken its leases yet.
        assert!(expires >= abandoned_if_expiring_before(stops, lease));
    }

    #[tokio::test(start_paused = true)]
    async fn a_fence_lapses_only_after_renewals_stop_landing() {
        let lease = Duration::from_secs(120);
        let fence = Fence::new(Instant::now(), lease);
        tokio::time::sleep(Duration::from_secs(5)).await;
        fence.renewed(Instant::now());
        let lapsed = tokio::time::timeout(Duration::from_secs(7), fence.lapsed()).await;
        assert!(lapsed.is_err(), "renewed 5 s in: held until 13 s");
        assert_eq!(fence.unrenewed_for(Instant::now()), Duration::from_secs(7));
        let started = Instant::now();
        fence.lapsed().await;
        assert_eq!(started.elapsed(), Duration::from_secs(1), "lapsed at 13 s");
        // An older renewal landing late does not move the hold back.
        fence.renewed(Instant::now() - Duration::from_secs(10));
        assert_eq!(fence.unrenewed_for(Instant::now()), Duration::from_secs(8));
    }

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

    #[tokio::test]
    async fn a_round_s_lease_renewal_ends_with_the_round_even_when_it_unwinds() {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let renewal = tokio::spawn(async move {
            let _alive = tx;
            std::future::pending::<()>().await;
        });
        let guard = AbortOnDrop(renewal);
        let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            let _guard = guard;
            panic!("a round panicked");
        }));
        assert!(unwound.is_err());
        // The task was aborted: its end of the channel is dropped.
        assert!(rx.await.is_err());
    }
}
