//! One round, top to bottom: claim → observe → resolve identities → plan → write → record.
//! Each mapping's share runs under a panic guard, so one bad signal ends dead ("internal
//! error") instead of stopping the worker.

use std::collections::HashSet;
use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use tracing::Instrument;

use crate::connectors::CallError;
use crate::kinds::{OutcomeResult, Target};
use crate::store::{Claimed, Journal, StoreError};

use super::claim::{self, AfterAdd, Routed};
use super::context::Context;
use super::flow;
use super::lease;
use super::observe::observe;
use super::plan::{Plan, plan};
use super::record::{self, RoundReport};
use super::resolve::resolve;
use super::work::{SignalRef, SignalResult, Work, WorkError};
use super::write;
use crate::mappings::Mapping;

/// The reason a signal whose processing panicked is dead with.
pub const INTERNAL_ERROR: &str = "internal error";

/// Claims one batch and processes it; a report with `claimed == 0` means nothing was due.
pub async fn run(ctx: &Context) -> Result<RoundReport, StoreError> {
    let lease = std::time::Duration::from_secs(ctx.config.worker.lease_secs.max(1));
    let fence = lease::Fence::new(tokio::time::Instant::now(), lease);
    let claimed = claim::claim(ctx).await?;
    let mut report = RoundReport {
        claimed: claimed.len(),
        ..RoundReport::default()
    };
    if claimed.is_empty() {
        return Ok(report);
    }
    for item in &claimed {
        tracing::debug!(
            signal.id = item.id,
            kind = item.signal.kind(),
            attempts = item.attempts,
            "claimed"
        );
    }
    let ids: Vec<i64> = claimed.iter().map(|c| c.id).collect();
    // Aborted when the round ends, however it ends (a panic unwinding through here included).
    let renewing = lease::AbortOnDrop(lease::renew(ctx, ids, lease, fence.clone()));
    // A round whose leases go unrenewed (the database unreachable or stalled) stops, calls in
    // flight included, before another replica counts them abandoned and writes them again.
    let result = tokio::select! {
        biased;
        result = process(ctx, claimed, &mut report) => result,
        () = fence.lapsed() => Err(StoreError::LeasesLapsed(
            fence.unrenewed_for(tokio::time::Instant::now()).as_secs(),
        )),
    };
    drop(renewing);
    result?;
    Ok(report)
}

async fn process(
    ctx: &Context,
    claimed: Vec<Claimed>,
    report: &mut RoundReport,
) -> Result<(), StoreError> {
    let repairs: HashSet<i64> = claimed
        .iter()
        .filter(|c| c.dedup_key.starts_with(super::reconcile::REPAIR_PREFIX))
        .map(|c| c.id)
        .collect();
    let Routed {
        by_mapping,
        flows,
        unmapped,
        after_add,
    } = claim::route(ctx, claimed).await?;
    let mut journal = Journal::default();
    let mut results = Vec::new();
    for (item, when) in after_add {
        match when {
            AfterAdd::NextRound => record::next_round(&mut journal, signal_ref(&item)),
            AfterAdd::Later(why) => record::postpone(&mut journal, signal_ref(&item), &why),
        }
    }
    for (item, reason) in unmapped {
        let target = Target::NONE;
        // Named for the person when the sync knows them, so their timeline says why.
        let person = claim::known_person(ctx, &item).await?;
        record::outcome(
            &mut journal,
            Some(item.id),
            None,
            person.as_deref(),
            target,
            OutcomeResult::Skipped,
            Some(&reason),
        );
        results.push(SignalResult::new(signal_ref(&item), Ok(())));
    }
    for (name, (mapping, items)) in by_mapping {
        // Before a mapping first syncs, both status sets are read: an incompatible mapping
        // must not write a status the other side cannot hold.
        if let Err(error) = checked(ctx, &mapping).await {
            results.extend(failed(items.iter().map(signal_ref), error.into()));
            continue;
        }
        if let Some(why) = ctx.mappings.held_back(&mapping) {
            items
                .iter()
                .for_each(|item| record::postpone(&mut journal, signal_ref(item), &why));
            continue;
        }
        // A share reads both sides before it writes: with one side paused it would spend the
        // other side's calls (Marketo's the scarcest) only to meet the pause. It waits
        // untouched, as the pause's first refused call would have made it.
        if let Some(pause) = paused_side(ctx) {
            results.extend(failed(items.iter().map(signal_ref), pause.into()));
            continue;
        }
        let span = tracing::info_span!(
            "sync",
            mapping = %name,
            signals = items.len(),
            signal.ids = tracing::field::Empty
        );
        let signals: Vec<SignalRef> = items.iter().map(signal_ref).collect();
        // With debug logs on, every line of the share (its API calls, its outcomes) names the
        // signals it serves, so one change can be followed from receipt to write.
        if tracing::enabled!(tracing::Level::DEBUG) {
            let ids: Vec<i64> = signals.iter().map(|s| s.id).collect();
            span.record("signal.ids", tracing::field::debug(&ids));
        }
        match guarded(ctx, &mapping, items, &mut journal)
            .instrument(span)
            .await
        {
            Ok(done) => results.extend(done),
            // The store failed in this mapping's share: its signals are retried, and what the
            // other mappings already wrote is still recorded below.
            Err(error) => results.extend(failed(signals, error.into())),
        }
    }
    let flow_signals: Vec<SignalRef> = flows.iter().map(signal_ref).collect();
    match guarded_flows(ctx, flows, &mut journal).await {
        Ok(done) => results.extend(done),
        // As for a mapping's share: the flow actions are retried, the rest is recorded.
        Err(error) => results.extend(failed(flow_signals, error.into())),
    }
    record::settle(&mut journal, &ctx.config.worker, results, report);
    record::announce_pauses(&mut journal, [ctx.marketo.quota(), ctx.salesforce.quota()]);
    record::commit(ctx, &journal).await?;
    super::reconcile::count_repairs(&repairs, &journal);
    // Only sooner settling is at stake: a failure here is logged, the round stands.
    if let Err(error) = record::wake_retrying(ctx, &journal).await {
        tracing::warn!(%error, "could not make the retrying signals of settled people due");
    }
    Ok(())
}

