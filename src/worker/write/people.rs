//! Finding or creating the Salesforce person a write goes to: Contact by e-mail, then
//! unconverted Lead, else a new Lead with Marketo's fallbacks for required fields. New links are
//! saved to the identity table (the Marketo side is `marketo_people`).

use std::collections::BTreeMap;

use serde_json::json;
use tracing::Instrument;

use crate::connectors::CallError;
use crate::connectors::salesforce::RecordOutcome;
use crate::connectors::salesforce::classify::classify_record;
use crate::store::{fold_email, now_millis};

use super::super::context::{Context, api_span};
use super::super::work::{Work, set_salesforce_person};
use super::linked;

/// Marketo's own fallback for required Salesforce Lead fields it does not have.
pub const NOT_PROVIDED: &str = "[not provided]";

/// Salesforce Lead field lengths (characters): longer Marketo values are cut to fit rather than
/// failing the create permanently.
const FIRST_NAME_MAX: usize = 40;
const LAST_NAME_MAX: usize = 80;
const COMPANY_MAX: usize = 255;

/// `value` cut to at most `max` characters.
fn fit(value: String, max: usize) -> String {
    match value.char_indices().nth(max) {
        Some((end, _)) => value[..end].to_string(),
        None => value,
    }
}

/// Makes sure every work item knows its Salesforce Lead or Contact; a Lead converted since is
/// replaced by its Contact first (a converted Lead cannot join a campaign).
pub async fn ensure_salesforce(ctx: &Context, works: &mut [&mut Work]) {
    follow_conversions(ctx, works).await;
    let missing: Vec<usize> = (0..works.len())
        .filter(|&i| works[i].salesforce_person().is_none())
        .collect();
    if missing.is_empty() {
        return;
    }
    // Marketo knows the e-mail (when the webhook did not carry it) and the names a new Lead
    // needs.
    let mut names = BTreeMap::new();
    let ids: Vec<String> = missing
        .iter()
        .filter_map(|&i| works[i].identity().mkto_lead_id.map(|id| id.to_string()))
        .collect();
    if !ids.is_empty() {
        let read = ctx
            .marketo
            .leads_by("id", &ids)
            .instrument(api_span("marketo", "leads_by_id", ids.len()))
            .await;
        match read {
            Ok(leads) => names.extend(leads.into_iter().map(|lead| (lead.id, lead))),
            Err(error) => {
                missing.iter().for_each(|&i| works[i].fail(error.clone()));
                return;
            }
        }
    }
    let linked = missing.clone();
    // A link naming a record a write found gone (deleted, merged) is not followed again.
    let links: Vec<String> = names.values().filter_map(linked::salesforce_of).collect();
    let gone = match ctx.store.gone_salesforce_people(&links).await {
        Ok(gone) => gone,
        Err(error) => {
            let error = super::super::work::WorkError::from(error);
            missing.iter().for_each(|&i| works[i].fail(error.clone()));
            return;
        }
    };
    let missing = linked::salesforce_by_link(works, &linked, &names, &gone);
    if missing.len() < linked.len() {
        // A link may name a Lead converted since: its Contact is the person.
        follow_conversions(ctx, works).await;
    }
    for &i in &missing {
        let lead = works[i]
            .identity()
            .mkto_lead_id
            .and_then(|id| names.get(&id));
        // A lead Marketo does not have (deleted, merged away, or a wrong id in a flow action)
        // names nobody: the e-mail a webhook carried is not Marketo's word for a person.
        if let (Some(id), None) = (works[i].identity().mkto_lead_id, lead) {
            works[i].fail(CallError::Permanent(format!(
                "Marketo has no lead {id} (deleted, merged into another, or a wrong id): no \
                 Salesforce person is found or created for it"
            )));
            continue;
        }
        // The person is found by the address Marketo has now: a webhook's may be out of date
        // (the lead's e-mail changed since it fired) or wrong (a template's token), and another
        // person's record may hold it.
        let current = lead
            .and_then(|l| l.email.as_deref())
            .filter(|e| !e.trim().is_empty());
        let Some(email) = current.map(fold_email) else {
            continue;
        };
        let identity = works[i].identity();
        if identity.email.as_ref() == Some(&email) {
            continue;
        }
        // Kept as the person's address from now on (a merge keeps a row's own e-mail).
        let id = identity.id;
        if id != 0
            && let Err(error) = ctx.store.set_identity_email(id, &email, now_millis()).await
        {
            works[i].fail(error);
            continue;
        }
        works[i].person.identity.email = Some(email);
    }
    let mut missing = missing;
    missing.retain(|&i| works[i].is_open());
    let emails: Vec<String> = missing
        .iter()
        .filter_map(|&i| works[i].identity().email.clone())
        .collect();
    let found = ctx
        .salesforce
        .people_by_email(&emails)
        .instrument(api_span("salesforce", "people_by_email", emails.len()))
        .await;
    let (mut contacts, mut leads) = match found {
        Ok(found) => found,
        Err(error) => {
            missing.iter().for_each(|&i| works[i].fail(error.clone()));
            return;
        }
    };
    // Among duplicates the choice is stable: a Contact before a Lead, then the lowest id (each
    // list is walked from the highest id down, so the lowest is inserted last and stays).
    contacts.sort_by(|a, b| b.id.cmp(&a.id));
    leads.sort_by(|a, b| b.id.cmp(&a.id));
    let mut by_email: BTreeMap<String, String> = BTreeMap::new();
    // Every record holding an address, so the ones passed over are named.
    let mut all_by_email: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for person in leads.into_iter().chain(contacts) {
        if let Some(email) = person.email {
            let email = fold_email(&email);
            all_by_email
                .entry(email.clone())
                .or_default()
                .push(person.id.clone());
            // Contacts come last, so they replace a Lead with the same e-mail.
            by_email.insert(email, person.id);
        }
    }
    let mut create = Vec::new();
    // One new Lead per address: Marketo's duplicates (the lowest lead id first) do not each
    // make one.
    let mut creating: BTreeMap<String, i64> = BTreeMap::new();
    missing.sort_by_key(|&i| works[i].identity().mkto_lead_id);
    for &i in &missing {
        match works[i].identity().email.clone() {
            Some(email) => match by_email.get(&email) {
                Some(id) => {
                    set_salesforce_person(&mut works[i].person.identity, id);
                    works[i].note = passed_over(id, all_by_email.get(&email));
                }
                None => match (creating.get(&email), works[i].identity().mkto_lead_id) {
                    (Some(&first), Some(ours)) if first != ours => {
                        works[i].leave_alone(format!(
                            "Marketo lead {ours} shares its address with lead {first}, for whom \
                             a Salesforce Lead is created: left alone (merge the duplicates in \
                             Marketo)"
                        ));
                    }
                    (_, lead) => {
                        creating.insert(email, lead.unwrap_or_default());
                        create.push(i);
                    }
                },
            },
            None => works[i].fail(CallError::Permanent(
                "no e-mail address to find or create the Salesforce person".into(),
            )),
        }
    }
    if !create.is_empty() {
        create_leads(ctx, works, &create, &names).await;
    }
    super::duplicate_leads::one_lead_per_person(works, &linked);
    super::duplicate_leads::another_leads(ctx, works, &linked).await;
    for &i in &linked {
        if works[i].is_open() && works[i].salesforce_person().is_some() {
            save(ctx, works[i]).await;
        }
    }
}

