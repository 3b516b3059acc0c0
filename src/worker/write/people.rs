//! Finding or creating the person on the side a write goes to: Marketo lead by e-mail, else a
//! new person; Salesforce Contact by e-mail, then unconverted Lead, else a new Lead with
//! Marketo's fallbacks for required fields. New links are saved to the identity table.

use std::collections::BTreeMap;

use serde_json::json;
use tracing::Instrument;

use crate::connectors::CallError;
use crate::connectors::salesforce::classify::classify_record;
use crate::connectors::salesforce::{CampaignMember, RecordOutcome};
use crate::mappings::Mapping;
use crate::store::{fold_email, now_millis};
use crate::sync::{Decision, Done};

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

/// Makes sure every work item knows its Marketo lead id. A person Marketo does not have is
/// created for a status to set, with the names Salesforce shows; a removal of such a person is
/// already done. One that cannot be resolved fails with the reason.
pub async fn ensure_marketo(ctx: &Context, mapping: &Mapping, works: &mut [&mut Work]) {
    for i in linked::marketo_by_link(ctx, works).await {
        save(ctx, works[i]).await;
    }
    let wanted: Vec<Wanted> = works
        .iter()
        .filter(|w| unresolved(w))
        .filter_map(|w| {
            Some(Wanted {
                email: w.identity().email.clone()?,
                salesforce_person: w.salesforce_person().map(str::to_string),
                create: matches!(w.decision, Decision::SetMarketo(_)),
            })
        })
        .collect();
    if !wanted.is_empty() {
        let (found, refused) = match find_or_create_marketo(ctx, mapping, &wanted).await {
            Ok(answer) => answer,
            Err(error) => {
                works
                    .iter_mut()
                    .filter(|w| unresolved(w))
                    .for_each(|w| w.fail(error.clone()));
                return;
            }
        };
        for work in works.iter_mut().filter(|w| unresolved(w)) {
            let email = work.identity().email.clone();
            let id = email.as_ref().and_then(|e| found.get(e)).copied();
            work.person.identity.mkto_lead_id = id;
            if id.is_some() {
                save(ctx, work).await;
            } else if let Some(reason) = email.as_ref().and_then(|e| refused.get(e)) {
                work.fail(CallError::Permanent(reason.clone()));
            } else if email.is_some() && matches!(work.decision, Decision::RemoveFromMarketo) {
                work.outcome = Some(Ok(Done::Skipped(
                    "Marketo has no person with this e-mail to remove".into(),
                )));
            }
        }
    }
    for work in works.iter_mut().filter(|w| unresolved(w)) {
        work.fail(CallError::Permanent(
            "no e-mail address to find or create the Marketo person".into(),
        ));
    }
}

/// Whether the work still needs its Marketo lead id.
fn unresolved(work: &Work) -> bool {
    work.is_open() && work.identity().mkto_lead_id.is_none()
}

/// A person to find in Marketo by e-mail, and whether to create them when Marketo has none.
struct Wanted {
    email: String,
    salesforce_person: Option<String>,
    create: bool,
}

/// Marketo's lead ids by folded e-mail, and why Marketo refused to create the others.
type FoundLeads = (BTreeMap<String, i64>, BTreeMap<String, String>);

async fn find_or_create_marketo(
    ctx: &Context,
    mapping: &Mapping,
    wanted: &[Wanted],
) -> Result<FoundLeads, CallError> {
    let mut found = BTreeMap::new();
    let mut refused = BTreeMap::new();
    let emails: Vec<String> = wanted.iter().map(|w| w.email.clone()).collect();
    let leads = ctx
        .marketo
        .leads_by("email", &emails)
        .instrument(api_span("marketo", "leads_by_email", emails.len()))
        .await?;
    for lead in leads {
        if let Some(email) = lead.email {
            found.entry(fold_email(&email)).or_insert(lead.id);
        }
    }
    // One create per address, however many identities share it.
    let mut seen = std::collections::BTreeSet::new();
    let create: Vec<&Wanted> = wanted
        .iter()
        .filter(|w| w.create && !found.contains_key(&w.email))
        .filter(|w| seen.insert(w.email.as_str()))
        .collect();
    if create.is_empty() {
        return Ok((found, refused));
    }
    let names = salesforce_names(ctx, mapping, &create).await;
    let named: Vec<serde_json::Value> = create
        .iter()
        .map(|w| {
            let member = w.salesforce_person.as_ref().and_then(|p| names.get(p));
            new_lead(&w.email, member)
        })
        .collect();
    let mut results = create_marketo_leads(ctx, named.clone()).await?;
    // A record Marketo skipped with the names (a field it would not take) is tried once more
    // with the e-mail alone, as it was created before names were sent.
    let with_names = |lead: &serde_json::Value| lead.as_object().is_some_and(|o| o.len() > 1);
    let retry: Vec<usize> = results
        .iter()
        .zip(&named)
        .enumerate()
        .filter(|(_, (result, lead))| result.status == "skipped" && with_names(lead))
        .map(|(i, _)| i)
        .collect();
    if !retry.is_empty() {
        let bare = retry
            .iter()
            .map(|&i| new_lead(&create[i].email, None))
            .collect();
        let again = create_marketo_leads(ctx, bare).await?;
        for (&i, result) in retry.iter().zip(again) {
            results[i] = result;
        }
    }
    for (wanted, result) in create.into_iter().zip(results) {
        let email = &wanted.email;
        match result.id.filter(|_| result.status != "skipped") {
            Some(id) => {
                found.insert(email.clone(), id);
            }
            None => {
                let reasons: Vec<String> = result
                    .reasons
                    .iter()
                    .map(|r| format!("{} {}", r.code, r.message))
                    .collect();
                let why = format!(
                    "Marketo did not create the person {email}: {}",
                    reasons.join("; ")
                );
                refused.insert(email.clone(), why);
            }
        }
    }
    Ok((found, refused))
}

