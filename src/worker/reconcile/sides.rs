//! Reading the sides of a mapping for reconciliation into compact entries: the mirror a page
//! at a time, Marketo's members by status or — once Marketo refused that for the program's
//! size — by bulk extract, and the Marketo leads that people new to the mirror are paired with.

use std::collections::HashMap;

use crate::connectors::marketo::classify::is_membership_cap;
use crate::connectors::marketo::{BATCH_LIMIT, MemberRecord, ProgressionStatus};
use crate::sync::NOT_IN_PROGRAM;
use crate::sync::time::parse_millis;

use super::super::context::Context;
use super::super::work::WorkError;
use super::adopt::LeadKeys;
use super::entries::{MirrorEntry, MkEntry, Names, Short};
use super::extract_jobs::StoredExtracts;
use super::person::MkMember;

/// Mirror rows read from the store at a time.
const MIRROR_PAGE: usize = 2_000;

/// The mirror of one mapping as compact entries, found by Salesforce person, or by the
/// campaign member a row synced when its person reads otherwise (a Lead's membership whose
/// person took a Contact's id through another campaign, a Lead converted since).
pub struct Mirror {
    pub entries: Vec<MirrorEntry>,
    by_person: HashMap<Short, u32>,
    by_member: HashMap<Short, u32>,
}

impl Mirror {
    pub async fn read(
        ctx: &Context,
        mapping: &str,
        names: &mut Names,
    ) -> Result<Mirror, WorkError> {
        let mut mirror = Mirror {
            entries: Vec::new(),
            by_person: HashMap::new(),
            by_member: HashMap::new(),
        };
        let mut after: Option<String> = None;
        loop {
            let page = ctx
                .store
                .mirror_page(mapping, after.as_deref(), MIRROR_PAGE)
                .await?;
            let full = page.len() == MIRROR_PAGE;
            after = page.last().map(|r| r.person.clone());
            for row in &page {
                let slot = mirror.entries.len() as u32;
                if let Some(person) = row.sf_person_id.as_deref() {
                    mirror.by_person.insert(Short::new(person), slot);
                }
                if let Some(member) = row.sf_member_id.as_deref() {
                    mirror.by_member.insert(Short::new(member), slot);
                }
                mirror.entries.push(MirrorEntry::new(row, names));
            }
            if !full {
                return Ok(mirror);
            }
        }
    }

    /// The row that claimed this unclaimed row's Salesforce person: two rows of one mapping
    /// holding one person (rows of two people an earlier version took for one) — Salesforce
    /// listed the person, so this row is no sign of a removal.
    pub fn shadowed_by(&self, slot: usize) -> Option<usize> {
        let person = self.entries.get(slot)?.sf_person_id.as_ref()?;
        let other = *self.by_person.get(person)? as usize;
        (other != slot && self.entries.get(other)?.sf_seen).then_some(other)
    }

    /// The row of this Salesforce person, once: a second member of the same person is new.
    pub fn claim(&mut self, person: Option<&str>) -> Option<usize> {
        let slot = *self.by_person.get(&Short::new(person?))? as usize;
        self.take(slot)
    }

    /// The row of this campaign member, once, when none holds its person: the row synced this
    /// very membership, so it is no removal and the member no one new.
    pub fn claim_member(&mut self, member_id: &str) -> Option<usize> {
        let slot = *self.by_member.get(&Short::new(member_id))? as usize;
        self.take(slot)
    }

    fn take(&mut self, slot: usize) -> Option<usize> {
        let entry = self.entries.get_mut(slot)?;
        if entry.sf_seen {
            return None;
        }
        entry.sf_seen = true;
        Some(slot)
    }
}

/// Marks a Marketo member taken and gives it as one person's look needs it.
pub fn take_marketo<'n>(
    marketo: &mut HashMap<i64, MkEntry>,
    lead: Option<i64>,
    names: &'n Names,
) -> Option<MkMember<'n>> {
    let lead_id = lead?;
    let entry = marketo.get_mut(&lead_id)?;
    entry.used = true;
    Some(MkMember {
        lead_id,
        status: entry.status.map(|s| names.name(s)),
        updated_at: entry.updated_at,
    })
}

/// Every member of the program: by status while Marketo allows it, by bulk extract once it has
/// refused the query (1003, over 100,000 members). What the status queries read before the
/// refusal is dropped; the extract reads everyone.
pub async fn read_marketo(
    ctx: &Context,
    program_id: i64,
    statuses: &[ProgressionStatus],
    names: &mut Names,
) -> Result<HashMap<i64, MkEntry>, WorkError> {
    let client = &ctx.marketo;
    if !client.over_member_cap(program_id) {
        let mut members = HashMap::new();
        let mut refused = None;
        // One query for every status, but one apiece for a status holding a comma, which
        // `filterValues` would split.
        let (alone, together): (Vec<&str>, Vec<&str>) = statuses
            .iter()
            .map(|s| s.name.as_str())
            .filter(|name| !name.eq_ignore_ascii_case(NOT_IN_PROGRAM))
            .partition(|name| name.contains(','));
        let queries = std::iter::once(together).chain(alone.into_iter().map(|name| vec![name]));
        for query in queries {
            let add = |page| add_members(&mut members, page, names);
            match client
                .each_member_with_statuses(program_id, &query, add)
                .await
            {
                Ok(()) => {}
                Err(error) if is_membership_cap(&error) => {
                    refused = Some(error);
                    break;
                }
                Err(error) => return Err(error.into()),
            }
        }
        let Some(error) = refused else {
            return Ok(members);
        };
        tracing::info!(program_id, %error, "over Marketo's member query cap: reading the program by bulk extract from now on");
        client.mark_over_member_cap(program_id);
    }
    let mut members = HashMap::new();
    let ledger = StoredExtracts::new(ctx.store.clone(), ctx.owner.clone());
    client
        .extract_members(program_id, &ledger, |page| {
            add_members(&mut members, page, names);
        })
        .await?;
    Ok(members)
}

fn add_members(members: &mut HashMap<i64, MkEntry>, page: Vec<MemberRecord>, names: &mut Names) {
    for member in page {
        let status = member.status_name.as_deref();
        if status.is_some_and(|s| s.eq_ignore_ascii_case(NOT_IN_PROGRAM)) {
            continue;
        }
        let entry = MkEntry {
            status: status.map(|s| names.id(s)),
            updated_at: member.updated_at.as_deref().and_then(parse_millis),
            used: false,
        };
        members.insert(member.lead_id, entry);
    }
}

/// What pairing needs of these leads, read 300 at a time.
pub async fn lead_keys(ctx: &Context, leads: &[i64]) -> Result<Vec<LeadKeys>, WorkError> {
    let mut keys = Vec::with_capacity(leads.len());
    for chunk in leads.chunks(BATCH_LIMIT) {
        let ids: Vec<String> = chunk.iter().map(i64::to_string).collect();
        keys.extend(
            ctx.marketo
                .leads_by("id", &ids)
                .await?
                .into_iter()
                .map(LeadKeys::from),
        );
    }
    Ok(keys)
}
