//! Finding or creating the Marketo person a write goes to: by the link, then by e-mail, else a
//! new person with the names Salesforce shows. New links are saved to the identity table.

use std::collections::BTreeMap;

use serde_json::json;
use tracing::Instrument;

use crate::connectors::CallError;
use crate::connectors::marketo::StatusResult;
use crate::connectors::salesforce::CampaignMember;
use crate::mappings::Mapping;
use crate::store::fold_email;
use crate::sync::{Decision, Done};

use super::super::context::{Context, api_span};
use super::super::work::Work;
use super::linked;
use super::people::{NOT_PROVIDED, save};

/// Makes sure every work item knows its Marketo lead id. A person Marketo does not have is
/// created for a status to set, with the names Salesforce shows; a removal of such a person is
/// already done. One that cannot be resolved fails with the reason.
pub async fn ensure_marketo(ctx: &Context, mapping: &Mapping, works: &mut [&mut Work]) {
    for i in linked::marketo_by_link(ctx, works).await {
        save(ctx, works[i]).await;
    }
    let deleted = match deleted_members(ctx, works).await {
        Ok(deleted) => deleted,
        Err(error) => {
            let error = super::super::work::WorkError::from(error);
            works
                .iter_mut()
                .filter(|w| unresolved(w))
                .for_each(|w| w.fail(error.clone()));
            return;
        }
    };
    let gone = |w: &Work| {
        w.person
            .sf_member_id
            .as_ref()
            .is_some_and(|id| deleted.contains(id))
    };
    let wanted: Vec<Wanted> = works
        .iter()
        .filter(|w| unresolved(w))
        .filter_map(|w| {
            Some(Wanted {
                email: w.identity().email.clone()?,
                salesforce_person: w.salesforce_person().map(str::to_string),
                create: matches!(w.decision, Decision::SetMarketo(_)) && !gone(w),
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
            let candidates = email.as_ref().and_then(|e| found.get(e));
            let id = match pick(candidates.map(Vec::as_slice).unwrap_or_default(), work) {
                Ok(id) => id,
                Err(reason) => {
                    work.outcome = Some(Ok(Done::Skipped(reason)));
                    continue;
                }
            };
            if let Some(lead) = id {
                match another_persons(ctx, work, lead).await {
                    Ok(None) => {}
                    Ok(Some(reason)) => {
                        work.outcome = Some(Ok(Done::Skipped(reason)));
                        continue;
                    }
                    Err(error) => {
                        work.fail(error);
                        continue;
                    }
                }
            }
            work.person.identity.mkto_lead_id = id;
            if id.is_some() {
                save(ctx, work).await;
            } else if let Some(reason) = email.as_ref().and_then(|e| refused.get(e)) {
                work.fail(CallError::Permanent(reason.clone()));
            } else if email.is_some() && matches!(work.decision, Decision::RemoveFromMarketo) {
                work.outcome = Some(Ok(Done::Skipped(
                    "Marketo has no person with this e-mail to remove".into(),
                )));
            } else if email.is_some() && gone(work) {
                work.outcome = Some(Ok(Done::Skipped(MEMBER_DELETED.into())));
            }
        }
    }
    for work in works.iter_mut().filter(|w| unresolved(w)) {
        work.fail(CallError::Permanent(
            "no e-mail address to find or create the Marketo person".into(),
        ));
    }
}

/// Of the leads with this person's address (in Marketo's order), the first Marketo does not
/// link to another Salesforce person; when it links every one elsewhere, why the person is
/// left alone.
fn pick(candidates: &[Candidate], work: &Work) -> Result<Option<i64>, String> {
    let (Some(first), Some(ours)) = (candidates.first(), work.salesforce_person()) else {
        return Ok(candidates.first().map(|c| c.0));
    };
    let elsewhere = |c: &Candidate| linked::linked_elsewhere(c.1.as_deref(), ours).is_some();
    if let Some(c) = candidates.iter().find(|c| !elsewhere(c)) {
        return Ok(Some(c.0));
    }
    let theirs = linked::linked_elsewhere(first.1.as_deref(), ours).unwrap_or_default();
    Err(format!(
        "Marketo lead {} with this address is linked by Marketo to Salesforce {theirs}: {ours} \
         is left alone (one person twice: merge them in Salesforce; two people: correct the \
         address, or Marketo's link)",
        first.0
    ))
}

/// Why a Salesforce member's add creates no Marketo person.
const MEMBER_DELETED: &str = "the campaign member was deleted in Salesforce before this change \
     was synced, and Marketo has no person with this e-mail: none is created";

/// The Salesforce members among the works' that the deleted-records poll has found deleted:
/// an add processed after its member's deletion creates no Marketo person.
async fn deleted_members(
    ctx: &Context,
    works: &[&mut Work],
) -> Result<std::collections::HashSet<String>, crate::store::StoreError> {
    let ids: Vec<String> = works
        .iter()
        .filter(|w| unresolved(w) && matches!(w.decision, Decision::SetMarketo(_)))
        .filter_map(|w| w.person.sf_member_id.clone())
        .collect();
    if ids.is_empty() {
        return Ok(Default::default());
    }
    ctx.store.deleted_members(&ids).await
}

/// Why the lead found by this person's address is someone else's, when it is: linked to another
/// Salesforce person who comes first (a Contact before a Lead, one Lead as good as another, so
/// the one linked first keeps it). Joining them would make two people one, each overwriting the
/// other's status on every change. A Contact found beside a Lead is the Lead converted or its
/// better record, and joins it.
async fn another_persons(
    ctx: &Context,
    work: &Work,
    lead: i64,
) -> Result<Option<String>, crate::store::StoreError> {
    let Some(ours) = work.salesforce_person().map(str::to_string) else {
        return Ok(None);
    };
    let Some(owner) = ctx.store.find_identity(Some(lead), None, None).await? else {
        return Ok(None);
    };
    if owner.id == work.identity().id || owner.mkto_lead_id != Some(lead) {
        return Ok(None);
    }
    let theirs = if ours.starts_with("003") {
        owner.sf_contact_id.as_deref()
    } else {
        owner
            .sf_contact_id
            .as_deref()
            .or(owner.sf_lead_id.as_deref())
    };
    Ok(theirs.filter(|t| *t != ours).map(|theirs| {
        format!(
            "Marketo lead {lead} with this address is Salesforce {theirs}'s: {ours} is left \
             alone (one person twice: merge them in Salesforce; two people: correct the \
             address, or Marketo's link)"
        )
    }))
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

/// A Marketo lead with the address: its id and the Salesforce person Marketo links it to.
type Candidate = (i64, Option<String>);

/// Marketo's leads by folded e-mail, and why Marketo refused to create the others.
type FoundLeads = (BTreeMap<String, Vec<Candidate>>, BTreeMap<String, String>);

async fn find_or_create_marketo(
    ctx: &Context,
    mapping: &Mapping,
    wanted: &[Wanted],
) -> Result<FoundLeads, CallError> {
    let mut found = BTreeMap::new();
    let mut refused = BTreeMap::new();
    let emails: Vec<String> = wanted.iter().map(|w| w.email.clone()).collect();
    find_by_email(ctx, &emails, &mut found).await?;
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
    // Created only (`createOnly`): a person who appeared since the lookup (another
    // integration, a form) is skipped (1005) rather than given Salesforce's names and company.
    let mut results = create_marketo_leads(ctx, named).await?;
    // A record skipped for a field Marketo would not take is created once more with the e-mail
    // alone; a non-ASCII address would be refused again, so it is not.
    let skipped_for_a_field = |(i, result): (usize, &StatusResult)| {
        let retry =
            result.status == "skipped" && !exists_already(result) && create[i].email.is_ascii();
        retry.then_some(i)
    };
    let retry: Vec<usize> = results
        .iter()
        .enumerate()
        .filter_map(skipped_for_a_field)
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
    // Someone who exists now is looked up again: a read, so nothing of theirs is written.
    let existing: Vec<String> = create
        .iter()
        .zip(&results)
        .filter(|(_, result)| result.status == "skipped" && exists_already(result))
        .map(|(wanted, _)| wanted.email.clone())
        .collect();
    if !existing.is_empty() {
        find_by_email(ctx, &existing, &mut found).await?;
    }
    for (wanted, result) in create.into_iter().zip(results) {
        let email = &wanted.email;
        if found.contains_key(email) {
            continue; // found by the second lookup
        }
        match result.id.filter(|_| result.status != "skipped") {
            Some(id) => {
                found.insert(email.clone(), vec![(id, None)]);
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

/// Marketo's leads with these addresses, added to `found` by folded e-mail (duplicates in
/// Marketo's order).
async fn find_by_email(
    ctx: &Context,
    emails: &[String],
    found: &mut BTreeMap<String, Vec<Candidate>>,
) -> Result<(), CallError> {
    let leads = ctx
        .marketo
        .leads_by("email", emails)
        .instrument(api_span("marketo", "leads_by_email", emails.len()))
        .await?;
    for lead in leads {
        if let Some(email) = &lead.email {
            let link = linked::salesforce_of(&lead);
            found
                .entry(fold_email(email))
                .or_default()
                .push((lead.id, link));
        }
    }
    Ok(())
}

/// Whether Marketo skipped a create because the person exists (1005 "Lead already exists").
fn exists_already(result: &StatusResult) -> bool {
    result.reasons.iter().any(|r| r.code == "1005")
}

async fn create_marketo_leads(
    ctx: &Context,
    input: Vec<serde_json::Value>,
) -> Result<Vec<StatusResult>, CallError> {
    let count = input.len();
    ctx.marketo
        .create_leads(input)
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
