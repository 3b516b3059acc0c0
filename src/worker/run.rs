//! The worker's loop, supervised: a crash of the loop task is logged, counted in the liveness
//! and restarted with back-off; the loop itself leads (worker lock), starts the scheduled passes
//! as their own task beside it (`schedule`), and processes live signals as they come due,
//! looking at shutdown between rounds.

use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::liveness::Liveness;
use crate::store::{LeaderLock, now_millis};

use super::{Worker, lease, schedule};

/// How often an idle worker looks for due signals (retries coming due, other replicas'
/// signals); signals recorded in this process wake it at once.
const IDLE_POLL: Duration = Duration::from_millis(250);

/// How often the leader checks it still holds the worker lock.
const LEADER_CHECK: Duration = Duration::from_secs(5);

/// How often a replica that does not lead tries to take the worker lock: one cheap query a
/// second, so a leader stopped or lost is replaced within about a second.
const FOLLOWER_TRY: Duration = Duration::from_secs(1);

/// How often the shared switches and held mappings are read again.
const REFRESH: Duration = Duration::from_secs(1);

/// Back-off after a crash of the loop: doubling from one second, at most half a minute.
fn backoff(crashes: u32) -> Duration {
    Duration::from_secs(1u64 << crashes.min(5)).min(Duration::from_secs(30))
}

pub async fn supervise(worker: Worker, shutdown: CancellationToken) {
    let liveness = worker.liveness.clone();
    let token = shutdown.clone();
    let work = move || lead_and_work(worker.clone(), shutdown.clone());
    restart_on_crash(&liveness, &token, work).await
}

/// Runs `work` as a task until it returns; a panic is counted in `liveness` and the task
/// started again after a back-off, unless `shutdown` is cancelled meanwhile.
async fn restart_on_crash<F, Fut>(liveness: &Liveness, shutdown: &CancellationToken, work: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let mut crashes = 0;
    loop {
        let task = tokio::spawn(work());
        match task.await {
            Ok(()) => return,
            Err(error) => {
                let why = if error.is_panic() {
                    "the worker loop panicked"
                } else {
                    "the worker loop was cancelled"
                };
                tracing::error!(%error, restarts = crashes + 1, "{why}; restarting it");
                liveness.crashed(format!("{why}: {error}"));
                liveness.set_leader(false);
                crashes += 1;
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(backoff(crashes)) => {}
        }
    }
}

async fn lead_and_work(worker: Worker, shutdown: CancellationToken) {
    let ctx = &worker.ctx;
    let linger = Duration::from_millis(ctx.config.worker.batch_linger_ms);
    let start = Instant::now();
    let (mut next_lock_check, mut next_refresh) = (start, start);
    tracing::info!(owner = %ctx.owner, "worker started");
    let mut lock: Option<LeaderLock> = None;
    // Tries of the lock that failed in a row (the database unreachable), for the log.
    let mut failed_tries = 0u32;
    // The scheduled passes run beside this loop while this replica leads.
    let mut scheduled: Option<Scheduled> = None;
    // Whether, since taking the lock, no other worker's leases were found.
    let mut others_ended = false;
    // Whether a round of this replica stopped holding leases (see `lease::release_own`).
    let mut left_leases = false;
    while !shutdown.is_cancelled() {
        if left_leases {
            left_leases = !lease::release_own(ctx).await;
        }
        let now = Instant::now();
        if now >= next_lock_check {
            lock = check_lock(&worker, lock, &mut failed_tries).await;
            next_lock_check = next_lock_check_after(now, lock.is_some());
        }
        if lock.is_none() {
            others_ended = false;
            stop_scheduled(scheduled.take()).await;
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep_until(next_lock_check) => {}
            }
            continue;
        }
        if scheduled
            .as_ref()
            .is_none_or(|passes| passes.task.is_finished())
        {
            let stop = shutdown.child_token();
            let passes = schedule::run(worker.clone(), stop.clone());
            let sweep = sweep_stale_leases(worker.clone(), stop.clone());
            let task = tokio::spawn(async move {
                tokio::join!(crate::connectors::scheduled(passes), sweep);
            });
            scheduled = Some(Scheduled {
                _cancel_on_drop: stop.clone().drop_guard(),
                stop,
                task,
            });
        }
        if now >= next_refresh {
            next_refresh = now + REFRESH;
            if let Err(error) = ctx.mappings.refresh(&ctx.store).await {
                tracing::warn!(%error, "could not read the shared switches");
            }
            worker.catch_up_after_pauses().await;
        }
        // While another worker still holds leases (the leader before this one ending its round,
        // or cut off and not yet stopped), no round starts: its people may have later signals
        // due here, and writing them beside its writes in flight could land out of order. Its
        // leases end with its round, or are taken over once unrenewed for ten seconds.
        let others = if others_ended {
            Ok(0)
        } else {
            ctx.store.leased_by_others(&ctx.owner).await
        };
        match others {
            Ok(0) => others_ended = true,
            Ok(held) => {
                tracing::debug!(held, "waiting for another worker's leases to end");
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(LEASES_WAIT) => {}
                }
                continue;
            }
            Err(error) => tracing::warn!(%error, "could not look for another worker's leases"),
        }
        match ctx.store.claim_count_due(now_millis()).await {
            Ok(0) => worker.liveness.round_ended(now_millis()),
            Ok(_) => {
                tokio::time::sleep(linger).await;
                // Back to the top between bursts of rounds: the lock and the shared switches
                // are looked at again even while work keeps coming.
                let held = lock.as_mut().expect("rounds run only while leading");
                let rounds = worker.run_rounds_for(&shutdown, LEADER_CHECK);
                let ended = tokio::select! {
                    ended = rounds => Some(ended),
                    () = lock_lost(held) => None,
                };
                match ended {
                    Some(Ok(_)) => {}
                    Some(Err(error)) => {
                        tracing::error!(%error, "worker round failed; its signals are made due again");
                        worker.liveness.error(error.to_string());
                        left_leases = true;
                    }
                    // As a stopped replica's would: its leases are no longer renewed, so the
                    // new leader takes them over once they count as abandoned.
                    None => {
                        tracing::warn!(
                            "lost the worker lock during a round; the round stops here and \
                             another replica takes over its signals"
                        );
                        worker.liveness.set_leader(false);
                        lock = None;
                        left_leases = true;
                        stop_scheduled(scheduled.take()).await;
                        next_lock_check = Instant::now() + FOLLOWER_TRY;
                    }
                }
                continue;
            }
            Err(error) => tracing::warn!(%error, "could not look for due signals"),
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = ctx.store.signals_recorded() => {}
            () = tokio::time::sleep(IDLE_POLL) => {}
        }
    }
    stop_scheduled(scheduled.take()).await;
    worker.liveness.set_leader(false);
    tracing::info!("worker stopped");
}

