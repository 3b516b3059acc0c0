//! Step 1, claim: lease due signals and sort them by where they go — a mapping, the flow
//! actions, or nowhere (with the reason).

use std::collections::{BTreeMap, HashSet};
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
    /// Deletions of members whose add has not been processed yet: handed back until it is.
    pub after_add: Vec<(Claimed, AfterAdd)>,
}

/// When a deletion whose add is still waiting is tried again.
pub enum AfterAdd {
    /// The add is in this round: the next round finds the member synced.
    NextRound,
    /// The add waits outside this round (retrying, or held): a minute later.
    Later(String),
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
    let adds_here: HashSet<String> = claimed
        .iter()
        .filter_map(|item| match &item.signal {
            Signal::SalesforceMember(m) => Some(m.member_id.clone()),
            _ => None,
        })
        .collect();
    for item in claimed {
        match mapping_of(ctx, &item, &adds_here).await? {
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
            Route::AfterAdd(when) => routed.after_add.push((item, when)),
        }
    }
    Ok(routed)
}

enum Route {
    Mapping(Arc<Mapping>),
    Flow,
    Unmapped(String),
    AfterAdd(AfterAdd),
}

/// `adds_here`: the CampaignMember ids this round's outbound-message and feed signals name.
async fn mapping_of(
    ctx: &Context,
    item: &Claimed,
    adds_here: &HashSet<String>,
) -> Result<Route, StoreError> {
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
                None if adds_here.contains(&d.member_id) => Route::AfterAdd(AfterAdd::NextRound),
                None if waiting_add(ctx, &d.member_id).await? => {
                    Route::AfterAdd(AfterAdd::Later(format!(
                        "the deletion of member {} waits for its add, not yet processed",
                        d.member_id
                    )))
                }
                // The poll keeps only deletions of members the sync knows; one removed by the
                // sync or another signal since lands here.
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

/// Whether a waiting outbound-message or feed signal names the member (the mirror does not).
async fn waiting_add(ctx: &Context, member_id: &str) -> Result<bool, StoreError> {
    let known = ctx
        .store
        .members_of_interest(&[member_id.to_string()])
        .await?;
    Ok(!known.is_empty())
}

/// The person a signal names by their Marketo lead or Salesforce Lead/Contact, when the identity
/// table knows them (nobody is created for a change the sync skips).
pub async fn known_person(ctx: &Context, item: &Claimed) -> Result<Option<String>, StoreError> {
    let (lead, person) = match &item.signal {
        Signal::SalesforceMember(m) => (None, m.contact_id.as_deref().or(m.lead_id.as_deref())),
        Signal::MarketoMember(m) => (Some(m.lead_id), None),
        Signal::MarketoFlowAction(a) => (Some(a.lead_id), None),
        // A deletion names only its member: the person an earlier try found, while the sync
        // still knows them.
        Signal::SalesforceMemberDeleted(_) => {
            let Some(id) = item.person.as_deref().and_then(|p| p.parse().ok()) else {
                return Ok(None);
            };
            let known = ctx.store.identity(id).await?;
            return Ok(known.map(|identity| identity.id.to_string()));
        }
    };
    if lead.is_none() && person.is_none() {
        return Ok(None);
    }
    let found = ctx.store.find_identity(lead, person, None).await?;
    Ok(found.map(|identity| identity.id.to_string()))
}