/// Each of `signals` ended by `error` this round (retried on its schedule).
fn failed(
    signals: impl IntoIterator<Item = SignalRef>,
    error: WorkError,
) -> impl Iterator<Item = SignalResult> {
    signals
        .into_iter()
        .map(move |signal| SignalResult::new(signal, Err(error.clone())))
}

/// The pause a mapping's share would meet: of a side paused now, the one that ends last.
fn paused_side(ctx: &Context) -> Option<CallError> {
    let now = crate::store::now_millis();
    [ctx.marketo.quota(), ctx.salesforce.quota()]
        .into_iter()
        .filter_map(|side| side.paused(now))
        .max_by_key(|pause| pause.until_ms)
        .map(|pause| CallError::Paused {
            reason: pause.reason,
            until_ms: pause.until_ms,
        })
}

/// Runs the compatibility check of a mapping no check has reached yet (a new store, before
/// the scheduled pass), holding it if its statuses do not match.
async fn checked(ctx: &Context, mapping: &Mapping) -> Result<(), CallError> {
    if mapping.is_checked() {
        return Ok(());
    }
    let found = super::compat::problems(&ctx.salesforce, &ctx.marketo, mapping)
        .instrument(tracing::info_span!(
            "status_check",
            mapping = mapping.name()
        ))
        .await
        .map_err(|error| error.context("checking the mapping's statuses before it syncs"))?;
    super::compat::hold(ctx, mapping, found).await;
    Ok(())
}

/// The round's flow actions, under the same panic guard as a mapping's share.
async fn guarded_flows(
    ctx: &Context,
    items: Vec<Claimed>,
    journal: &mut Journal,
) -> Result<Vec<SignalResult>, StoreError> {
    guarded_share(items, journal, |batch: Vec<Claimed>| async move {
        let mut own = Journal::default();
        let results = flow::apply(ctx, batch, &mut own).await;
        (own, results)
    })
    .await
}

/// One mapping's signals, under a panic guard.
async fn guarded(
    ctx: &Context,
    mapping: &Mapping,
    items: Vec<Claimed>,
    journal: &mut Journal,
) -> Result<Vec<SignalResult>, StoreError> {
    guarded_share(items, journal, |batch: Vec<Claimed>| async move {
        let mut own = Journal::default();
        let results = sync_mapping(ctx, mapping, &batch, &mut own).await;
        (own, results)
    })
    .await
}

