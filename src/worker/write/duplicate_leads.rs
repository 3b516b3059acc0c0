//! Duplicate Marketo leads meeting one Salesforce person: within a round the lowest lead id is
//! the person's, and a lead whose Salesforce person is linked already to another lead Marketo
//! still has is left alone, so no person's status is written from two leads.

use std::collections::BTreeMap;

use crate::connectors::CallError;

use super::super::context::Context;
use super::super::work::Work;

/// Several items of this round reaching one Salesforce person from different Marketo leads
/// (Marketo links two leads to one record): the lowest lead id is the person's, the others are
/// left alone, as when the first is linked already.
pub fn one_lead_per_person(works: &mut [&mut Work], items: &[usize]) {
    let mut first: BTreeMap<String, i64> = BTreeMap::new();
    let mut ordered: Vec<usize> = items
        .iter()
        .copied()
        .filter(|&i| works[i].is_open())
        .collect();
    ordered.sort_by_key(|&i| works[i].identity().mkto_lead_id);
    for i in ordered {
        let (Some(person), Some(ours)) = (
            works[i].salesforce_person().map(str::to_string),
            works[i].identity().mkto_lead_id,
        ) else {
            continue;
        };
        match first.get(&person) {
            Some(&theirs) if theirs != ours => {
                works[i].leave_alone(format!(
                    "Marketo lead {ours} reaches Salesforce {person} (by Marketo's link or the \
                     address) as lead {theirs} does: left alone (merge the duplicates in \
                     Marketo, or correct Marketo's link)"
                ));
            }
            _ => {
                first.insert(person, ours);
            }
        }
    }
}

/// Leaves alone the items whose Salesforce person, found by Marketo's link or the address, is
/// linked to another Marketo lead that Marketo still has: the item's lead is a duplicate of
/// that person's, and joining them would put its status on the person (then the other lead's
/// back, on every change). A linked lead Marketo no longer has (merged away) leaves the item's
/// lead to take its place.
pub async fn another_leads(ctx: &Context, works: &mut [&mut Work], items: &[usize]) {
    let persons: Vec<String> = items
        .iter()
        .filter(|&&i| works[i].is_open())
        .filter_map(|&i| works[i].salesforce_person().map(str::to_string))
        .collect();
    if persons.is_empty() {
        return;
    }
    let owners = match ctx.store.identities_by_keys(&[], &persons).await {
        Ok(owners) => owners,
        Err(error) => {
            let error = CallError::retry(format!("reading the identity table: {error}"));
            items.iter().for_each(|&i| works[i].fail(error.clone()));
            return;
        }
    };
    // Each item's other lead: the one its Salesforce person's row holds, when it differs.
    let other = |work: &Work| -> Option<(i64, String)> {
        let person = work.salesforce_person()?;
        let ours = work.identity().mkto_lead_id?;
        let owner = owners.iter().find(|o| {
            o.id != work.identity().id
                && (o.sf_contact_id.as_deref() == Some(person)
                    || o.sf_lead_id.as_deref() == Some(person))
        })?;
        let theirs = owner.mkto_lead_id.filter(|&l| l != ours)?;
        Some((theirs, person.to_string()))
    };
    let conflicts: Vec<(usize, i64, String)> = items
        .iter()
        .filter(|&&i| works[i].is_open())
        .filter_map(|&i| other(works[i]).map(|(lead, person)| (i, lead, person)))
        .collect();
    if conflicts.is_empty() {
        return;
    }
    let linked = conflicts.iter().map(|(_, lead, _)| *lead);
    let existing = match ctx.marketo.existing_leads(linked).await {
        Ok(existing) => existing,
        Err(error) => {
            conflicts
                .iter()
                .for_each(|(i, _, _)| works[*i].fail(error.clone()));
            return;
        }
    };
    for (i, theirs, person) in conflicts {
        if !existing.contains(&theirs) {
            continue;
        }
        let ours = works[i].identity().mkto_lead_id.unwrap_or_default();
        // The person found is not this item's: its state row must not hold them too.
        let identity = &mut works[i].person.identity;
        if identity.sf_contact_id.as_deref() == Some(person.as_str()) {
            identity.sf_contact_id = None;
        }
        if identity.sf_lead_id.as_deref() == Some(person.as_str()) {
            identity.sf_lead_id = None;
        }
        works[i].leave_alone(format!(
            "Marketo lead {ours} reaches Salesforce {person} (by Marketo's link or the \
             address), the person of lead {theirs}: left alone (merge the duplicates in Marketo)"
        ));
    }
}
