//! Salesforce members no Marketo lead pairs with whose address is a linked person's, who comes
//! first: a Lead beside that person's Contact or Lead, a Contact beside another Contact. The
//! worker leaves their changes alone (they would find the person's Marketo lead by the address
//! and overwrite its status), so a reconciliation names them and plans nothing for them, and a
//! second run settles.

use std::collections::HashMap;

use crate::store::fold_email;

use super::super::context::Context;
use super::super::work::WorkError;
use super::entries::SfNew;

/// For each of these unpaired members (by person id) left alone, the warning naming why.
pub async fn find(ctx: &Context, members: &[&SfNew]) -> Result<HashMap<String, String>, WorkError> {
    let mut emails: Vec<String> = members
        .iter()
        .filter_map(|m| m.email.as_deref().map(fold_email))
        .filter(|e| !e.is_empty())
        .collect();
    emails.sort_unstable();
    emails.dedup();
    if emails.is_empty() {
        return Ok(HashMap::new());
    }
    let identities = ctx.store.identities_by_emails(&emails).await?;
    let mut left = HashMap::new();
    for member in members {
        let Some(ours) = member.person_id() else {
            continue;
        };
        let Some(email) = member.email.as_deref().map(fold_email) else {
            continue;
        };
        let is_lead = member.contact_id.is_none();
        let first = identities
            .iter()
            .filter(|i| i.email.as_deref() == Some(email.as_str()) && i.mkto_lead_id.is_some())
            .find_map(|i| {
                let theirs = if is_lead {
                    i.sf_contact_id.as_deref().or(i.sf_lead_id.as_deref())
                } else {
                    i.sf_contact_id.as_deref()
                };
                theirs
                    .filter(|t| *t != ours)
                    .map(|t| (t.to_string(), i.mkto_lead_id.unwrap_or_default()))
            });
        if let Some((theirs, lead)) = first {
            left.insert(
                ours.to_string(),
                format!(
                    "Salesforce {ours} shares its e-mail with {theirs}, linked to Marketo lead \
                     {lead}: left alone (a Contact before a Lead, then the one linked first; \
                     merge the duplicates in Salesforce)"
                ),
            );
        }
    }
    Ok(left)
}
