//! Scheduled work's share of a side's daily call budget: the feeds, polls, settings and
//! reconciliation passes stop at it, so what is left serves live changes.

use std::sync::atomic::Ordering;

use super::SideQuota;

/// Scheduled work (settings, feeds, reconciliation) stops once this share of the budget is
/// used, so what is left serves live changes.
const SCHEDULED_SHARE_PERCENT: u64 = 80;

impl SideQuota {
    /// Whether scheduled work may spend calls now: not paused, and under its share of the budget.
    pub fn scheduled_may_run(&self, now_ms: i64) -> bool {
        let budget = self.inner.budget.load(Ordering::Relaxed);
        self.paused(now_ms).is_none()
            && (budget == 0 || self.used(now_ms) * 100 < budget * SCHEDULED_SHARE_PERCENT)
    }

    /// Why scheduled work waits while live changes go on: its share of the budget is used
    /// (not a pause, which stops both); `None` when it may run or the side is paused.
    pub fn scheduled_held(&self, now_ms: i64) -> Option<String> {
        let budget = self.budget()?;
        if self.paused(now_ms).is_some() || self.scheduled_may_run(now_ms) {
            return None;
        }
        Some(format!(
            "{} of daily_call_budget {budget} used today ({SCHEDULED_SHARE_PERCENT}% is \
             scheduled work's share): the feeds, polls, settings and reconciliation passes wait \
             for the quota day's reset; live changes go on",
            self.used(now_ms)
        ))
    }
}