/// The Salesforce records sharing the address of the one chosen, named so an operator can
/// merge them (the live path leaves them alone, as a reconciliation does).
fn passed_over(chosen: &str, all: Option<&Vec<String>>) -> Option<String> {
    let mut others: Vec<&str> = all?
        .iter()
        .map(String::as_str)
        .filter(|id| *id != chosen)
        .collect();
    if others.is_empty() {
        return None;
    }
    others.sort_unstable();
    tracing::warn!(chosen, others = ?others, "Salesforce has duplicates for one address");
    Some(format!(
        "Salesforce has other records with this address, left alone: {} ({chosen} was chosen: a \
         Contact before a Lead, then the lowest id; merge the duplicates in Salesforce)",
        others.join(", ")
    ))
}

/// People known only by a Lead: one query finds the converted ones, whose Contact becomes
/// their Salesforce person (saved, so every later write uses it).
async fn follow_conversions(ctx: &Context, works: &mut [&mut Work]) {
    let leads: Vec<String> = works
        .iter()
        .filter(|w| w.identity().sf_contact_id.is_none())
        .filter_map(|w| w.identity().sf_lead_id.clone())
        .collect();
    if leads.is_empty() {
        return;
    }
    let converted = ctx
        .salesforce
        .converted_leads(&leads)
        .instrument(api_span("salesforce", "converted_leads", leads.len()))
        .await;
    let converted: BTreeMap<String, String> = match converted {
        Ok(found) => found.into_iter().collect(),
        Err(error) => {
            works
                .iter_mut()
                .filter(|w| {
                    w.identity().sf_contact_id.is_none() && w.identity().sf_lead_id.is_some()
                })
                .for_each(|w| w.fail(error.clone()));
            return;
        }
    };
    for work in works.iter_mut() {
        let contact = work
            .identity()
            .sf_lead_id
            .as_ref()
            .and_then(|lead| converted.get(lead))
            .cloned();
        if let (Some(contact), true) = (contact, work.identity().sf_contact_id.is_none()) {
            tracing::info!(contact = %contact, "a converted Lead is followed to its Contact");
            work.person.identity.sf_contact_id = Some(contact);
            save(ctx, work).await;
        }
    }
}