async fn create_marketo_leads(
    ctx: &Context,
    input: Vec<serde_json::Value>,
) -> Result<Vec<crate::connectors::marketo::StatusResult>, CallError> {
    let count = input.len();
    ctx.marketo
        .upsert_leads(input)
        .instrument(api_span("marketo", "create_leads", count))
        .await
}

/// The campaign members (with the names and company Salesforce mirrors onto them) of the people
/// about to be created in Marketo, by Lead and by Contact id. The names only complete the new
/// person: when Salesforce cannot be read (paused, refused, failing) they are created with the
/// e-mail alone, as before, rather than waiting.
async fn salesforce_names(
    ctx: &Context,
    mapping: &Mapping,
    create: &[&Wanted],
) -> BTreeMap<String, CampaignMember> {
    let people: Vec<String> = create
        .iter()
        .filter_map(|w| w.salesforce_person.clone())
        .collect();
    if people.is_empty() {
        return BTreeMap::new();
    }
    let read = ctx
        .salesforce
        .named_members_for(&mapping.config.campaign_id, &people)
        .instrument(api_span("salesforce", "member_names", people.len()))
        .await;
    let members = match read {
        Ok(members) => members,
        Err(error) => {
            tracing::warn!(%error, "could not read the new Marketo people's names from Salesforce; creating them with the e-mail only");
            return BTreeMap::new();
        }
    };
    let mut names = BTreeMap::new();
    for member in members {
        for id in [&member.lead_id, &member.contact_id].into_iter().flatten() {
            names.insert(id.clone(), member.clone());
        }
    }
    names
}

/// A new Marketo person: the e-mail, and the first and last name and company when Salesforce
/// shows them (as Marketo's own sync would create the person). Marketo's own placeholder for a
/// missing Salesforce field is not copied back.
fn new_lead(email: &str, member: Option<&CampaignMember>) -> serde_json::Value {
    let mut lead = json!({ "email": email });
    if let Some(member) = member {
        for (field, value) in [
            ("firstName", &member.first_name),
            ("lastName", &member.last_name),
            ("company", &member.company_or_account),
        ] {
            let value = value.as_deref().map(str::trim);
            if let Some(value) = value.filter(|v| !v.is_empty() && *v != NOT_PROVIDED) {
                lead[field] = json!(value);
            }
        }
    }
    lead
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
    let missing = linked::salesforce_by_link(works, &linked, &names);
    if missing.len() < linked.len() {
        // A link may name a Lead converted since: its Contact is the person.
        follow_conversions(ctx, works).await;
    }
    for &i in &missing {
        let lead = works[i]
            .identity()
            .mkto_lead_id
            .and_then(|id| names.get(&id));
        if works[i].identity().email.is_none() {
            works[i].person.identity.email = lead.and_then(|l| l.email.as_deref()).map(fold_email);
        }
    }
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
    for person in leads.into_iter().chain(contacts) {
        if let Some(email) = person.email {
            // Contacts come last, so they replace a Lead with the same e-mail.
            by_email.insert(fold_email(&email), person.id);
        }
    }
    let mut create = Vec::new();
    for &i in &missing {
        match works[i].identity().email.clone() {
            Some(email) => match by_email.get(&email) {
                Some(id) => set_salesforce_person(&mut works[i].person.identity, id),
                None => create.push(i),
            },
            None => works[i].fail(CallError::Permanent(
                "no e-mail address to find or create the Salesforce person".into(),
            )),
        }
    }
    if !create.is_empty() {
        create_leads(ctx, works, &create, &names).await;
    }
    for &i in &linked {
        if works[i].is_open() && works[i].salesforce_person().is_some() {
            save(ctx, works[i]).await;
        }
    }
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
            json!({
                "Email": works[i].identity().email,
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
                    RecordOutcome::Failed(error) => works[i].fail(error),
                    other => works[i].fail(CallError::Permanent(format!(
                        "creating the Lead: {other:?}"
                    ))),
                }
            }
        }
        Err(error) => create.iter().for_each(|&i| works[i].fail(error.clone())),
    }
}

/// Saves a new link at once, so a retry finds the person created this round.
async fn save(ctx: &Context, work: &mut Work) {
    if let Err(error) = ctx.store.save_identity(work.identity(), now_millis()).await {
        work.fail(error);
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
