//! After a round: the people whose state it wrote down have landed, so their other signals
//! waiting to retry are made due, and settle next round instead of staying listed `retrying`.

use crate::store::{Journal, Settled, StoreError, now_millis};

use super::super::context::Context;

/// The people whose state this round wrote down have landed: their other signals waiting to
/// retry are made due, and settle next round instead of staying listed `retrying`.
pub async fn wake_retrying(ctx: &Context, journal: &Journal) -> Result<(), StoreError> {
    let settled: Vec<Settled> = journal
        .mirrors
        .iter()
        .filter_map(|row| {
            let mapping = ctx.mappings.by_name(&row.mapping)?;
            Some(Settled {
                program_id: mapping.config.program_id,
                campaign_id: mapping.config.campaign_id.clone(),
                mkto_lead_id: row.mkto_lead_id,
                sf_person_id: row.sf_person_id.clone(),
                sf_member_id: row.sf_member_id.clone(),
            })
        })
        .collect();
    let woken = ctx.store.wake_retrying(&settled, now_millis()).await?;
    if !woken.is_empty() {
        tracing::debug!(signals = ?woken, "retrying signals of people whose change landed are due now");
    }
    Ok(())
}
