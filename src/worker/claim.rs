//! Step 1, claim: lease due signals and sort them by where they go — a mapping, the flow
//! actions, or nowhere (with the reason).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::signal::Signal;
use crate::store::{Claimed, StoreError, now_millis};

use super::context::Context;
use crate::mappings::Mapping;

/// A round's claimed signals, sorted.
#[derive(Default)]
pub struct Routed {
    pub by_mapping: BTreeMap<String, (Arc<Mapping>, Vec<Claimed>)>,
    pub flows: Vec<Claimed>,
    pub unmapped: Vec<(Claimed, String)>,
}

/// Leases up to `worker.claim_batch` due signals for `worker.lease_secs`.
pub async fn claim(ctx: &Context) -> Result<Vec<Claimed>, StoreError> {
    let worker = &ctx.config.worker;
    let lease_ms = i64::try_from(worker.lease_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    ctx.store
        .claim(&ctx.owner, worker.claim_batch, lease_ms, now_millis())
        .await
}

pub async fn route(ctx: &Context, claimed: Vec<Claimed>) -> Result<Routed, StoreError> {
    let mut routed = Routed::default();
    for item in claimed {
        match mapping_of(ctx, &item).await? {
            Route::Mapping(mapping) => {
                routed
                    .by_mapping
                    .entry(mapping.name().to_string())
                    .or_insert_with(|| (mapping, Vec::new()))
                    .1
                    .push(item);
            }
            Route::Flow => routed.flows.push(item),
            Route::Unmapped(reason) => routed.unmapped.push((item, reason)),
        }
    }
    Ok(routed)
}

enum Route {
    Mapping(Arc<Mapping>),
    Flow,
    Unmapped(String),
}

async fn mapping_of(ctx: &Context, item: &Claimed) -> Result<Route, StoreError> {
    let mappings = &ctx.mappings;
    Ok(match &item.signal {
        Signal::SalesforceMember(m) => match m
            .campaign_id
            .as_deref()
            .and_then(|c| mappings.by_campaign(c))
        {
            Some(mapping) => Route::Mapping(mapping.clone()),
            None => Route::Unmapped(format!(
                "campaign {} is not mapped to a program",
                m.campaign_id.as_deref().unwrap_or("(absent)")
            )),
        },
        Signal::MarketoMember(m) => match mappings.by_program(m.program_id) {
            Some(mapping) => Route::Mapping(mapping.clone()),
            None => Route::Unmapped(format!(
                "program {} is not mapped to a campaign",
                m.program_id
            )),
        },
        Signal::SalesforceMemberDeleted(d) => {
            let rows = ctx.store.mirror_by_member(&d.member_id).await?;
            match rows.first().and_then(|r| mappings.by_name(&r.mapping)) {
                Some(mapping) => Route::Mapping(mapping.clone()),
                // The sync forgets the member ids it removes itself, so its own deletions,
                // reported back by the poll, land here too.
                None => Route::Unmapped(format!(
                    "deleted member {} is not one the sync knows: removed by the sync itself, \
                     or never synced",
                    d.member_id
                )),
            }
        }
        Signal::MarketoFlowAction(_) => Route::Flow,
    })
}

/// The person a signal names by their Marketo lead or Salesforce Lead/Contact, when the identity
/// table knows them (nobody is created for a change the sync skips).
pub async fn known_person(ctx: &Context, signal: &Signal) -> Result<Option<String>, StoreError> {
    let (lead, person) = match signal {
        Signal::SalesforceMember(m) => (None, m.contact_id.as_deref().or(m.lead_id.as_deref())),
        Signal::MarketoMember(m) => (Some(m.lead_id), None),
        Signal::MarketoFlowAction(a) => (Some(a.lead_id), None),
        Signal::SalesforceMemberDeleted(_) => return Ok(None),
    };
    if lead.is_none() && person.is_none() {
        return Ok(None);
    }
    let found = ctx.store.find_identity(lead, person, None).await?;
    Ok(found.map(|identity| identity.id.to_string()))
}
