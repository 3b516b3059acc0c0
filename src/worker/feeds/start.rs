//! Where the feeds start on a database no service has read them for yet: at a cut-over
//! reconciliation's last read of the sides, so what changes between the `reconcile` command
//! and the first `serve` (hours, while the webhooks and outbound messages are pointed at the
//! service) is read by the feeds rather than left to the next daily reconciliation.

use crate::store::cursors::{MARKETO_ACTIVITIES, SALESFORCE_CHANGES, SALESFORCE_DELETED};
use crate::sync::time::format_millis;

use super::super::context::Context;
use super::super::work::WorkError;

/// Starts each feed that has no position yet at the whole second of `at` (epoch ms): the
/// change queries compare to the second, and what they read twice the dedup keys fold. A feed
/// with a position keeps it. Returns the feeds started.
pub async fn start_at(ctx: &Context, at: i64, now: i64) -> Result<Vec<&'static str>, WorkError> {
    let second = (at.div_euclid(1000) * 1000).to_string();
    let mut started = Vec::new();
    for feed in [SALESFORCE_CHANGES, SALESFORCE_DELETED] {
        if ctx.store.cursor(feed).await?.is_none() {
            ctx.store.set_cursor(feed, &second, now).await?;
            started.push(feed);
        }
    }
    if ctx.store.cursor(MARKETO_ACTIVITIES).await?.is_none() {
        let since = format_millis(at.div_euclid(1000) * 1000);
        let token = ctx.marketo.activity_paging_token(&since).await?;
        ctx.store
            .set_cursor(MARKETO_ACTIVITIES, &token, now)
            .await?;
        started.push(MARKETO_ACTIVITIES);
    }
    Ok(started)
}
