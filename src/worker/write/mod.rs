//! Step 5, write: each phase of the plan against its API, in API-sized batches. Every work item
//! leaves with an outcome (done, skipped, diverged, or the error).

mod duplicate_leads;
pub(super) mod linked;
mod marketo;
mod marketo_people;
pub(super) mod missing;
mod people;
mod salesforce;

use super::context::Context;
use super::work::{Phase, Work};
use crate::mappings::Mapping;

pub use people::{NOT_PROVIDED, ensure_salesforce};
pub use salesforce::members as campaign_members;

/// Runs one phase of a plan.
pub async fn phase(ctx: &Context, mapping: &Mapping, phase: Phase, works: &mut [Work]) {
    match phase {
        Phase::Marketo => marketo::write(ctx, mapping, works).await,
        Phase::Salesforce => salesforce::write(ctx, mapping, works).await,
        Phase::Resets => salesforce::reset(ctx, works).await,
    }
}
