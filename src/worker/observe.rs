//! What each side shows now for the people a mapping's signals touch: Salesforce from the
//! outbound-message snapshots (newest per person) and deletions, Marketo re-read in batches.

use std::collections::BTreeMap;

use crate::connectors::CallError;
use crate::signal::Signal;
use crate::store::{Claimed, IdentityRow, StoreError, fold_email};
use crate::sync::time::parse_millis;
use crate::sync::{Decision, Observed};

use super::Worker;
use super::identity;
use super::mappings::Mapping;
use super::record::Settled;
use super::round::PersonWork;

/// One observation before identities are resolved.
struct Seen {
    signal: (i64, i64),
    mkto_lead: Option<i64>,
    sf_person: Option<String>,
    email: Option<String>,
    sf: Option<(Observed, Option<String>)>,
    mk_failed: Option<CallError>,
    mk: Option<Observed>,
    person: Option<i64>,
}

/// The people a mapping's signals touch, and the signals that need no work at all.
pub struct Touched {
    pub people: Vec<PersonWork>,
    pub skipped: Vec<Settled>,
}

pub async fn collect(
    worker: &Worker,
    mapping: &Mapping,
    items: &[Claimed],
) -> Result<Touched, StoreError> {
    let mut seen = Vec::with_capacity(items.len());
    let mut skipped = Vec::new();
    let mut leads = Vec::new();
    for item in items {
        let signal = (item.id, item.attempts);
        let mut entry = Seen {
            signal,
            mkto_lead: None,
            sf_person: None,
            email: None,
            sf: None,
            mk_failed: None,
            mk: None,
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
                entry.sf = Some((
                    Observed {
                        status: m.status.clone(),
                        at,
                    },
                    Some(m.member_id.clone()),
                ));
            }
            Signal::SalesforceMemberDeleted(d) => {
                let rows = worker.inner.store.mirror_by_member(&d.member_id).await?;
                let Some(row) = rows.into_iter().find(|r| r.mapping == mapping.name()) else {
                    skipped.push((item.id, item.attempts, Ok(())));
                    continue;
                };
                entry.person = row.person.parse().ok();
                entry.sf = Some((
                    Observed {
                        status: None,
                        at: d.deleted_date.as_deref().and_then(parse_millis),
                    },
                    None,
                ));
            }
            Signal::MarketoMember(m) => {
                entry.mkto_lead = Some(m.lead_id);
                entry.email = m.email.clone().filter(|e| !e.is_empty());
                leads.push(m.lead_id);
            }
            Signal::MarketoFlowAction(_) => {
                skipped.push((item.id, item.attempts, Ok(())));
                continue;
            }
        }
        seen.push(entry);
    }
    read_marketo(worker, mapping, &leads, &mut seen).await;
    Ok(Touched {
        people: merge(worker, seen).await?,
        skipped,
    })
}

/// Re-reads the touched Marketo members: the webhook cannot carry the new status.
async fn read_marketo(worker: &Worker, mapping: &Mapping, leads: &[i64], seen: &mut [Seen]) {
    if leads.is_empty() {
        return;
    }
    let mut unique = leads.to_vec();
    unique.sort_unstable();
    unique.dedup();
    match worker
        .marketo()
        .members(mapping.config.program_id, &unique)
        .await
    {
        Ok(members) => {
            let by_lead: BTreeMap<i64, _> = members.into_iter().map(|m| (m.lead_id, m)).collect();
            for entry in seen.iter_mut() {
                if let Some(lead) = entry.mkto_lead {
                    let member = by_lead.get(&lead);
                    entry.mk = Some(Observed {
                        status: member.and_then(|m| m.status_name.clone()),
                        at: member
                            .and_then(|m| m.updated_at.as_deref())
                            .and_then(parse_millis),
                    });
                }
            }
        }
        Err(error) => {
            for entry in seen.iter_mut().filter(|e| e.mkto_lead.is_some()) {
                entry.mk_failed = Some(error.clone());
            }
        }
    }
}

/// An identity already holding everything this observation knows (so nothing needs saving).
fn known_identity<'a>(known: &'a [IdentityRow], entry: &Seen) -> Option<&'a IdentityRow> {
    let found = known
        .iter()
        .find(|i| match (entry.mkto_lead, &entry.sf_person) {
            (Some(lead), _) => i.mkto_lead_id == Some(lead),
            (None, Some(person)) => {
                i.sf_contact_id.as_ref() == Some(person) || i.sf_lead_id.as_ref() == Some(person)
            }
            (None, None) => false,
        })?;
    let has_email = entry.email.is_none() || found.email.is_some();
    let has_person = entry.sf_person.is_none()
        || found.sf_contact_id == entry.sf_person
        || found.sf_lead_id == entry.sf_person;
    (has_email && has_person).then_some(found)
}

/// Resolves identities and folds observations of the same person into one work item; of
/// several Salesforce snapshots the newest wins.
async fn merge(worker: &Worker, seen: Vec<Seen>) -> Result<Vec<PersonWork>, StoreError> {
    let mut works: BTreeMap<i64, PersonWork> = BTreeMap::new();
    let leads: Vec<i64> = seen.iter().filter_map(|e| e.mkto_lead).collect();
    let people: Vec<String> = seen.iter().filter_map(|e| e.sf_person.clone()).collect();
    let known = worker
        .inner
        .store
        .identities_by_keys(&leads, &people)
        .await?;
    for entry in seen {
        let identity = match (entry.person, known_identity(&known, &entry)) {
            (Some(id), _) => identity::by_id(worker, id).await?,
            (None, Some(identity)) => identity.clone(),
            (None, None) => {
                identity::resolve(
                    worker,
                    entry.mkto_lead,
                    entry.sf_person.as_deref(),
                    entry.email.as_deref(),
                )
                .await?
            }
        };
        let work = works.entry(identity.id).or_insert_with(|| PersonWork {
            identity: identity.clone(),
            signals: Vec::new(),
            sf: None,
            sf_member_id: None,
            mk: None,
            mirror: None,
            decision: Decision::Skip(""),
            actor: "",
            outcome: None,
            reset_to: None,
            reset_applied: false,
        });
        work.identity = identity;
        work.signals.push(entry.signal);
        if let Some(error) = entry.mk_failed {
            work.fail(&error);
        }
        if let Some((observed, member_id)) = entry.sf {
            let newer = work.sf.as_ref().is_none_or(|old| observed.at >= old.at);
            if newer {
                work.sf = Some(observed);
                if member_id.is_some() {
                    work.sf_member_id = member_id;
                }
            }
        }
        if entry.mk.is_some() {
            work.mk = entry.mk;
        }
        if let Some(email) = entry.email {
            work.identity.email.get_or_insert(fold_email(&email));
        }
    }
    Ok(works.into_values().collect())
}
