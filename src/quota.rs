//! Daily API quotas, per side: until when a side is paused (its daily quota ran out, or this
//! service's own daily call budget did) and how many calls it made today. Shared by the
//! clients (which refuse calls while paused), the worker (which postpones changes meanwhile and
//! lets scheduled work yield when the budget runs low), `/metrics` and the admin status. The
//! counts and pauses are shared through the store (`quota_days`) every few seconds, so the
//! budget counts every replica's calls and survives a restart.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::connectors::CallError;
use crate::store::{QuotaDay, Store, StoreError};

mod scheduled;

const DAY_MS: i64 = 86_400_000;
/// Marketo resets its daily quota at 12:00 AM CST (UTC−6), whatever the season.
const CST_OFFSET_MS: i64 = 6 * 3_600_000;
/// How often a replica adds its calls to the shared daily count and reads everyone's back.
const SHARE_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Both sides' quotas; cheap to clone.
#[derive(Clone)]
pub struct Quota {
    pub marketo: SideQuota,
    pub salesforce: SideQuota,
}

impl Default for Quota {
    fn default() -> Self {
        Quota {
            marketo: SideQuota::new("marketo", next_marketo_reset),
            salesforce: SideQuota::new("salesforce", next_utc_day),
        }
    }
}

/// One side's pause and daily count.
#[derive(Clone)]
pub struct SideQuota {
    inner: Arc<Side>,
}

struct Side {
    system: &'static str,
    /// When the side's quota day ends, from a time inside it.
    next_reset: fn(i64) -> i64,
    paused_until_ms: AtomicI64,
    /// When the pause in force was met (here, or by the replica that shared it).
    paused_at_ms: AtomicI64,
    reason: Mutex<Option<String>>,
    /// 0: no budget of our own.
    budget: AtomicU64,
    /// The end of the day `used` counts in.
    day_ends_ms: AtomicI64,
    used: AtomicU64,
    /// Calls counted in `used` and not yet reported to the shared count (see `share`).
    unreported: AtomicU64,
    /// The end of the last pause told to subscribers, so each pause is told once.
    announced_until_ms: AtomicI64,
}

/// What the admin status shows of a paused side.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Pause {
    pub system: &'static str,
    pub until_ms: i64,
    pub reason: String,
}

impl SideQuota {
    fn new(system: &'static str, next_reset: fn(i64) -> i64) -> Self {
        SideQuota {
            inner: Arc::new(Side {
                system,
                next_reset,
                paused_until_ms: AtomicI64::new(0),
                paused_at_ms: AtomicI64::new(0),
                reason: Mutex::new(None),
                budget: AtomicU64::new(0),
                day_ends_ms: AtomicI64::new(0),
                used: AtomicU64::new(0),
                unreported: AtomicU64::new(0),
                announced_until_ms: AtomicI64::new(0),
            }),
        }
    }

