//! Step 3, resolve identities: who each observation is, from the identity table (one batched
//! lookup for the known, then one by one for the new), folding observations of the same
//! person into one; of several Salesforce snapshots the newest wins.
//!
//! Duplicates are passed over as reconciliation passes them over, so a live change cannot undo
//! what the person's own record says: a Salesforce Lead's membership when the person is a
//! Contact there (a Contact before a Lead), and a Marketo lead sharing the address of a person
//! linked to another lead that Marketo still has (a lead merged away leaves its survivor to
//! take its place).

use std::collections::BTreeMap;

use crate::store::{IdentityRow, StoreError, fold_email, now_millis};

use super::context::Context;
use super::work::{PassedOver, Person, Reading, Seen, WorkError};

/// The people this round's observations are, and the signals passed over with why.
pub struct Resolved {
    pub people: Vec<Person>,
    pub passed_over: Vec<PassedOver>,
}

pub async fn resolve(ctx: &Context, seen: Vec<Seen>) -> Result<Resolved, StoreError> {
    let mut people: BTreeMap<i64, Person> = BTreeMap::new();
    let mut passed_over = Vec::new();
    let leads: Vec<i64> = seen.iter().filter_map(|e| e.mkto_lead).collect();
    let persons: Vec<String> = seen.iter().filter_map(|e| e.sf_person.clone()).collect();
    let known = ctx.store.identities_by_keys(&leads, &persons).await?;
    // Observations of a Marketo lead joined by the address to a person linked to another lead:
    // whether that lead still exists decides between a duplicate and a merge's survivor.
    let mut other_lead = Vec::new();
    for entry in seen {
        let identity = match (entry.person, known_identity(&known, &entry)) {
            (Some(id), _) => by_id(ctx, id).await?,
            (None, Some(identity)) => identity.clone(),
            (None, None) => {
                if let Some(passed) = duplicate_lead(ctx, &entry).await? {
                    passed_over.push(passed);
                    continue;
                }
                identity(
                    ctx,
                    entry.mkto_lead,
                    entry.sf_person.as_deref(),
                    entry.email.as_deref(),
                )
                .await?
            }
        };
        if let Some(reason) = lead_beside_contact(&identity, &entry)
            && !synced_membership(ctx, &identity, &entry).await?
        {
            passed_over.push(PassedOver {
                signal: entry.signal,
                person: identity.id,
                reason,
            });
            continue;
        }
        match (entry.person, entry.mkto_lead, identity.mkto_lead_id) {
            (None, Some(lead), Some(linked)) if lead != linked => {
                other_lead.push((entry, identity));
            }
            _ => add(&mut people, identity, entry, None),
        }
    }
    if !other_lead.is_empty() {
        settle_other_leads(ctx, other_lead, &mut people, &mut passed_over).await?;
    }
    Ok(Resolved {
        people: people.into_values().collect(),
        passed_over,
    })
}

