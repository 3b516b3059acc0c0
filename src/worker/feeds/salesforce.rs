//! The Salesforce changes feed: members of mapped campaigns whose `SystemModstamp` moved since
//! the stored cursor, each carried as the member's state (like an outbound message).

use std::collections::BTreeSet;

use crate::signal::{Dedup, NewSignal, SalesforceMember, Signal};
use crate::store::cursors::SALESFORCE_CHANGES;
use crate::sync::time::parse_millis;

use super::super::context::Context;
use super::super::work::WorkError;

/// Reads the members changed since the cursor; returns how many signals it recorded. On a
/// fresh database the feed starts at the next whole second after `now`.
pub async fn read(ctx: &Context, now: i64) -> Result<usize, WorkError> {
    let campaigns: Vec<String> = ctx
        .mappings
        .all()
        .iter()
        .map(|m| m.config.campaign_id.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if campaigns.is_empty() {
        return Ok(0);
    }
    let Some(since) = ctx.store.time_cursor(SALESFORCE_CHANGES).await? else {
        // A fresh database starts the feed at the next whole second: the query compares to the
        // second, and what changed before this first start is reconciliation's to adopt, not
        // a change to sync (it would race the live signals about the same people).
        let start = (now / 1000 + 1) * 1000;
        ctx.store
            .set_cursor(SALESFORCE_CHANGES, &start.to_string(), now)
            .await?;
        return Ok(0);
    };
    let members = ctx
        .salesforce
        .members_changed_since(&campaigns, since)
        .await?;
    // The cursor moves to the newest stamp seen, never past it: a stamp is read to the second,
    // so the next query repeats that second and the dedup key folds what it saw already.
    let newest = members
        .iter()
        .filter_map(|m| m.system_modstamp.as_deref().and_then(parse_millis))
        .max()
        .unwrap_or(since)
        .max(since);
    let signals: Vec<NewSignal> = members
        .into_iter()
        .map(|member| NewSignal {
            dedup_key: format!(
                "sf:feed:{}:{}",
                member.id,
                member.system_modstamp.as_deref().unwrap_or("")
            ),
            signal: Signal::SalesforceMember(SalesforceMember {
                notification_id: "changes-feed".into(),
                organization_id: String::new(),
                member_id: member.id,
                campaign_id: Some(member.campaign_id),
                lead_id: member.lead_id,
                contact_id: member.contact_id,
                email: member.email,
                status: member.status,
                has_responded: None,
                created_date: None,
                last_modified_date: None,
                system_modstamp: member.system_modstamp,
            }),
            dedup: Dedup::Once,
        })
        .collect();
    let count = signals.len();
    ctx.store
        .record(signals, crate::store::now_millis())
        .await?;
    ctx.store
        .set_cursor(SALESFORCE_CHANGES, &newest.to_string(), now)
        .await?;
    Ok(count)
}
