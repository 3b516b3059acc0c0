//! Salesforce members no Marketo lead pairs with whose address is a linked person's, who comes
//! first: a Lead beside that person's Contact or Lead, a Contact beside another Contact. The
//! worker leaves their changes alone (they would find the person's Marketo lead by the address
//! and overwrite its status), so a reconciliation names them and plans nothing for them, and a
//! second run settles.

use std::collections::HashMap;

use crate::ids::SalesforceId;
use crate::store::fold_email;

use super::super::context::Context;
use super::super::work::WorkError;
use super::adopt::LeadKeys;
use super::entries::SfNew;
use super::twins::Paired;
use crate::worker::write::linked::linked_elsewhere;

/// For each of these unpaired members (by person id) left alone, the warning naming why. The
/// linked people are those of the identity table and those this pass paired (so a dry run,
/// which saves none, says what the run will do).
pub async fn find(
    ctx: &Context,
    members: &[&SfNew],
    paired: &Paired,
    leads: &[LeadKeys],
) -> Result<HashMap<String, String>, WorkError> {
    let mut emails: Vec<String> = members
        .iter()
        .filter_map(|m| m.email.as_deref().map(fold_email))
        .filter(|e| !e.is_empty())
        .collect();
    emails.sort_unstable();
    emails.dedup();
    let mut left = unreachable(ctx, members).await?;
    if emails.is_empty() {
        return Ok(left);
    }
    let identities = ctx.store.identities_by_emails(&emails).await?;
    let outside = leads_outside(ctx, &emails, leads).await?;
    let leads: Vec<LeadKeys> = leads.iter().cloned().chain(outside).collect();
    let leads = leads.as_slice();
    for member in members {
        let Some(ours) = member.person_id() else {
            continue;
        };
        let Some(email) = member.email.as_deref().map(fold_email) else {
            continue;
        };
        let is_lead = member.contact_id.is_none();
        // Who comes first: anyone before a Lead, only a Contact before a Contact.
        let first_of = |contact: Option<&str>, lead: Option<&str>| {
            let theirs = if is_lead { contact.or(lead) } else { contact };
            theirs.filter(|t| *t != ours).map(str::to_string)
        };
        let from_pass = paired.get(&email).and_then(|(lead, person)| {
            let person = person.as_deref()?;
            let (contact, other) = if person.starts_with("003") {
                (Some(person), None)
            } else {
                (None, Some(person))
            };
            first_of(contact, other).map(|theirs| (theirs, *lead))
        });
        let first = from_pass.or_else(|| {
            identities
                .iter()
                .filter(|i| i.email.as_deref() == Some(email.as_str()))
                .find_map(|i| {
                    let lead = i.mkto_lead_id?;
                    let theirs = first_of(i.sf_contact_id.as_deref(), i.sf_lead_id.as_deref())?;
                    Some((theirs, lead))
                })
        });
        if first.is_none()
            && let Some(warning) = linked_by_marketo(leads, &email, ours)
        {
            left.insert(ours.to_string(), warning);
            continue;
        }
        if let Some((theirs, lead)) = first {
            left.insert(
                ours.to_string(),
                format!(
                    "Salesforce {ours} has the address of Marketo lead {lead}, which is linked \
                     to Salesforce {theirs}: left alone (a Contact before a Lead, then the one \
                     linked first; one person twice: merge them in Salesforce; two people: \
                     correct the address, or Marketo's link)"
                ),
            );
        }
    }
    same_address(members, &mut left);
    Ok(left)
}

/// Marketo's leads with these addresses that the program's members did not bring (`leads`): a
/// lead in no program, or another program, that Marketo links to a Salesforce person. The
/// worker leaves a member with its address alone, so the reconciliation must name it too. One
/// read per 300 addresses, only for members new to the mirror.
async fn leads_outside(
    ctx: &Context,
    emails: &[String],
    leads: &[LeadKeys],
) -> Result<Vec<LeadKeys>, WorkError> {
    let known: std::collections::HashSet<String> = leads
        .iter()
        .filter_map(|l| l.email.as_deref().map(fold_email))
        .collect();
    let unknown: Vec<String> = emails
        .iter()
        .filter(|e| !known.contains(*e))
        .cloned()
        .collect();
    if unknown.is_empty() {
        return Ok(Vec::new());
    }
    let read = ctx.marketo.leads_by("email", &unknown).await?;
    Ok(read.into_iter().map(LeadKeys::from).collect())
}

