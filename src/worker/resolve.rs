//! Step 3, resolve identities: who each observation is, from the identity table (one batched
//! lookup for the known, then one by one for the new), folding observations of the same
//! person into one; of several Salesforce snapshots the newest wins.

use std::collections::BTreeMap;

use crate::store::{IdentityRow, StoreError, fold_email, now_millis};

use super::context::Context;
use super::work::{Person, Reading, Seen, WorkError};

pub async fn resolve(ctx: &Context, seen: Vec<Seen>) -> Result<Vec<Person>, StoreError> {
    let mut people: BTreeMap<i64, Person> = BTreeMap::new();
    let leads: Vec<i64> = seen.iter().filter_map(|e| e.mkto_lead).collect();
    let persons: Vec<String> = seen.iter().filter_map(|e| e.sf_person.clone()).collect();
    let known = ctx.store.identities_by_keys(&leads, &persons).await?;
    for entry in seen {
        let identity = match (entry.person, known_identity(&known, &entry)) {
            (Some(id), _) => by_id(ctx, id).await?,
            (None, Some(identity)) => identity.clone(),
            (None, None) => {
                identity(
                    ctx,
                    entry.mkto_lead,
                    entry.sf_person.as_deref(),
                    entry.email.as_deref(),
                )
                .await?
            }
        };
        let person = people.entry(identity.id).or_insert_with(|| Person {
            identity: identity.clone(),
            signals: Vec::new(),
            sf: None,
            sf_member_id: None,
            mk: None,
            failed: None,
        });
        person.identity = identity;
        person.signals.push(entry.signal);
        match entry.marketo {
            Reading::NotRead => {}
            Reading::Read(observed) => person.mk = Some(observed),
            Reading::Failed(error) => person.failed = Some(WorkError::Call(error)),
        }
        if let Some((observed, member_id)) = entry.salesforce {
            let newer = person.sf.as_ref().is_none_or(|old| observed.at >= old.at);
            if newer {
                person.sf = Some(observed);
                if member_id.is_some() {
                    person.sf_member_id = member_id;
                }
            }
        }
        if let Some(email) = entry.email {
            person.identity.email.get_or_insert(fold_email(&email));
        }
    }
    Ok(people.into_values().collect())
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

pub async fn by_id(ctx: &Context, id: i64) -> Result<IdentityRow, StoreError> {
    Ok(ctx.store.identity(id).await?.unwrap_or(IdentityRow {
        id,
        ..IdentityRow::default()
    }))
}

/// Finds the identity holding any of these keys, adds the keys it lacks, or creates it; the
/// write merges rows a new key links (see `Store::link_identity`).
pub async fn identity(
    ctx: &Context,
    mkto_lead: Option<i64>,
    sf_person: Option<&str>,
    email: Option<&str>,
) -> Result<IdentityRow, StoreError> {
    ctx.store
        .link_identity(mkto_lead, sf_person, email, now_millis())
        .await
}