    pub fn system(&self) -> &'static str {
        self.inner.system
    }

    /// Sets this service's own daily call budget (0: none).
    pub fn set_budget(&self, calls: u64) {
        self.inner.budget.store(calls, Ordering::Relaxed);
    }

    /// When the quota day containing `now_ms` ends.
    pub fn next_reset(&self, now_ms: i64) -> i64 {
        (self.inner.next_reset)(now_ms)
    }

    /// Refuses a call while paused, or once the budget is used up (which pauses until reset).
    pub fn admit(&self, now_ms: i64) -> Result<(), CallError> {
        if let Some(pause) = self.paused(now_ms) {
            return Err(CallError::Paused {
                reason: pause.reason,
                until_ms: pause.until_ms,
            });
        }
        let budget = self.inner.budget.load(Ordering::Relaxed);
        if budget > 0 && self.used(now_ms) >= budget {
            let reason = format!(
                "{} daily call budget of {budget} used up",
                self.inner.system
            );
            let until = self.next_reset(now_ms);
            self.pause(until, &reason);
            return Err(CallError::Paused {
                reason,
                until_ms: until,
            });
        }
        Ok(())
    }

    /// Counts one call made at `now_ms`.
    pub fn count(&self, now_ms: i64) {
        self.roll(now_ms);
        self.inner.used.fetch_add(1, Ordering::Relaxed);
        self.inner.unreported.fetch_add(1, Ordering::Relaxed);
    }

    /// What this process has to tell the shared count at `now_ms`: the calls made since it last
    /// did (taken: told once) and the pause in force. A pause for refused credentials stays this
    /// process's own: a restart with a corrected secret must try it at once, not wait it out.
    pub fn report(&self, now_ms: i64) -> QuotaDay {
        self.roll(now_ms);
        let pause = self
            .paused(now_ms)
            .filter(|p| !p.reason.starts_with(crate::connectors::CREDENTIALS_REFUSED));
        QuotaDay {
            day_ends_ms: self.inner.day_ends_ms.load(Ordering::SeqCst),
            used: i64::try_from(self.inner.unreported.swap(0, Ordering::SeqCst)).unwrap_or(0),
            paused_until_ms: pause.as_ref().map_or(0, |p| p.until_ms),
            paused_at_ms: pause
                .as_ref()
                .map_or(0, |_| self.inner.paused_at_ms.load(Ordering::SeqCst)),
            reason: pause.map(|p| p.reason),
            lifted_at_ms: 0,
        }
    }

    /// Takes on what the shared count says at `now_ms`: the day's calls by every replica (and
    /// every run before this one), plus this process's calls not yet reported; and a pause
    /// another replica, or a run before this one, set.
    pub fn adopt(&self, now_ms: i64, shared: &QuotaDay) {
        self.roll(now_ms);
        if shared.day_ends_ms == self.inner.day_ends_ms.load(Ordering::SeqCst) {
            let total = u64::try_from(shared.used).unwrap_or(0)
                + self.inner.unreported.load(Ordering::SeqCst);
            self.inner.used.store(total, Ordering::Relaxed);
        }
        // An admin lifted the side's pause after this one was met (on any replica): it ends.
        if shared.lifted_at_ms > 0
            && self.paused(now_ms).is_some()
            && self.inner.paused_at_ms.load(Ordering::SeqCst) <= shared.lifted_at_ms
        {
            self.end_pause(now_ms);
        }
        let credentials = shared
            .reason
            .as_deref()
            .is_some_and(|r| r.starts_with(crate::connectors::CREDENTIALS_REFUSED));
        // A pause for a budget since raised or removed (a restart with a new configuration) no
        // longer holds: the calls the day has left are this budget's to spend.
        let outgrown = shared
            .reason
            .as_deref()
            .is_some_and(|r| self.budget_outgrown(r, now_ms));
        if shared.paused_until_ms > now_ms && !credentials && !outgrown {
            let reason = shared
                .reason
                .as_deref()
                .unwrap_or("paused by another replica");
            self.pause_met_at(shared.paused_until_ms, reason, shared.paused_at_ms);
            // Told to subscribers by whoever met it: once per pause, not once per replica.
            self.inner
                .announced_until_ms
                .fetch_max(shared.paused_until_ms, Ordering::SeqCst);
        }
    }

    /// Whether `reason` is a pause for this side's own call budget that the budget in force
    /// does not call for: raised above the day's calls, or removed, since the pause was met.
    fn budget_outgrown(&self, reason: &str, now_ms: i64) -> bool {
        if !reason.starts_with(&format!("{} daily call budget of ", self.inner.system)) {
            return false;
        }
        let budget = self.inner.budget.load(Ordering::Relaxed);
        budget == 0 || self.used(now_ms) < budget
    }

    /// The daily call budget of our own; `None` when there is none.
    pub fn budget(&self) -> Option<u64> {
        Some(self.inner.budget.load(Ordering::Relaxed)).filter(|&b| b > 0)
    }

    /// Calls counted in the quota day containing `now_ms`.
    pub fn used(&self, now_ms: i64) -> u64 {
        self.roll(now_ms);
        self.inner.used.load(Ordering::Relaxed)
    }

    /// Pauses the side until `until_ms` (epoch ms); a longer pause already set stays.
    pub fn pause(&self, until_ms: i64, reason: &str) {
        self.pause_met_at(until_ms, reason, crate::store::now_millis());
    }

    /// Pauses the side as [`Self::pause`] does, for a pause met at `met_at_ms` (by this
    /// process now, or by another replica then).
    fn pause_met_at(&self, until_ms: i64, reason: &str, met_at_ms: i64) {
        let before = self
            .inner
            .paused_until_ms
            .fetch_max(until_ms, Ordering::SeqCst);
        if until_ms > before {
            tracing::warn!(system = self.inner.system, until_ms, %reason, "side paused: its calls wait");
            *self.inner.reason.lock().unwrap_or_else(|e| e.into_inner()) = Some(reason.into());
            self.inner.paused_at_ms.store(met_at_ms, Ordering::SeqCst);
        }
        self.publish();
    }

    /// Ends a pause at `now_ms`, before its time (an admin raised the quota); the worker then
    /// makes the postponed changes due as when a pause runs out.
    pub fn end_pause(&self, now_ms: i64) {
        // A pause met after the lift is a new one, to be announced even if it ends when the
        // lifted one would have (a 607 pauses until the same reset).
        self.inner.announced_until_ms.store(0, Ordering::SeqCst);
        let until = self.inner.paused_until_ms.load(Ordering::SeqCst);
        if until > now_ms {
            let _ = self.inner.paused_until_ms.compare_exchange(
                until,
                now_ms,
                Ordering::SeqCst,
                Ordering::SeqCst,
            );
        }
        self.publish();
    }

    /// The pause in force at `now_ms`, the first time it is asked for: subscribers hear of
    /// each pause once.
    pub fn unannounced(&self, now_ms: i64) -> Option<Pause> {
        let pause = self.paused(now_ms)?;
        let before = self
            .inner
            .announced_until_ms
            .swap(pause.until_ms, Ordering::SeqCst);
        (before != pause.until_ms).then_some(pause)
    }

    /// The pause in force at `now_ms`, if any.
    pub fn paused(&self, now_ms: i64) -> Option<Pause> {
        let until_ms = self.inner.paused_until_ms.load(Ordering::SeqCst);
        (until_ms > now_ms).then(|| Pause {
            system: self.inner.system,
            until_ms,
            reason: self
                .inner
                .reason
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
                .unwrap_or_default(),
        })
    }

    /// True once when a pause set before has ended by `now_ms` (the caller then makes the
    /// postponed changes due).
    pub fn take_ended(&self, now_ms: i64) -> bool {
        let until = self.inner.paused_until_ms.load(Ordering::SeqCst);
        let ended = until != 0 && until <= now_ms;
        if ended {
            let _ = self.inner.paused_until_ms.compare_exchange(
                until,
                0,
                Ordering::SeqCst,
                Ordering::SeqCst,
            );
            self.publish();
        }
        ended
    }

    /// Sets `upstream_paused_until_seconds`: the pause's end while it holds, else 0 (a lifted
    /// pause ends at the lift's time, and a replica without a worker never clears it).
    fn publish(&self) {
        let until = self.inner.paused_until_ms.load(Ordering::SeqCst);
        let shown = if until > crate::store::now_millis() {
            until
        } else {
            0
        };
        metrics::gauge!("upstream_paused_until_seconds", "system" => self.inner.system)
            .set(shown as f64 / 1000.0);
    }

    fn roll(&self, now_ms: i64) {
        let ends = self.inner.day_ends_ms.load(Ordering::Relaxed);
        if now_ms >= ends {
            let next = self.next_reset(now_ms);
            if self
                .inner
                .day_ends_ms
                .compare_exchange(ends, next, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
            {
                self.inner.used.store(0, Ordering::Relaxed);
                self.inner.unreported.store(0, Ordering::Relaxed);
            }
        }
    }
}

