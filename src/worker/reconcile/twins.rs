//! Marketo leads sharing an address with a person already linked: Marketo allows duplicate
//! leads, and a second member of the program at the linked person's address would, as a
//! Marketo-only person, find the linked person's Salesforce record by that address and write
//! its own status there, then the next pass would write the first lead's back, and so on. Such
//! a lead is named in a warning and left alone, as Salesforce duplicates passed over are.

use std::collections::HashMap;

use crate::store::fold_email;

use super::super::context::Context;
use super::super::work::WorkError;
use super::adopt::{LeadKeys, Pair};
use super::entries::{MkEntry, SfNew};
use super::sides::lead_keys;

/// The leads paired in this pass by their folded address: the lead and its Salesforce person.
pub type Paired = HashMap<String, (i64, Option<String>)>;

/// A lead left alone, with the linked lead and Salesforce person whose address it shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Twin {
    pub lead: i64,
    pub linked_lead: i64,
    pub person: Option<String>,
    /// Found by Marketo's own link to the Salesforce person, not by the address.
    pub by_link: bool,
}

impl Twin {
    pub fn warning(&self) -> String {
        if let (true, Some(person)) = (self.by_link, self.person.as_deref()) {
            return format!(
                "Marketo lead {} is linked by Marketo to Salesforce {person}, which is linked to \
                 lead {}, also a member: left alone (merge the duplicates in Marketo, or \
                 correct the link)",
                self.lead, self.linked_lead
            );
        }
        let person = self
            .person
            .as_deref()
            .map(|p| format!(", linked to {p}"))
            .unwrap_or_default();
        format!(
            "Marketo lead {} shares its e-mail with lead {}{person}, also a member: left \
             alone (merge the duplicates in Marketo)",
            self.lead, self.linked_lead
        )
    }
}

/// Of these unpaired Marketo members, the warnings of those left alone (by lead): whose address
/// belongs to a person linked to another lead that is a member on this pass too (a lead merged
/// away is no longer a member, so its survivor is not held back), duplicates new together, and
/// those with neither an address nor a link; and every one's address, as Marketo spells it (a
/// report names them by it). `known` holds lead keys this pass has read already; the others are read
/// 300 at a time.
pub async fn find(
    ctx: &Context,
    leads: &[i64],
    known: Option<&[LeadKeys]>,
    marketo: &HashMap<i64, MkEntry>,
    paired: &Paired,
) -> Result<(HashMap<i64, String>, HashMap<i64, String>), WorkError> {
    if leads.is_empty() {
        return Ok(Default::default());
    }
    let read;
    let keys = match known {
        Some(keys) => keys,
        None => {
            read = lead_keys(ctx, leads).await?;
            &read
        }
    };
    let wanted: std::collections::HashSet<i64> = leads.iter().copied().collect();
    let spelt: HashMap<i64, String> = keys
        .iter()
        .filter(|k| wanted.contains(&k.id))
        .filter_map(|k| Some((k.id, k.email.as_deref()?.trim().to_string())))
        .filter(|(_, e)| !e.is_empty())
        .collect();
    // Marketo's own link names a Salesforce person linked to another lead of this program:
    // the lead is a duplicate of that person's, whatever its address.
    let links: Vec<(i64, String)> = keys
        .iter()
        .filter(|k| wanted.contains(&k.id))
        .filter_map(|k| {
            let person = k.sfdc_contact_id.as_ref().or(k.sfdc_lead_id.as_ref())?;
            Some((k.id, person.as_str().to_string()))
        })
        .collect();
    let mut twins = HashMap::new();
    if !links.is_empty() {
        let persons: Vec<String> = links.iter().map(|(_, p)| p.clone()).collect();
        let owners = ctx.store.identities_by_keys(&[], &persons).await?;
        for (lead, person) in links {
            let owner = owners.iter().find(|o| {
                (o.sf_contact_id.as_deref() == Some(person.as_str())
                    || o.sf_lead_id.as_deref() == Some(person.as_str()))
                    && o.mkto_lead_id.is_some_and(|other| {
                        other != lead && marketo.get(&other).is_some_and(|m| m.used)
                    })
            });
            if let Some(owner) = owner {
                twins.insert(
                    lead,
                    Twin {
                        lead,
                        linked_lead: owner.mkto_lead_id.unwrap_or_default(),
                        person: Some(person),
                        by_link: true,
                    },
                );
            }
        }
    }
    let emails: HashMap<i64, String> = keys
        .iter()
        .filter(|k| wanted.contains(&k.id))
        .filter_map(|k| Some((k.id, fold_email(k.email.as_deref()?))))
        .filter(|(_, e)| !e.is_empty())
        .collect();
    let mut addresses: Vec<String> = emails.values().cloned().collect();
    addresses.sort_unstable();
    addresses.dedup();
    let identities = ctx.store.identities_by_emails(&addresses).await?;
    for (lead, email) in emails {
        if twins.contains_key(&lead) {
            continue;
        }
        if let Some((linked_lead, person)) = paired.get(&email).filter(|(l, _)| *l != lead) {
            twins.insert(
                lead,
                Twin {
                    lead,
                    linked_lead: *linked_lead,
                    person: person.clone(),
                    by_link: false,
                },
            );
            continue;
        }
        let linked = identities.iter().find(|i| {
            i.email.as_deref() == Some(email.as_str())
                && i.mkto_lead_id.is_some_and(|other| {
                    other != lead && marketo.get(&other).is_some_and(|m| m.used)
                })
        });
        if let Some(identity) = linked {
            let person = identity
                .sf_contact_id
                .clone()
                .or_else(|| identity.sf_lead_id.clone());
            twins.insert(
                lead,
                Twin {
                    lead,
                    linked_lead: identity.mkto_lead_id.unwrap_or_default(),
                    person,
                    by_link: false,
                },
            );
        }
    }
    new_together(keys, &wanted, &mut twins);
    let mut left: HashMap<i64, String> = twins
        .into_iter()
        .map(|(lead, twin)| (lead, twin.warning()))
        .collect();
    // No address and no link to a Salesforce person: the worker could neither find nor create
    // one, so each run would queue a change that ends dead.
    for key in keys.iter().filter(|k| wanted.contains(&k.id)) {
        if !spelt.contains_key(&key.id) && key.salesforce_person().is_none() {
            left.entry(key.id).or_insert_with(|| {
                format!(
                    "Marketo lead {} has no e-mail address and no Salesforce link: left alone \
                     (it can be neither found nor created in Salesforce; give it an address)",
                    key.id
                )
            });
        }
    }
    Ok((left, spelt))
}