async fn create_leads(
    ctx: &Context,
    works: &mut [&mut Work],
    create: &[usize],
    names: &BTreeMap<i64, crate::connectors::marketo::LeadRecord>,
) {
    let records = create
        .iter()
        .map(|&i| {
            let lead = works[i]
                .identity()
                .mkto_lead_id
                .and_then(|id| names.get(&id));
            let text = |v: Option<&String>| {
                v.filter(|s| !s.is_empty())
                    .cloned()
                    .unwrap_or_else(|| NOT_PROVIDED.to_string())
            };
            // Marketo's own spelling of the address where it has one (the identity keeps it
            // folded to lower case for matching).
            let email = lead
                .and_then(|l| l.email.as_deref())
                .map(|e| e.trim().to_string())
                .filter(|e| !e.is_empty())
                .or_else(|| works[i].identity().email.clone());
            json!({
                "Email": email,
                "FirstName": lead
                    .and_then(|l| l.first_name.clone())
                    .map(|f| fit(f, FIRST_NAME_MAX)),
                "LastName": fit(text(lead.and_then(|l| l.last_name.as_ref())), LAST_NAME_MAX),
                "Company": fit(text(lead.and_then(|l| l.company.as_ref())), COMPANY_MAX),
            })
        })
        .collect();
    let created = ctx
        .salesforce
        .create("Lead", records)
        .instrument(api_span("salesforce", "create_leads", create.len()))
        .await;
    match created {
        Ok(results) => {
            for (&i, result) in create.iter().zip(results) {
                match classify_record(&result) {
                    RecordOutcome::Done(Some(id)) => {
                        set_salesforce_person(&mut works[i].person.identity, &id)
                    }
                    RecordOutcome::Failed(error) => {
                        works[i].fail(error.context("creating the Salesforce Lead"))
                    }
                    other => works[i].fail(CallError::Permanent(format!(
                        "creating the Salesforce Lead: {other:?}"
                    ))),
                }
            }
        }
        Err(error) => create.iter().for_each(|&i| works[i].fail(error.clone())),
    }
}

/// Saves a new link at once, so a retry finds the person created this round. The work takes
/// on the row the save merged into: a key it learnt may belong to a row another item of this
/// round saved first (two signals of one person), and a person merged away must not get
/// mirror rows of their own again.
pub(super) async fn save(ctx: &Context, work: &mut Work) {
    match ctx
        .store
        .merge_identity(work.identity(), now_millis())
        .await
    {
        Ok(merged) => work.person.identity = merged,
        Err(error) => work.fail(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_are_cut_on_character_boundaries() {
        assert_eq!(fit("Ada".into(), 40), "Ada");
        assert_eq!(fit("é".repeat(50), FIRST_NAME_MAX).chars().count(), 40);
        assert_eq!(fit("x".repeat(80), LAST_NAME_MAX).len(), 80);
    }
}