/// Folds one observation into its person.
fn add(
    people: &mut BTreeMap<i64, Person>,
    identity: IdentityRow,
    entry: Seen,
    failed: Option<WorkError>,
) {
    let person = people.entry(identity.id).or_insert_with(|| Person {
        identity: identity.clone(),
        signals: Vec::new(),
        from_salesforce: Vec::new(),
        sf: None,
        sf_member_id: None,
        mk: None,
        failed: None,
    });
    person.identity = identity;
    person.signals.push(entry.signal);
    if let Some(error) = failed {
        person.failed = Some(error);
    }
    match entry.marketo {
        Reading::NotRead => {}
        // One reading of the lead; its signals differ only in when a removal was made by.
        Reading::Read(observed) => {
            if person.mk.as_ref().is_none_or(|old| observed.at >= old.at) {
                person.mk = Some(observed);
            }
        }
        Reading::Failed(error) => {
            person.failed = Some(WorkError::reading(
                "reading the Marketo program member",
                error,
            ));
        }
    }
    if let Some((observed, member_id)) = entry.salesforce {
        person.from_salesforce.push(entry.signal.id);
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

/// A Salesforce Lead's membership (the notification names no Contact) for a person whose
/// Salesforce record is a Contact: an unconverted duplicate Lead (a converted Lead's members
/// name its Contact too). Its change would overwrite the Contact's status on the Marketo lead.
fn lead_beside_contact(identity: &IdentityRow, entry: &Seen) -> Option<String> {
    let lead = entry
        .sf_person
        .as_deref()
        .filter(|p| p.starts_with("00Q"))?;
    entry.salesforce.as_ref()?;
    let contact = identity.sf_contact_id.as_deref().filter(|c| *c != lead)?;
    Some(format!(
        "Salesforce Lead {lead} shares the person of Contact {contact} (a Contact before a \
         Lead): its membership is left alone; convert or merge the Lead in Salesforce"
    ))
}

/// A Salesforce Lead new here whose address finds a person whose record is a Contact: passed
/// over as [`lead_beside_contact`] says, before it is linked, so the Lead, which only shares the
/// address, is not joined to that person (their outcomes and trigger events, read with the
/// person's ids, would name it). `None` when the observation is to be linked as usual.
async fn duplicate_lead(ctx: &Context, entry: &Seen) -> Result<Option<PassedOver>, StoreError> {
    let Some(lead) = entry.sf_person.as_deref().filter(|p| p.starts_with("00Q")) else {
        return Ok(None);
    };
    if entry.mkto_lead.is_some() || entry.salesforce.is_none() {
        return Ok(None);
    }
    let found = ctx
        .store
        .find_identity(None, Some(lead), entry.email.as_deref())
        .await?;
    // A person holding a Lead (this one, or another the link decides about) is not this case.
    let Some(person) = found.filter(|row| row.sf_lead_id.is_none()) else {
        return Ok(None);
    };
    let Some(reason) = lead_beside_contact(&person, entry) else {
        return Ok(None);
    };
    if synced_membership(ctx, &person, entry).await? {
        return Ok(None);
    }
    Ok(Some(PassedOver {
        signal: entry.signal,
        person: person.id,
        reason,
    }))
}

/// Whether the Lead's membership is the one the person is synced by in its campaign (the mirror
/// links that member to them): then it is not a duplicate's. A person synced by a Lead in one
/// campaign keeps syncing there when a Contact with the same address joins them in another; it
/// was passed over on every change, while each reconciliation queued it again.
async fn synced_membership(
    ctx: &Context,
    identity: &IdentityRow,
    entry: &Seen,
) -> Result<bool, StoreError> {
    let Some(member) = entry.salesforce.as_ref().and_then(|(_, m)| m.as_deref()) else {
        return Ok(false);
    };
    // By the member alone: the row's Salesforce person reads as the Contact once the person
    // took its id (the row is written with the person's record, a Contact first).
    let person = identity.id.to_string();
    let rows = ctx.store.mirror_by_member(member).await?;
    Ok(rows.iter().any(|row| row.person == person))
}

/// Observations of Marketo leads other than their person's: when Marketo still has the
/// person's lead, the observed one is a duplicate sharing the address, passed over; when it no
/// longer has it (merged away, deleted), the observed lead takes its place. A failed read
/// leaves the observations to be tried again.
async fn settle_other_leads(
    ctx: &Context,
    other_lead: Vec<(Seen, IdentityRow)>,
    people: &mut BTreeMap<i64, Person>,
    passed_over: &mut Vec<PassedOver>,
) -> Result<(), StoreError> {
    let linked = other_lead
        .iter()
        .filter_map(|(_, identity)| identity.mkto_lead_id);
    let existing = match ctx.marketo.existing_leads(linked).await {
        Ok(existing) => existing,
        Err(error) => {
            for (entry, identity) in other_lead {
                add(
                    people,
                    identity,
                    entry,
                    Some(WorkError::reading(
                        "reading whether Marketo still has the person's lead",
                        error.clone(),
                    )),
                );
            }
            return Ok(());
        }
    };
    for (entry, identity) in other_lead {
        let (Some(lead), Some(kept)) = (entry.mkto_lead, identity.mkto_lead_id) else {
            add(people, identity, entry, None);
            continue;
        };
        if existing.contains(&kept) {
            let person = identity
                .sf_contact_id
                .as_deref()
                .or(identity.sf_lead_id.as_deref())
                .map(|p| format!(", linked to Salesforce {p}"))
                .unwrap_or_default();
            // Named for the duplicate's own person, known by its lead alone (as the activity
            // feed's observation of it is), so its outcome and a search by its id find it; the
            // address stays the linked person's.
            let own = ctx
                .store
                .link_identity(Some(lead), None, None, now_millis())
                .await?;
            passed_over.push(PassedOver {
                signal: entry.signal,
                person: own.id,
                reason: format!(
                    "Marketo lead {lead} shares its e-mail with lead {kept}{person}: left \
                     alone (merge the duplicates in Marketo)"
                ),
            });
            continue;
        }
        // Gone from Marketo: the observed lead is the person's now.
        let now = now_millis();
        ctx.store
            .forget_marketo_lead(identity.id, kept, now)
            .await?;
        let mut identity = identity;
        identity.mkto_lead_id = Some(lead);
        let identity = ctx.store.merge_identity(&identity, now).await?;
        add(people, identity, entry, None);
    }
    Ok(())
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