/// Leads new here together at one address, or linked by Marketo to one Salesforce person who
/// is not a member: the lowest id becomes the person (the worker creates or finds one
/// Salesforce record for it) and the others are its duplicates, left alone.
fn new_together(
    keys: &[LeadKeys],
    wanted: &std::collections::HashSet<i64>,
    twins: &mut HashMap<i64, Twin>,
) {
    let mut left: Vec<&LeadKeys> = keys
        .iter()
        .filter(|k| wanted.contains(&k.id) && !twins.contains_key(&k.id))
        .collect();
    left.sort_by_key(|k| k.id);
    let mut claimed: HashMap<String, i64> = HashMap::new();
    for lead in left {
        let person = lead.salesforce_person();
        let email = lead
            .email
            .as_deref()
            .map(fold_email)
            .filter(|e| !e.is_empty());
        let keys = [
            person.as_ref().map(|p| (format!("sf:{p}"), true)),
            email.map(|e| (format!("email:{e}"), false)),
        ];
        let first = keys
            .iter()
            .flatten()
            .find_map(|(key, by_link)| Some((*claimed.get(key)?, *by_link)));
        match first {
            Some((linked_lead, by_link)) => {
                let twin = Twin {
                    lead: lead.id,
                    linked_lead,
                    person: person.filter(|_| by_link),
                    by_link,
                };
                twins.insert(lead.id, twin);
            }
            None => {
                for (key, _) in keys.into_iter().flatten() {
                    claimed.insert(key, lead.id);
                }
            }
        }
    }
}

/// The Salesforce persons of these pairs linked already (through another mapping) to another
/// Marketo lead that Marketo still has, with that lead: such a pair is one person with two
/// leads, and writing either would put one lead's status on the other's person (or add the
/// linked lead to this program). A linked lead merged away leaves the paired one as the
/// person's. One store query per 500 persons, one Marketo read for the conflicts.
pub async fn linked_elsewhere(
    ctx: &Context,
    pairs: &[Pair],
    members: &[SfNew],
) -> Result<HashMap<String, i64>, WorkError> {
    let paired: HashMap<String, i64> = pairs
        .iter()
        .filter_map(|p| Some((members[p.member].person_id()?.to_string(), p.lead_id)))
        .collect();
    if paired.is_empty() {
        return Ok(HashMap::new());
    }
    let persons: Vec<String> = paired.keys().cloned().collect();
    let linked: HashMap<String, i64> = ctx
        .store
        .identities_by_keys(&[], &persons)
        .await?
        .into_iter()
        .filter_map(|i| {
            let lead = i.mkto_lead_id?;
            let person = i.sf_contact_id.or(i.sf_lead_id)?;
            (paired.get(&person) != Some(&lead)).then_some((person, lead))
        })
        .filter(|(person, _)| paired.contains_key(person))
        .collect();
    if linked.is_empty() {
        return Ok(linked);
    }
    let existing = ctx.marketo.existing_leads(linked.values().copied()).await?;
    Ok(linked
        .into_iter()
        .filter(|(_, lead)| existing.contains(lead))
        .collect())
}
