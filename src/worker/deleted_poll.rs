//! Salesforce sends nothing when a CampaignMember is deleted, so the worker asks: the
//! deletions since the last poll of members the sync knows become signals like any other. Where
//! the poll resumes is kept in the store, so deletes made while the service was down are found
//! at restart. Deletions the org no longer reports (more than 15 days back, or purged) queue a
//! reconciliation instead, and a window with more deletions than one answer holds is halved.

use crate::connectors::salesforce::classify::refused_with;
use crate::connectors::salesforce::deleted::{EXCEEDED_ID_LIMIT, MAX_LOOKBACK_MS, MIN_WINDOW_MS};
use crate::signal::{Dedup, NewSignal, SalesforceMemberDeleted, Signal};
use crate::store::cursors::SALESFORCE_DELETED;
use crate::store::member_ids::DELETED_KEY_PREFIX;
use crate::sync::time::{format_millis, parse_millis};

use super::compat;
use super::context::Context;
use super::programs::ProgramCache;
use super::work::WorkError;

/// Asks for deletions up to `now` (epoch ms) since where the previous poll stopped (the
/// stored cursor); the loop passes the clock, tests may pass a simulated one.
pub async fn poll(
    ctx: &Context,
    programs: &tokio::sync::Mutex<ProgramCache>,
    now: i64,
) -> Result<usize, WorkError> {
    if ctx.mappings.all().is_empty() {
        return Ok(0);
    }
    let interval_ms =
        i64::try_from(ctx.config.schedules.deleted_poll_secs * 1000).unwrap_or(MIN_WINDOW_MS);
    // The first poll looks back one interval plus a minute: Salesforce reports by the minute.
    let stored = ctx.store.time_cursor(SALESFORCE_DELETED).await?;
    let start = stored
        .unwrap_or(now - interval_ms.max(MIN_WINDOW_MS) - MIN_WINDOW_MS)
        .max(now - MAX_LOOKBACK_MS);
    let mut end = now.max(start + MIN_WINDOW_MS);
    // A window holding more deletions than one answer may (600,000) is halved until one fits;
    // the next poll goes on from where the shorter one ended.
    let page = loop {
        match ctx
            .salesforce
            .deleted_members(&format_millis(start), &format_millis(end))
            .await
        {
            Err(error)
                if refused_with(&error, EXCEEDED_ID_LIMIT) && end - start >= 2 * MIN_WINDOW_MS =>
            {
                end = start + (end - start) / 2;
                tracing::info!(until = %format_millis(end), "too many deletions for one getDeleted answer; asking for half the window");
            }
            answer => break answer?,
        }
    };
    // Queued once the call answered: a failed poll is tried again, and would queue again.
    let outage = stored.filter(|&at| at < start);
    if let Some(stopped) = outage {
        out_of_reach(
            ctx,
            stopped,
            start,
            "the poll resumed more than 15 days after it stopped",
            now,
        )
        .await?;
    }
    // Once polled, the log should reach back to where the last poll stopped (a first poll's
    // start may precede the org's log itself, which is no loss; after an outage the
    // reconciliation is queued already).
    let earliest = page
        .earliest_date_available
        .as_deref()
        .and_then(parse_millis);
    let purged = |at: &i64| stored.is_some() && outage.is_none() && *at > start + MIN_WINDOW_MS;
    if let Some(earliest) = earliest.filter(purged) {
        out_of_reach(
            ctx,
            start,
            earliest,
            "Salesforce purged its delete log",
            now,
        )
        .await?;
    }
    let covered = page.latest_date_covered;
    // The org reports every CampaignMember deletion, the sync's own removals and other
    // campaigns' included: only those of members the sync knows, or is about to hear about,
    // become signals.
    let ids: Vec<String> = page.deleted_records.iter().map(|d| d.id.clone()).collect();
    let known = ctx.store.members_of_interest(&ids).await?;
    let ignored = ids.len() - known.len();
    if ignored > 0 {
        metrics::counter!("salesforce_deletions_ignored_total").increment(ignored as u64);
        tracing::debug!(
            ignored,
            "deleted CampaignMembers the sync does not know (its own removals, other campaigns)"
        );
    }
    let signals: Vec<NewSignal> = page
        .deleted_records
        .into_iter()
        .filter(|d| known.contains(&d.id))
        .map(|d| NewSignal {
            dedup_key: format!("{DELETED_KEY_PREFIX}{}", d.id),
            signal: Signal::SalesforceMemberDeleted(SalesforceMemberDeleted {
                member_id: d.id,
                deleted_date: Some(d.deleted_date),
            }),
            dedup: Dedup::Once,
        })
        .collect();
    let count = signals.len();
    // Deleting a campaign deletes its members, and this poll reports each: checked first, the
    // campaign found gone holds its mapping, so those removals wait (postponed) instead of
    // emptying the Marketo program. One query for every mapped campaign's statuses.
    if count > 0 {
        let mut cache = programs.lock().await;
        compat::check_all(ctx, &mut cache, compat::Record::Shared).await;
    }
    ctx.store
        .record(signals, crate::store::now_millis())
        .await?;
    // Resume a little before what Salesforce says it covered; duplicates collapse on the key.
    let resume = covered
        .as_deref()
        .and_then(parse_millis)
        .unwrap_or(now)
        .min(now)
        - 1_000;
    ctx.store
        .set_cursor(SALESFORCE_DELETED, &resume.to_string(), now)
        .await?;
    Ok(count)
}

/// Deletions made between `from` and `to` (epoch ms) that getDeleted can no longer report:
/// logged, counted, and a reconciliation is queued, which finds members gone from a campaign
/// by listing both sides.
async fn out_of_reach(
    ctx: &Context,
    from: i64,
    to: i64,
    why: &str,
    now: i64,
) -> Result<(), WorkError> {
    let (from, to) = (format_millis(from), format_millis(to));
    let reason = format!("deletions {from} – {to} out of reach: {why}");
    let (job, _) = ctx.store.queue_reconcile(false, Some(&reason), now).await?;
    metrics::counter!("salesforce_deletions_out_of_reach_total").increment(1);
    tracing::warn!(%from, %to, job.id = job, "Salesforce no longer reports the CampaignMember deletions of this time ({why}); reconciliation job {job} is queued to find them");
    Ok(())
}
