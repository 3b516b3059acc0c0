//! Scheduled work, run as its own task beside the live loop so that a settings pass, a feed or
//! a reconciliation never holds up a live change: status checks and campaign settings, the
//! deleted-records poll, the change feeds, reconciliation and purging, and queued admin jobs.
//! Each pass spends calls only while its side's quota allows scheduled work. Reconciliation
//! (with purging after it) and queued jobs run as a task of their own, one at a time: reading
//! a program by bulk extract can wait minutes on Marketo's export queue, and the feeds must not
//! wait with it. The settings pass and status check run as another, for the same reason (its
//! daily full cost pass reads every program). Every five minutes it also cancels the extract jobs a stopped process left open.

use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::connectors::marketo::extract_ledger::LEFT_AFTER;
use crate::store::now_millis;

use super::Worker;

/// How often the task looks whether a pass or a queued job is due.
const TICK: Duration = Duration::from_millis(250);

/// One scheduled pass: its interval and when it is next due.
struct Every {
    interval: Duration,
    next: Instant,
}

impl Every {
    fn new(secs: u64, first: Instant) -> Self {
        Every {
            interval: Duration::from_secs(secs.max(1)),
            next: first,
        }
    }

    /// True when due at `now`, and then schedules the next run.
    fn due(&mut self, now: Instant) -> bool {
        if now < self.next {
            return false;
        }
        self.next = now + self.interval;
        true
    }
}

/// A change in whether a side's scheduled passes wait for the budget's reset.
#[derive(Debug, PartialEq, Eq)]
enum Held {
    Starts(String),
    Ends,
}

/// Whether a side's scheduled passes started or stopped waiting for the budget's reset since
/// the last look (`was`: whether they waited then), as of `now`. A pause stops every call and
/// is told as such: the passes do not run again with it.
fn held_change(was: &mut bool, side: &crate::quota::SideQuota, now: i64) -> Option<Held> {
    if side.paused(now).is_some() {
        return None;
    }
    let reason = side.scheduled_held(now);
    let change = match (reason.clone(), *was) {
        (Some(reason), false) => Some(Held::Starts(reason)),
        (None, true) => Some(Held::Ends),
        _ => None,
    };
    *was = reason.is_some();
    change
}

/// Logs when a side's scheduled passes start or stop waiting for the budget's reset.
fn say_when_held(was: &mut bool, side: &crate::quota::SideQuota) {
    match held_change(was, side, now_millis()) {
        Some(Held::Starts(reason)) => tracing::warn!(system = side.system(), "{reason}"),
        Some(Held::Ends) => {
            tracing::info!(system = side.system(), "the scheduled passes run again");
        }
        None => {}
    }
}