/// How often a leader in a round looks whether it still holds the worker lock.
const LOCK_WATCH: Duration = Duration::from_secs(1);

/// Ends once the worker lock is lost (its connection no longer answers: the session was ended,
/// the database restarted), looked at every [`LOCK_WATCH`] while a round runs: a round waiting
/// on slow calls would otherwise go on writing for its whole length after another replica took
/// the lock, and hold that replica back meanwhile (it waits for the leases the round renews).
async fn lock_lost(held: &mut LeaderLock) {
    loop {
        tokio::time::sleep(LOCK_WATCH).await;
        if !held.is_held().await {
            return;
        }
    }
}

/// Makes due the signals another worker leased and stopped renewing (see
/// [`crate::store::Store::release_leases_of_others`]): not renewed for ten seconds, five times
/// as long as a round waits between renewals.
async fn release_stale_leases(worker: &Worker) {
    let ctx = &worker.ctx;
    let lease = Duration::from_secs(ctx.config.worker.lease_secs.max(1));
    let now = now_millis();
    let renewed_after = lease::abandoned_if_expiring_before(now, lease);
    match ctx
        .store
        .release_leases_of_others(&ctx.owner, renewed_after, now)
        .await
    {
        Ok(0) => {}
        Ok(released) => tracing::info!(released, "took over signals another worker had claimed"),
        Err(error) => tracing::warn!(%error, "could not release another worker's leases"),
    }
}

/// How often a new leader looks again whether the one before it still holds leases.
const LEASES_WAIT: Duration = Duration::from_millis(500);

/// How often a leader looks for signals another worker stopped renewing.
const LEASE_SWEEP: Duration = Duration::from_secs(2);

/// Takes over the signals another worker stopped renewing, every [`LEASE_SWEEP`] while this
/// replica leads, beside its own rounds: a new leader busy with a slow round of its own does not
/// keep a dead one's signals waiting until that round ends.
async fn sweep_stale_leases(worker: Worker, stop: CancellationToken) {
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(LEASE_SWEEP) => {}
        }
        release_stale_leases(&worker).await;
    }
}

