//! Salesforce sends nothing when a CampaignMember is deleted, so the worker asks: the deleted
//! records since the last poll become signals like any other. Where the poll resumes is kept in
//! the store, so deletes made while the service was down are found at restart.

use crate::signal::{Dedup, NewSignal, SalesforceMemberDeleted, Signal};
use crate::store::cursors::SALESFORCE_DELETED;
use crate::sync::time::{format_millis, parse_millis};

use super::context::Context;
use super::work::WorkError;

/// Salesforce's getDeleted needs a window of at least a minute.
const MIN_WINDOW_MS: i64 = 60_000;
/// Salesforce keeps deleted records for 15 days and refuses an older start; a minute less
/// leaves room for the clocks to differ.
const MAX_LOOKBACK_MS: i64 = 15 * 86_400_000 - MIN_WINDOW_MS;

/// Asks for deletions up to `now` (epoch ms) since where the previous poll stopped (the
/// stored cursor); the loop passes the clock, tests may pass a simulated one.
pub async fn poll(ctx: &Context, now: i64) -> Result<usize, WorkError> {
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
    let end = now.max(start + MIN_WINDOW_MS);
    let (deleted, covered) = ctx
        .salesforce
        .deleted_members(&format_millis(start), &format_millis(end))
        .await?;
    let signals: Vec<NewSignal> = deleted
        .into_iter()
        .map(|d| NewSignal {
            dedup_key: format!("sf:deleted:{}", d.id),
            signal: Signal::SalesforceMemberDeleted(SalesforceMemberDeleted {
                member_id: d.id,
                deleted_date: Some(d.deleted_date),
            }),
            dedup: Dedup::Once,
        })
        .collect();
    let count = signals.len();
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
