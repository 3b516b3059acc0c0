//! Marketo's own link to Salesforce (`sfdcContactId`, `sfdcLeadId` on the Marketo person, kept
//! by its native person sync), consulted before any e-mail match in either direction: it names
//! the very record, where an e-mail may name a duplicate or none.

use std::collections::BTreeMap;

use tracing::Instrument;

use crate::connectors::marketo::LeadRecord;
use crate::ids::SalesforceId;

use super::super::context::{Context, api_span};
use super::super::work::{Work, set_salesforce_person};

/// The Salesforce person a Marketo lead links to: its Contact, else its Lead. A value that is
/// not an id of that object is ignored.
pub fn salesforce_of(lead: &LeadRecord) -> Option<String> {
    let valid = |raw: &Option<String>, prefix: &str| {
        raw.as_deref()
            .and_then(|raw| SalesforceId::parse(raw).ok())
            .filter(|id| id.prefix() == prefix)
            .map(|id| id.as_str().to_string())
    };
    valid(&lead.sfdc_contact_id, "003").or_else(|| valid(&lead.sfdc_lead_id, "00Q"))
}

/// The Salesforce person Marketo links a lead to, when that is someone other than `ours`: a
/// lead linked to a Contact is that Contact's, and one linked to a Lead is that Lead's or (the
/// Lead converted, or its better record) a Contact's. Such a lead found by `ours`'s address
/// is not theirs to write.
pub fn linked_elsewhere<'a>(link: Option<&'a str>, ours: &str) -> Option<&'a str> {
    let theirs = link?;
    let converted = theirs.starts_with("00Q") && ours.starts_with("003");
    (theirs != ours && !converted).then_some(theirs)
}

/// Gives each open work item without a Marketo lead the lead that links to its Salesforce
/// Contact (else Lead); among several, the lowest id. Answers the items it gave one, for the
/// caller to save; a failed read fails the items it was for.
pub async fn marketo_by_link(ctx: &Context, works: &mut [&mut Work]) -> Vec<usize> {
    let mut given = Vec::new();
    for (filter, key) in [
        ("sfdcContactId", contact as fn(&Work) -> Option<String>),
        ("sfdcLeadId", lead),
    ] {
        let wanted: Vec<(usize, String)> = works
            .iter()
            .enumerate()
            .filter(|(_, w)| w.is_open() && w.identity().mkto_lead_id.is_none())
            .filter_map(|(i, w)| key(w).map(|id| (i, id)))
            .collect();
        if wanted.is_empty() {
            continue;
        }
        let ids: Vec<String> = wanted.iter().map(|(_, id)| id.clone()).collect();
        let read = ctx
            .marketo
            .leads_by(filter, &ids)
            .instrument(api_span("marketo", "leads_by_link", ids.len()))
            .await;
        let leads = match read {
            Ok(leads) => leads,
            Err(error) => {
                wanted
                    .iter()
                    .for_each(|(i, _)| works[*i].fail(error.clone()));
                continue;
            }
        };
        let mut lowest: BTreeMap<String, i64> = BTreeMap::new();
        for lead in leads {
            let linked = if filter == "sfdcContactId" {
                lead.sfdc_contact_id.as_ref()
            } else {
                lead.sfdc_lead_id.as_ref()
            };
            if let Some(id) = long(linked) {
                let entry = lowest.entry(id).or_insert(lead.id);
                *entry = (*entry).min(lead.id);
            }
        }
        for (i, id) in wanted {
            if let Some(&lead) = lowest.get(&id) {
                works[i].person.identity.mkto_lead_id = Some(lead);
                given.push(i);
            }
        }
    }
    given
}

/// Sets the Salesforce person of each item in `missing` whose Marketo lead links to one;
/// answers the items still without one.
pub fn salesforce_by_link(
    works: &mut [&mut Work],
    missing: &[usize],
    leads: &BTreeMap<i64, LeadRecord>,
    gone: &std::collections::HashSet<String>,
) -> Vec<usize> {
    let mut still = Vec::new();
    for &i in missing {
        let lead = works[i]
            .identity()
            .mkto_lead_id
            .and_then(|id| leads.get(&id));
        let linked = lead
            .and_then(salesforce_of)
            .filter(|person| !gone.contains(person));
        let Some(person) = linked else {
            still.push(i);
            continue;
        };
        let identity = &mut works[i].person.identity;
        set_salesforce_person(identity, &person);
        // The person's address, as for one found by it: a reconciliation tells a duplicate
        // with the same address by it, and trigger events carry it.
        if identity.email.is_none() {
            identity.email = lead
                .and_then(|l| l.email.as_deref())
                .filter(|e| !e.trim().is_empty())
                .map(crate::store::fold_email);
        }
    }
    still
}

/// The 18-character form Marketo keeps its links in.
fn long(raw: Option<&String>) -> Option<String> {
    raw.and_then(|raw| SalesforceId::parse(raw).ok())
        .map(|id| id.long())
}

fn contact(work: &Work) -> Option<String> {
    long(work.identity().sf_contact_id.as_ref())
}

fn lead(work: &Work) -> Option<String> {
    // A person with a Contact is looked up by it alone: the Lead is history.
    match work.identity().sf_contact_id {
        Some(_) => None,
        None => long(work.identity().sf_lead_id.as_ref()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(contact: Option<&str>, lead: Option<&str>) -> LeadRecord {
        LeadRecord {
            id: 1,
            email: None,
            first_name: None,
            last_name: None,
            company: None,
            sfdc_lead_id: lead.map(str::to_string),
            sfdc_contact_id: contact.map(str::to_string),
        }
    }

    #[test]
    fn the_contact_link_comes_before_the_lead_and_non_ids_are_ignored() {
        let contact = "003000000000001AAA";
        let lead = "00Q000000000001EAA";
        let cases = [
            (record(Some(contact), Some(lead)), Some(contact)),
            (record(None, Some(lead)), Some(lead)),
            (record(Some("not an id"), Some(lead)), Some(lead)),
            (record(Some(lead), None), None),
            (record(None, Some(contact)), None),
            (record(None, None), None),
        ];
        for (lead, expected) in cases {
            assert_eq!(salesforce_of(&lead).as_deref(), expected, "{lead:?}");
        }
    }
}