impl Quota {
    /// Reports both sides' calls and pauses to the shared count and takes on what it says back.
    pub async fn share(&self, store: &Store, now_ms: i64) -> Result<(), StoreError> {
        for side in [&self.marketo, &self.salesforce] {
            let report = side.report(now_ms);
            let unsent = report.used;
            match store.share_quota_day(side.system(), &report).await {
                // Published again each time, so a pause that ran out reads 0.
                Ok(shared) => {
                    side.adopt(now_ms, &shared);
                    side.publish();
                }
                Err(error) => {
                    // Told next time instead.
                    side.inner
                        .unreported
                        .fetch_add(u64::try_from(unsent).unwrap_or(0), Ordering::SeqCst);
                    return Err(error);
                }
            }
        }
        Ok(())
    }

    /// Shares the counts every [`SHARE_EVERY`] until `shutdown` (the service shares once more
    /// after its worker stops, so its last calls are counted).
    pub async fn share_until(self, store: Store, shutdown: tokio_util::sync::CancellationToken) {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(SHARE_EVERY) => {}
            }
            if let Err(error) = self.share(&store, crate::store::now_millis()).await {
                tracing::warn!(%error, "could not share the daily call counts");
            }
        }
    }

    /// Both sides' pauses in force at `now_ms`.
    pub fn pauses(&self, now_ms: i64) -> Vec<Pause> {
        [&self.marketo, &self.salesforce]
            .into_iter()
            .filter_map(|side| side.paused(now_ms))
            .collect()
    }
}

/// The next 12:00 AM CST after `now_ms`, when Marketo's daily quota resets.
pub fn next_marketo_reset(now_ms: i64) -> i64 {
    let local = now_ms - CST_OFFSET_MS;
    (local.div_euclid(DAY_MS) + 1) * DAY_MS + CST_OFFSET_MS
}

/// The next UTC midnight: the day our Salesforce budget counts in (Salesforce's own limit is a
/// rolling 24 hours, so its pauses are timed from `Sforce-Limit-Info` instead).
fn next_utc_day(now_ms: i64) -> i64 {
    (now_ms.div_euclid(DAY_MS) + 1) * DAY_MS
}

#[cfg(test)]
mod tests;
