//! Salesforce sends nothing when a CampaignMember is deleted, so the worker asks: the deleted
//! records since the last poll become signals like any other.

use crate::signal::{Dedup, NewSignal, SalesforceMemberDeleted, Signal};
use crate::sync::time::{format_millis, parse_millis};

use super::context::Context;
use super::work::WorkError;

/// Salesforce's getDeleted needs a window of at least a minute.
const MIN_WINDOW_MS: i64 = 60_000;

/// Asks for deletions up to `now` (epoch ms); the loop passes the clock, tests may pass a
/// simulated one.
/// `since` is where the previous poll stopped (`None` before the first).
pub async fn poll(ctx: &Context, since: &mut Option<i64>, now: i64) -> Result<usize, WorkError> {
    if ctx.mappings.all().is_empty() {
        return Ok(0);
    }
    let interval_ms =
        i64::try_from(ctx.config.schedules.deleted_poll_secs * 1000).unwrap_or(MIN_WINDOW_MS);
    // The first poll looks back one interval plus a minute: Salesforce reports by the minute.
    let start = since.unwrap_or(now - interval_ms.max(MIN_WINDOW_MS) - MIN_WINDOW_MS);
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
    *since = Some(
        covered
            .as_deref()
            .and_then(parse_millis)
            .unwrap_or(now)
            .min(now)
            - 1_000,
    );
    Ok(count)
}
