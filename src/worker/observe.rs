//! Step 2, observe: what each side shows now for the people a mapping's signals touch.
//! Salesforce from the outbound-message snapshots and deletions, Marketo re-read in batches
//! (a webhook cannot carry the new status).

use std::collections::BTreeMap;

use crate::signal::Signal;
use crate::store::{Claimed, StoreError};
use crate::sync::Observed;
use crate::sync::time::parse_millis;

use tracing::Instrument;

use super::context::{Context, api_span};
use super::work::{Reading, Seen, SignalRef, observed_member};
use crate::mappings::Mapping;

/// What the signals say, and the signals that need no work in this mapping.
pub struct Observations {
    pub seen: Vec<Seen>,
    pub nothing_to_do: Vec<SignalRef>,
}

pub async fn observe(
    ctx: &Context,
    mapping: &Mapping,
    items: &[Claimed],
) -> Result<Observations, StoreError> {
    let mut seen = Vec::with_capacity(items.len());
    let mut nothing_to_do = Vec::new();
    for item in items {
        let signal = SignalRef {
            id: item.id,
            attempts: item.attempts,
        };
        let mut entry = Seen {
            signal,
            mkto_lead: None,
            sf_person: None,
            email: None,
            salesforce: None,
            marketo: Reading::NotRead,
            webhook_at: None,
            person: None,
        };
        match &item.signal {
            Signal::SalesforceMember(m) => {
                entry.sf_person = m.contact_id.clone().or_else(|| m.lead_id.clone());
                entry.email = m.email.clone();
                let at = m
                    .system_modstamp
                    .as_deref()
                    .or(m.last_modified_date.as_deref())
                    .and_then(parse_millis);
                let observed = Observed {
                    status: m.status.clone(),
                    at,
                };
                entry.salesforce = Some((observed, Some(m.member_id.clone())));
            }
            Signal::SalesforceMemberDeleted(d) => {
                let rows = ctx.store.mirror_by_member(&d.member_id).await?;
                let Some(row) = rows.into_iter().find(|r| r.mapping == mapping.name()) else {
                    nothing_to_do.push(signal);
                    continue;
                };
                entry.person = row.person.parse().ok();
                let observed = Observed {
                    status: None,
                    at: d.deleted_date.as_deref().and_then(parse_millis),
                };
                entry.salesforce = Some((observed, None));
            }
            Signal::MarketoMember(m) => {
                entry.mkto_lead = Some(m.lead_id);
                // To the whole second, as both sides stamp their changes.
                entry.webhook_at = crate::signal::from_marketo_webhook(&item.dedup_key)
                    .then_some(item.received_at - item.received_at.rem_euclid(1000));
                entry.email = m.email.clone().filter(|e| !e.is_empty());
            }
            Signal::MarketoFlowAction(_) => {
                nothing_to_do.push(signal);
                continue;
            }
        }
        seen.push(entry);
    }
    read_marketo(ctx, mapping, &mut seen).await;
    Ok(Observations {
        seen,
        nothing_to_do,
    })
}

/// Re-reads the touched Marketo members in batched calls.
async fn read_marketo(ctx: &Context, mapping: &Mapping, seen: &mut [Seen]) {
    let mut leads: Vec<i64> = seen.iter().filter_map(|e| e.mkto_lead).collect();
    if leads.is_empty() {
        return;
    }
    leads.sort_unstable();
    leads.dedup();
    let read = ctx
        .marketo
        .members(mapping.config.program_id, &leads)
        .instrument(api_span("marketo", "members", leads.len()))
        .await;
    match read {
        Ok(members) => {
            let by_lead: BTreeMap<i64, _> = members.into_iter().map(|m| (m.lead_id, m)).collect();
            for entry in seen.iter_mut() {
                if let Some(lead) = entry.mkto_lead {
                    let mut observed = observed_member(by_lead.get(&lead));
                    // Out of the program: removed no later than its webhook arrived.
                    if observed.status.is_none() {
                        observed.at = entry.webhook_at;
                    }
                    entry.marketo = Reading::Read(observed);
                }
            }
        }
        Err(error) => {
            for entry in seen.iter_mut().filter(|e| e.mkto_lead.is_some()) {
                entry.marketo = Reading::Failed(error.clone());
            }
        }
    }
}