/// Several unpaired members with one address that nobody is linked to yet: the first (a
/// Contact before a Lead, then the lowest id) becomes the person, and the worker leaves the
/// others alone once it is linked, so they are named here rather than listed as changes.
fn same_address(members: &[&SfNew], left: &mut HashMap<String, String>) {
    let mut by_email: std::collections::BTreeMap<String, Vec<(bool, &str)>> = Default::default();
    for member in members {
        let (Some(ours), Some(email)) = (member.person_id(), member.email.as_deref()) else {
            continue;
        };
        let email = fold_email(email);
        if !email.is_empty() && !left.contains_key(ours) {
            let is_lead = member.contact_id.is_none();
            by_email.entry(email).or_default().push((is_lead, ours));
        }
    }
    for mut group in by_email.into_values().filter(|g| g.len() > 1) {
        group.sort_unstable();
        let chosen = group[0].1;
        for (_, ours) in &group[1..] {
            let warning = format!(
                "Salesforce {ours} shares its address with {chosen}, who is synced with it (a \
                 Contact before a Lead, then the lowest id): left alone (one person twice: merge \
                 them in Salesforce; two people: correct the address)"
            );
            left.insert(ours.to_string(), warning);
        }
    }
}

/// The warning for a member whose address only this program's unpaired leads Marketo links to
/// another Salesforce person have (see `linked_elsewhere`): the worker leaves its change alone.
fn linked_by_marketo(leads: &[LeadKeys], email: &str, ours: &str) -> Option<String> {
    let at: Vec<&LeadKeys> = leads
        .iter()
        .filter(|l| l.email.as_deref().map(fold_email).as_deref() == Some(email))
        .collect();
    let elsewhere =
        |lead: &LeadKeys| linked_elsewhere(lead.salesforce_person().as_deref(), ours).is_some();
    if at.is_empty() || !at.iter().all(|l| elsewhere(l)) {
        return None;
    }
    let (lead, theirs) = (at[0].id, at[0].salesforce_person().unwrap_or_default());
    Some(format!(
        "Salesforce {ours} has the address of Marketo lead {lead}, which Marketo links to \
         Salesforce {theirs}: left alone (one person twice: merge them in Salesforce; two \
         people: correct the address, or Marketo's link)"
    ))
}

/// Members without an e-mail address that no Marketo lead links to: the worker can neither
/// find nor create their Marketo person, so each run would queue a change that ends dead. One
/// Marketo read per kind of person (300 ids a call), only for such members.
async fn unreachable(
    ctx: &Context,
    members: &[&SfNew],
) -> Result<HashMap<String, String>, WorkError> {
    let without: Vec<&str> = members
        .iter()
        .filter(|m| m.email.as_deref().is_none_or(|e| e.trim().is_empty()))
        .filter_map(|m| m.person_id())
        .collect();
    if without.is_empty() {
        return Ok(HashMap::new());
    }
    let mut linked = std::collections::HashSet::new();
    for (filter, prefix) in [("sfdcContactId", "003"), ("sfdcLeadId", "00Q")] {
        let ids: Vec<String> = without
            .iter()
            .filter(|p| p.starts_with(prefix))
            .map(|p| p.to_string())
            .collect();
        if ids.is_empty() {
            continue;
        }
        for lead in ctx.marketo.leads_by(filter, &ids).await? {
            let raw = [lead.sfdc_contact_id, lead.sfdc_lead_id];
            linked.extend(raw.into_iter().flatten().filter_map(|id| {
                SalesforceId::parse(&id)
                    .ok()
                    .map(|id| id.as_str().to_string())
            }));
        }
    }
    Ok(without
        .into_iter()
        .filter(|p| !linked.contains(*p))
        .map(|p| {
            let warning = format!(
                "Salesforce {p} has no e-mail address and no Marketo lead links to it: left \
                 alone (it can be neither found nor created in Marketo; give it an address)"
            );
            (p.to_string(), warning)
        })
        .collect())
}
