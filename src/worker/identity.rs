//! Who is who: the identity table first, then the APIs — Salesforce Contact, then unconverted
//! Lead, by e-mail, else a new Lead; Marketo lead by e-mail, else a new person.

use std::collections::BTreeMap;

use serde_json::json;

use crate::connectors::CallError;
use crate::connectors::salesforce::RecordOutcome;
use crate::connectors::salesforce::classify::classify_record;
use crate::store::{IdentityRow, StoreError, fold_email, now_millis};

use super::Worker;
use super::round::PersonWork;

/// Marketo's own fallback for required Salesforce Lead fields it does not have.
pub const NOT_PROVIDED: &str = "[not provided]";

pub async fn by_id(worker: &Worker, id: i64) -> Result<IdentityRow, StoreError> {
    Ok(worker
        .inner
        .store
        .identity(id)
        .await?
        .unwrap_or(IdentityRow {
            id,
            ..IdentityRow::default()
        }))
}

/// Finds the identity holding any of these keys, adds the keys it lacks, or creates it.
pub async fn resolve(
    worker: &Worker,
    mkto_lead: Option<i64>,
    sf_person: Option<&str>,
    email: Option<&str>,
) -> Result<IdentityRow, StoreError> {
    let store = &worker.inner.store;
    let email = email.filter(|e| !e.trim().is_empty());
    let mut identity = store
        .find_identity(mkto_lead, sf_person, email)
        .await?
        .unwrap_or_default();
    let before = identity.clone();
    if identity.mkto_lead_id.is_none() {
        identity.mkto_lead_id = mkto_lead;
    }
    if let Some(person) = sf_person {
        set_salesforce_id(&mut identity, person);
    }
    if identity.email.is_none() {
        identity.email = email.map(fold_email);
    }
    if identity.id == 0 || identity != before {
        identity.id = store.save_identity(&identity, now_millis()).await?;
    }
    Ok(identity)
}

pub fn salesforce_id(identity: &IdentityRow) -> Option<&str> {
    identity
        .sf_contact_id
        .as_deref()
        .or(identity.sf_lead_id.as_deref())
}

fn set_salesforce_id(identity: &mut IdentityRow, person: &str) {
    if person.starts_with("003") {
        identity
            .sf_contact_id
            .get_or_insert_with(|| person.to_string());
    } else {
        identity
            .sf_lead_id
            .get_or_insert_with(|| person.to_string());
    }
}

/// Makes sure every selected work item knows its Marketo lead id, finding leads by e-mail and
/// creating the missing ones; an item that cannot be resolved fails with the reason.
pub async fn ensure_marketo(
    worker: &Worker,
    works: &mut [&mut PersonWork],
) -> Result<(), StoreError> {
    let missing: Vec<String> = works
        .iter()
        .filter(|w| w.identity.mkto_lead_id.is_none())
        .filter_map(|w| w.identity.email.clone())
        .collect();
    if !missing.is_empty() {
        let found = match find_or_create_marketo(worker, &missing).await {
            Ok(found) => found,
            Err(error) => {
                works
                    .iter_mut()
                    .filter(|w| w.identity.mkto_lead_id.is_none())
                    .for_each(|w| w.fail(&error));
                return Ok(());
            }
        };
        for work in works
            .iter_mut()
            .filter(|w| w.identity.mkto_lead_id.is_none())
        {
            let id = work
                .identity
                .email
                .as_ref()
                .and_then(|e| found.get(e))
                .copied();
            work.identity.mkto_lead_id = id;
            if id.is_some() {
                worker
                    .inner
                    .store
                    .save_identity(&work.identity, now_millis())
                    .await?;
            }
        }
    }
    for work in works
        .iter_mut()
        .filter(|w| w.identity.mkto_lead_id.is_none())
    {
        work.fail(&CallError::Permanent(
            "no e-mail address to find or create the Marketo person".into(),
        ));
    }
    Ok(())
}