/// A share of the round under a panic guard: a signal whose processing panics by itself is
/// dead with [`INTERNAL_ERROR`] (and the panic in the log); the others are processed, each call
/// into its own journal. All or nothing: on a store error every signal of the share is retried,
/// so none of its records may stand.
async fn guarded_share<F, Fut>(
    items: Vec<Claimed>,
    journal: &mut Journal,
    process: F,
) -> Result<Vec<SignalResult>, StoreError>
where
    F: Fn(Vec<Claimed>) -> Fut,
    Fut: std::future::Future<Output = (Journal, Result<Vec<SignalResult>, StoreError>)>,
{
    let (done, panicked) = contain(items, process).await;
    let mut results = Vec::new();
    let mut owns = Vec::new();
    for (own, done) in done {
        results.extend(done?);
        owns.push(own);
    }
    owns.into_iter().for_each(|own| journal.append(own));
    for (item, panic) in panicked {
        tracing::error!(signal.id = item.id, kind = item.signal.kind(), %panic, "processing this signal panicked; it is dead");
        record::dead(journal, item.id, INTERNAL_ERROR.to_string());
    }
    Ok(results)
}

/// Runs `process` on all items at once; if that panics, on each item alone. Returns what the
/// calls that finished returned, and each item that panicked by itself with the panic text.
async fn contain<T, R, F, Fut>(items: Vec<T>, process: F) -> (Vec<R>, Vec<(T, String)>)
where
    T: Clone,
    F: Fn(Vec<T>) -> Fut,
    Fut: std::future::Future<Output = R>,
{
    match AssertUnwindSafe(process(items.clone()))
        .catch_unwind()
        .await
    {
        Ok(result) => return (vec![result], Vec::new()),
        Err(panic) if items.len() == 1 => {
            let item = items.into_iter().next().expect("one item");
            return (Vec::new(), vec![(item, panic_text(&panic).to_string())]);
        }
        Err(panic) => {
            tracing::error!(
                panic = panic_text(&panic),
                "a round panicked; trying its signals one by one"
            );
        }
    }
    let (mut done, mut panicked) = (Vec::new(), Vec::new());
    for item in items {
        match AssertUnwindSafe(process(vec![item.clone()]))
            .catch_unwind()
            .await
        {
            Ok(result) => done.push(result),
            Err(panic) => panicked.push((item, panic_text(&panic).to_string())),
        }
    }
    (done, panicked)
}

/// Everything one mapping's signals need: observe, resolve, plan, write each phase, record.
async fn sync_mapping(
    ctx: &Context,
    mapping: &Mapping,
    items: &[Claimed],
    journal: &mut Journal,
) -> Result<Vec<SignalResult>, StoreError> {
    let observed = observe(ctx, mapping, items).await?;
    let resolved = resolve(ctx, observed.seen).await?;
    let mut plan = plan(ctx, mapping, resolved.people).await?;
    for phase in Plan::PHASES {
        write::phase(ctx, mapping, phase, &mut plan.work).await;
    }
    let refused = |w: &Work| matches!(&w.outcome, Some(Err(e)) if super::compat::unknown_status(e));
    if plan.work.iter().any(refused)
        && let Some(why) = super::compat::check_after_refusal(ctx, mapping).await
    {
        // Held now: the changes refused for the unknown status wait for the fix.
        let (waiting, rest): (Vec<Work>, Vec<Work>) = std::mem::take(&mut plan.work)
            .into_iter()
            .partition(refused);
        for signal in waiting.iter().flat_map(|w| &w.person.signals) {
            record::postpone(journal, *signal, &why);
        }
        plan.work = rest;
    }
    for work in &plan.work {
        record::person(journal, mapping, work);
    }
    record::passed_over(journal, mapping.name(), &resolved.passed_over);
    let nothing = observed
        .nothing_to_do
        .into_iter()
        .chain(resolved.passed_over.into_iter().map(|passed| passed.signal))
        .map(|signal| SignalResult::new(signal, Ok(())));
    let ended = record::signal_results(mapping, &plan.work);
    Ok(nothing.chain(ended).collect())
}

fn signal_ref(item: &Claimed) -> SignalRef {
    SignalRef {
        id: item.id,
        attempts: item.attempts,
    }
}

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_item_is_set_apart_and_the_others_are_processed() {
        let process = |batch: Vec<u32>| async move {
            assert!(!batch.contains(&13), "poison");
            batch.iter().sum::<u32>()
        };
        let (done, panicked) = contain(vec![1, 13, 2], process).await;
        assert_eq!(done, vec![1, 2]);
        assert_eq!(panicked.len(), 1);
        assert_eq!(panicked[0].0, 13);
        assert!(panicked[0].1.contains("poison"));

        let (done, panicked) = contain(vec![1, 2], process).await;
        assert_eq!(
            (done, panicked.len()),
            (vec![3], 0),
            "no panic: one call for all"
        );
    }
}