/// Runs the scheduled passes until `stop` (shutdown, or this replica lost the worker lock).
pub async fn run(worker: Worker, stop: CancellationToken) {
    let schedules = worker.ctx.config.schedules.clone();
    let start = Instant::now();
    let mut settings = Every::new(schedules.program_settings_secs, start);
    let mut deleted = Every::new(schedules.deleted_poll_secs, start);
    let mut activities = Every::new(schedules.marketo_activity_secs, start);
    let mut changes = Every::new(schedules.salesforce_changes_secs, start);
    let mut left_extracts = Every::new(LEFT_AFTER.as_secs(), start);
    let reconcile_every = Duration::from_secs(schedules.reconcile_secs.max(1));
    let mut reconcile = Every {
        interval: reconcile_every,
        next: start + reconcile_every,
    };
    let mut long: Option<tokio::task::JoinHandle<()>> = None;
    let mut settings_task: Option<tokio::task::JoinHandle<()>> = None;
    let mut held = [false, false];
    while !stop.is_cancelled() {
        let now = Instant::now();
        let quota = worker.liveness.quota();
        let (marketo_ok, salesforce_ok) = (
            quota.marketo.scheduled_may_run(now_millis()),
            quota.salesforce.scheduled_may_run(now_millis()),
        );
        for (was, side) in held.iter_mut().zip([&quota.marketo, &quota.salesforce]) {
            say_when_held(was, side);
        }
        // A task of its own, one at a time: with its daily full cost pass (a read per program)
        // it takes minutes over many mappings, and the feeds and polls keep their interval.
        let settings_idle = settings_task.as_ref().is_none_or(|task| task.is_finished());
        if settings_idle && marketo_ok && salesforce_ok && settings.due(now) {
            let worker = worker.clone();
            settings_task = Some(tokio::spawn(crate::connectors::scheduled(async move {
                // Settings first: it brings the program cache up to date for the check.
                if let Err(error) = worker.sync_settings().await {
                    tracing::warn!(%error, "campaign settings pass failed");
                }
                worker.check_statuses().await;
            })));
        }
        if salesforce_ok
            && deleted.due(now)
            && let Err(error) = worker.poll_deleted().await
        {
            tracing::warn!(%error, "deleted-records poll failed; will try again");
        }
        if marketo_ok
            && activities.due(now)
            && let Err(error) = worker.read_marketo_activities().await
        {
            tracing::warn!(%error, "Marketo activity feed failed; will try again");
        }
        if salesforce_ok
            && changes.due(now)
            && let Err(error) = worker.read_salesforce_changes().await
        {
            tracing::warn!(%error, "Salesforce member-changes query failed; will try again");
        }
        // A store query; Marketo is called only for a job a stopped process left open.
        if marketo_ok && left_extracts.due(now) {
            worker.cancel_left_extracts().await;
        }
        // One long task at a time: the scheduled reconciliation, or the queued admin jobs
        // (today reconciliations too), so two never read and repair the same mapping at once.
        let idle = long.as_ref().is_none_or(|task| task.is_finished());
        if idle {
            let worker = worker.clone();
            let task = if marketo_ok && salesforce_ok && reconcile.due(now) {
                tokio::spawn(crate::connectors::scheduled(async move {
                    worker.reconcile().await;
                    worker.purge().await;
                }))
            } else {
                tokio::spawn(crate::connectors::scheduled(async move {
                    if let Err(error) = worker.run_jobs().await {
                        tracing::warn!(%error, "could not run the queued jobs");
                    }
                }))
            };
            long = Some(task);
        }
        tokio::select! {
            () = stop.cancelled() => break,
            () = tokio::time::sleep(TICK) => {}
        }
    }
    // Stopped (shutdown, or another replica leads): a reconciliation still reading stops too.
    // Its signals are queued in one commit at its end, so none or all are; a job it was
    // running is released to the next leader, as a dead replica's is.
    for task in [long, settings_task].into_iter().flatten() {
        task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_pass_is_due_at_start_then_once_per_interval() {
        let start = Instant::now();
        let mut every = Every::new(60, start);
        assert!(every.due(start));
        assert!(!every.due(start + Duration::from_secs(59)));
        assert!(every.due(start + Duration::from_secs(60)));
        assert!(!every.due(start + Duration::from_secs(61)));
    }

    #[test]
    fn the_passes_run_again_after_the_pause_not_when_it_starts() {
        let quota = crate::quota::Quota::default();
        let side = &quota.marketo;
        side.set_budget(10);
        let now = 1_796_104_700_000;
        let mut was = false;
        for _ in 0..8 {
            side.admit(now).unwrap();
            side.count(now);
        }
        let starts = held_change(&mut was, side, now);
        assert!(matches!(starts, Some(Held::Starts(_))), "{starts:?}");
        for _ in 0..2 {
            side.admit(now).unwrap();
            side.count(now);
        }
        assert!(side.admit(now).is_err(), "the budget is used: paused");
        assert_eq!(held_change(&mut was, side, now), None, "not running again");
        let reset = crate::quota::next_marketo_reset(now);
        assert_eq!(held_change(&mut was, side, reset), Some(Held::Ends));
        assert_eq!(held_change(&mut was, side, reset), None);
    }
}