async fn find_or_create_marketo(
    worker: &Worker,
    emails: &[String],
) -> Result<BTreeMap<String, i64>, CallError> {
    let mut found = BTreeMap::new();
    for lead in worker.marketo().leads_by("email", emails).await? {
        if let Some(email) = lead.email {
            found.entry(fold_email(&email)).or_insert(lead.id);
        }
    }
    let create: Vec<&String> = emails.iter().filter(|e| !found.contains_key(*e)).collect();
    if !create.is_empty() {
        let input = create.iter().map(|e| json!({ "email": e })).collect();
        let results = worker.marketo().upsert_leads(input).await?;
        for (email, result) in create.into_iter().zip(results) {
            if let Some(id) = result.id.filter(|_| result.status != "skipped") {
                found.insert(email.clone(), id);
            }
        }
    }
    Ok(found)
}

/// Makes sure every selected work item knows its Salesforce Lead or Contact: Contact by e-mail,
/// then unconverted Lead, else a new Lead with Marketo's fallbacks for required fields.
pub async fn ensure_salesforce(
    worker: &Worker,
    works: &mut [&mut PersonWork],
) -> Result<(), StoreError> {
    let missing: Vec<usize> = (0..works.len())
        .filter(|&i| salesforce_id(&works[i].identity).is_none())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    // Marketo knows the e-mail (when the webhook did not carry it) and the names a new Lead
    // needs.
    let mut names = BTreeMap::new();
    let ids: Vec<String> = missing
        .iter()
        .filter_map(|&i| works[i].identity.mkto_lead_id.map(|id| id.to_string()))
        .collect();
    if !ids.is_empty() {
        match worker.marketo().leads_by("id", &ids).await {
            Ok(leads) => {
                for lead in leads {
                    names.insert(lead.id, lead);
                }
            }
            Err(error) => {
                missing.iter().for_each(|&i| works[i].fail(&error));
                return Ok(());
            }
        }
    }
    for &i in &missing {
        let lead = works[i].identity.mkto_lead_id.and_then(|id| names.get(&id));
        if works[i].identity.email.is_none() {
            works[i].identity.email = lead.and_then(|l| l.email.as_deref()).map(fold_email);
        }
    }
    let emails: Vec<String> = missing
        .iter()
        .filter_map(|&i| works[i].identity.email.clone())
        .collect();
    let (contacts, leads) = match worker.salesforce().people_by_email(&emails).await {
        Ok(found) => found,
        Err(error) => {
            missing.iter().for_each(|&i| works[i].fail(&error));
            return Ok(());
        }
    };
    let mut by_email: BTreeMap<String, String> = BTreeMap::new();
    for person in leads.into_iter().chain(contacts) {
        if let Some(email) = person.email {
            // Contacts come last, so they replace a Lead with the same e-mail.
            by_email.insert(fold_email(&email), person.id);
        }
    }
    let mut create = Vec::new();
    for &i in &missing {
        match works[i].identity.email.clone() {
            Some(email) => match by_email.get(&email) {
                Some(id) => set_salesforce_id(&mut works[i].identity, id),
                None => create.push(i),
            },
            None => works[i].fail(&CallError::Permanent(
                "no e-mail address to find or create the Salesforce person".into(),
            )),
        }
    }
    if !create.is_empty() {
        let records = create
            .iter()
            .map(|&i| {
                let lead = works[i].identity.mkto_lead_id.and_then(|id| names.get(&id));
                let text = |v: Option<&String>| {
                    v.filter(|s| !s.is_empty())
                        .cloned()
                        .unwrap_or_else(|| NOT_PROVIDED.to_string())
                };
                json!({
                    "Email": works[i].identity.email,
                    "FirstName": lead.and_then(|l| l.first_name.clone()),
                    "LastName": text(lead.and_then(|l| l.last_name.as_ref())),
                    "Company": text(lead.and_then(|l| l.company.as_ref())),
                })
            })
            .collect();
        match worker.salesforce().create("Lead", records).await {
            Ok(results) => {
                for (&i, result) in create.iter().zip(results) {
                    match classify_record(&result) {
                        RecordOutcome::Done(Some(id)) => {
                            set_salesforce_id(&mut works[i].identity, &id)
                        }
                        RecordOutcome::Failed(error) => works[i].fail(&error),
                        other => works[i].fail(&CallError::Permanent(format!(
                            "creating the Lead: {other:?}"
                        ))),
                    }
                }
            }
            Err(error) => create.iter().for_each(|&i| works[i].fail(&error)),
        }
    }
    for &i in &missing {
        if salesforce_id(&works[i].identity).is_some() {
            worker
                .inner
                .store
                .save_identity(&works[i].identity, now_millis())
                .await?;
        }
    }
    Ok(())
}