/// The scheduled passes' task (and the lease sweep) while this replica leads. Dropped without
/// [`stop_scheduled`] (a panic unwinding through the loop), it still tells them to stop, so a
/// restarted loop never runs a second copy beside an orphan.
struct Scheduled {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
    _cancel_on_drop: tokio_util::sync::DropGuard,
}

/// Stops the scheduled passes and waits for the one running to end.
async fn stop_scheduled(scheduled: Option<Scheduled>) {
    if let Some(Scheduled { stop, task, .. }) = scheduled {
        stop.cancel();
        if let Err(error) = task.await {
            tracing::error!(%error, "the scheduled passes ended abnormally");
        }
    }
}

/// Keeps or takes the worker lock. On taking it, the leases and jobs of the replica that held
/// it before are released at once: that replica is gone, and its work should not wait for a
/// lease to expire.
/// When to look at the worker lock next: a follower tries every second, so it takes over
/// about a second after a leader stops; the leader checks it still holds the lock less often.
fn next_lock_check_after(now: Instant, leading: bool) -> Instant {
    now + if leading { LEADER_CHECK } else { FOLLOWER_TRY }
}

/// A failed try of the lock is logged at the first and then once every this many in a row (a
/// follower tries every second while the database is down).
const SAY_FAILED_TRIES_EVERY: u32 = 30;

async fn check_lock(
    worker: &Worker,
    lock: Option<LeaderLock>,
    failed_tries: &mut u32,
) -> Option<LeaderLock> {
    let ctx = &worker.ctx;
    let mut lock = lock;
    if let Some(held) = &mut lock
        && !held.is_held().await
    {
        tracing::warn!("lost the worker lock; another replica may take over");
        // Said at once: trying the lock again may fail for as long as the database is away.
        worker.liveness.set_leader(false);
        lock = None;
    }
    if lock.is_some() {
        // A leader that died while holding leases has stopped renewing them by now.
        release_stale_leases(worker).await;
        return lock;
    }
    let tried = ctx.store.try_lead("worker").await;
    if tried.is_ok() {
        *failed_tries = 0;
    }
    match tried {
        Ok(Some(acquired)) => {
            tracing::info!("this replica now runs the worker");
            release_stale_leases(worker).await;
            if let Err(error) = ctx.store.requeue_running_jobs().await {
                tracing::warn!(%error, "could not requeue the previous worker's jobs");
            }
            // Changes held while a switch was off are looked at now, not a postponement later:
            // the configuration may have turned it on before this start.
            if let Err(error) = ctx.store.catch_up(now_millis()).await {
                tracing::warn!(%error, "could not make the postponed signals due");
            }
            worker.liveness.set_leader(true);
            Some(acquired)
        }
        Ok(None) => {
            worker.liveness.set_leader(false);
            None
        }
        Err(error) => {
            if (*failed_tries).is_multiple_of(SAY_FAILED_TRIES_EVERY) {
                tracing::warn!(%error, failed_in_a_row = *failed_tries + 1, "could not try the worker lock");
            }
            *failed_tries += 1;
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A follower tries the lock every second, so a stopped leader is replaced in about one
    /// (the takeover test in `tests/api/worker_lock.rs` measures it); the leader checks less
    /// often.
    #[test]
    fn a_follower_tries_the_lock_every_second() {
        let now = Instant::now();
        assert_eq!(
            next_lock_check_after(now, false),
            now + Duration::from_secs(1)
        );
        assert!(next_lock_check_after(now, true) > next_lock_check_after(now, false));
    }

    /// A loop that panics twice, then returns: restarted after each crash, unhealthy never
    /// (two crashes), counted twice; a third crash in a row would fail `/healthz`.
    #[tokio::test(start_paused = true)]
    async fn a_crashing_loop_is_restarted_and_counted() {
        let liveness = Liveness::default();
        let runs = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
        let counter = runs.clone();
        let work = move || {
            let run = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move {
                if run < 2 {
                    panic!("crash {run}");
                }
            }
        };
        restart_on_crash(&liveness, &CancellationToken::new(), work).await;
        assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 3);
        assert_eq!(liveness.restarts(), 2);
        assert!(liveness.is_healthy());
        assert!(liveness.last_error().unwrap().contains("panicked"));
        liveness.crashed("third".into());
        assert!(
            !liveness.is_healthy(),
            "three crashes in a row fail /healthz"
        );
        liveness.round_ended(1);
        assert!(liveness.is_healthy(), "a good round heals");
    }

    #[test]
    fn backoff_doubles_up_to_half_a_minute() {
        let delays: Vec<u64> = (0..8).map(|c| backoff(c).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 30, 30, 30]);
    }
}
