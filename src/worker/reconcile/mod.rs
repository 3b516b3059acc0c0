//! Reconciliation: list both sides of a mapping, diff them with the mirror, and queue a signal
//! for every difference, so repairs go through the same worker path and semantics as webhooks.
//! People who are members on both sides but unknown to the mirror (a cut-over) are paired
//! (`adopt`) and, where both sides agree, recorded as in sync without any write. A dry run
//! reads both sides and lists the changes the worker would make, writing nothing anywhere.
//! Each report also previews the campaign settings the settings pass would write (`settings`),
//! which no reconciliation writes.
//!
//! It streams: Marketo's members and the mirror are read a page at a time into compact entries
//! (`entries`), then Salesforce's members a page at a time, each person looked at (`person`) as
//! their Salesforce member arrives; only members no mirror row claims are kept for pairing.
//! Marketo refuses its member query by status on a program over 100,000 members (1003): such a
//! program is read by bulk extract instead, and remembered, so later passes go straight to it;
//! its job is written down in the store while open (`extract_jobs`).

mod adopt;
mod beside;
mod entries;
mod extract_jobs;
mod person;
mod repairs;
mod settings;
mod sides;
mod signals;
mod twins;

use std::collections::HashMap;

use serde::Serialize;

use crate::mappings::Mapping;

use super::context::Context;
use super::work::WorkError;
use entries::{Names, SfNew};
use person::{Pass, Unit};
use sides::{Mirror, lead_keys, read_marketo, take_marketo};

pub use super::settings::SettingChange;
pub use extract_jobs::cancel_left as cancel_left_extracts;
pub use repairs::count_repairs;
pub use signals::{
    Change, Divergence, REPAIR_PREFIX, reconcile_all, reconcile_recorded, to_reconcile,
};

/// What one reconciliation found in one mapping; each difference became one signal or more.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReconcileReport {
    pub mapping: String,
    /// When this reconciliation started (milliseconds since the epoch); the repairs it queues
    /// carry it, so a job can say how they ended.
    pub run: i64,
    pub salesforce_members: usize,
    pub marketo_members: usize,
    /// People members on both sides newly paired (recorded in sync when both sides agree).
    pub linked: usize,
    /// People whose sides differ (each is one entry of `changes` unless the worker will skip).
    pub differences: usize,
    /// People whose sides agree but whose stored sync state was out of date: it is brought up
    /// to date (a signal each, no write to either API), and they are not differences.
    pub refreshed: usize,
    /// What the worker will write, person by person.
    pub changes: Vec<Change>,
    /// Choices among duplicates, named.
    pub warnings: Vec<String>,
    /// People held as synced whose sides still disagree (no write is planned for them).
    pub diverged: Vec<Divergence>,
    /// The campaign settings (Type, ActualCost) the next settings pass of `serve` would write,
    /// where Salesforce holds something else; `None` when the campaign could not be read (a
    /// warning says why). A reconciliation itself never writes them.
    pub settings: Option<Vec<SettingChange>>,
    /// Salesforce members whose status the mirror does not have (dropped outbound messages).
    pub salesforce_changed: usize,
    /// Marketo members whose status the mirror does not have (webhooks never sent).
    pub marketo_changed: usize,
    /// Synced members gone from Salesforce (deletions).
    pub salesforce_removed: usize,
    /// Synced members gone from Marketo.
    pub marketo_removed: usize,
    pub signals_queued: usize,
    /// Repairs not queued because an earlier reconciliation's repair for the same record still
    /// waits untried (a held mapping, a paused side): that one repairs it.
    pub repairs_already_waiting: usize,
}

/// How long to wait before each new try of a mapping whose reads failed for a passing reason
/// (a 503, a timeout): one failed page does not lose the mapping's whole pass.
const TRANSIENT_WAITS: [std::time::Duration; 2] = [
    std::time::Duration::from_secs(2),
    std::time::Duration::from_secs(10),
];

/// Reconciles one mapping, trying it again after a transient failure (see
/// [`TRANSIENT_WAITS`]): a try that failed queued nothing (the signals are recorded at its
/// end), and the people it linked as in sync the next try finds linked.
pub async fn reconcile_one(
    ctx: &Context,
    mapping: &Mapping,
    dry_run: bool,
) -> Result<ReconcileReport, WorkError> {
    let mut waits = TRANSIENT_WAITS.iter();
    loop {
        match reconcile_once(ctx, mapping, dry_run).await {
            Err(WorkError::Call(crate::connectors::CallError::Retry { reason, after })) => {
                let Some(&wait) = waits.next() else {
                    return Err(WorkError::Call(crate::connectors::CallError::Retry {
                        reason,
                        after,
                    }));
                };
                let wait = after.map_or(wait, |hint| hint.clamp(wait, wait * 3));
                tracing::warn!(
                    mapping = mapping.name(),
                    %reason,
                    wait_secs = wait.as_secs(),
                    "reconciliation read failed; trying the mapping again"
                );
                tokio::time::sleep(wait).await;
            }
            other => return other,
        }
    }
}

/// A mapping whose campaign Salesforce does not have: its members cannot be compared (a
/// deleted campaign lists none, and every Marketo member would read as removed there), so the
/// mapping is held, as the status check holds it, and nothing is repaired.
async fn campaign_gone(
    ctx: &Context,
    mapping: &Mapping,
    program: &crate::connectors::marketo::ProgramInfo,
    dry_run: bool,
) -> Result<ReconcileReport, WorkError> {
    let problem = super::compat::campaign_missing(mapping, program);
    if dry_run {
        ctx.mappings.hold_here(mapping, vec![problem.clone()]);
    } else {
        ctx.mappings
            .hold(&ctx.store, mapping, vec![problem.clone()])
            .await?;
    }
    let mut pass = Pass::new(ctx, mapping, dry_run, Default::default());
    pass.report.warnings.push(format!(
        "nothing compared or repaired: {problem}; the mapping is held until the campaign is \
         back (restored from Salesforce's recycle bin) or the mapping names another"
    ));
    pass.finish().await
}

async fn reconcile_once(
    ctx: &Context,
    mapping: &Mapping,
    dry_run: bool,
) -> Result<ReconcileReport, WorkError> {
    let program_id = mapping.config.program_id;
    let program = ctx.marketo.program(program_id).await?;
    let statuses = ctx.marketo.channel_statuses(&program.channel).await?;
    // What the settings pass would write; a passing failure is tried again with the mapping.
    let settings = match settings::preview(ctx, mapping, &program).await {
        Ok(Some(changes)) => Ok(changes),
        Ok(None) => return campaign_gone(ctx, mapping, &program, dry_run).await,
        Err(crate::connectors::CallError::Permanent(error)) => Err(error),
        Err(error) => return Err(error.into()),
    };
    let mut names = Names::default();
    let mut marketo = read_marketo(ctx, program_id, &statuses, &mut names).await?;
    let mut mirror = Mirror::read(ctx, mapping.name(), &mut names).await?;
    let steps = statuses.iter().map(|s| (s.name.clone(), s.step)).collect();
    let mut pass = Pass::new(ctx, mapping, dry_run, steps);
    pass.report.marketo_members = marketo.len();
    match settings {
        Ok(changes) => {
            let refused = settings::refused_type(ctx, mapping, &program, &changes).await;
            pass.report.warnings.extend(refused);
            pass.report.settings = Some(changes);
        }
        Err(error) => pass.report.warnings.push(settings::not_previewed(&error)),
    }
    if mapping.is_held() {
        pass.report.warnings.push(format!(
            "the mapping is held (its statuses do not match: {}): the repairs listed wait, \
             postponed, until the statuses are fixed",
            mapping.problems().join("; ")
        ));
    }
    let mut new_sf = Vec::new();
    let campaign = mapping.config.campaign_id.as_str();
    ctx.salesforce
        .each_campaign_member_page(campaign, |page| {
            pass.report.salesforce_members += page.len();
            for member in &page {
                let claimed = mirror
                    .claim(member.person_id())
                    .or_else(|| mirror.claim_member(&member.id));
                match claimed {
                    Some(slot) => {
                        let row = mirror.entries[slot].row(mapping.name(), &names);
                        let mk = take_marketo(&mut marketo, row.mkto_lead_id, &names);
                        let email = member.email.clone();
                        let unit = Unit {
                            mirror: Some(&row),
                            sf: Some(member),
                            mk,
                            email,
                        };
                        pass.known(&unit, slot as u64);
                    }
                    None => new_sf.push(SfNew::new(member, &mut names)),
                }
            }
        })
        .await?;
    // The mirror's people Salesforce no longer lists.
    for (slot, entry) in mirror
        .entries
        .iter()
        .enumerate()
        .filter(|(_, e)| !e.sf_seen)
    {
        if let Some(other) = mirror.shadowed_by(slot) {
            // Nothing is inferred from a row whose Salesforce person another row claimed:
            // its member is listed, and a removal queued for it would remove a real member.
            let lead = |e: &entries::MirrorEntry| {
                e.mkto_lead_id.map_or("no Marketo lead".to_string(), |l| {
                    format!("Marketo lead {l}")
                })
            };
            pass.report.warnings.push(format!(
                "the sync's state holds Salesforce person {} twice (with {} and with {}): the \
                 row with {} is left alone, as Salesforce's listing matched the other",
                entry.sf_person_id.as_ref().map_or("", |p| p.as_str()),
                lead(&mirror.entries[other]),
                lead(entry),
                lead(entry),
            ));
            // Its Marketo member is this row's, not someone new to pair.
            take_marketo(&mut marketo, entry.mkto_lead_id, &names);
            continue;
        }
        let row = entry.row(mapping.name(), &names);
        let mk = take_marketo(&mut marketo, row.mkto_lead_id, &names);
        let unit = Unit {
            mirror: Some(&row),
            sf: None,
            mk,
            email: None,
        };
        pass.known(&unit, slot as u64);
    }
    let mut place = mirror.entries.len() as u64;
    drop(mirror);
    let mut new_mk: Vec<i64> = marketo
        .iter()
        .filter(|(_, m)| !m.used)
        .map(|(l, _)| *l)
        .collect();
    new_mk.sort_unstable();
    // Salesforce members passed over for another with the same e-mail: named in a warning, not
    // written (their address would find the chosen one's Marketo lead).
    let mut passed_over: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut keys_read = None;
    // The address of each lead paired in this pass, with its Salesforce person: a lead left
    // unpaired at one of them is a duplicate even before any identity is saved (a dry run).
    let mut paired = twins::Paired::new();
    if !new_sf.is_empty() && !new_mk.is_empty() {
        let leads = lead_keys(ctx, &new_mk).await?;
        let lead_at: HashMap<i64, usize> =
            leads.iter().enumerate().map(|(i, l)| (l.id, i)).collect();
        let pairs = adopt::pair(&leads, &new_sf);
        let linked = twins::linked_elsewhere(ctx, &pairs, &new_sf).await?;
        for pair in pairs {
            let sf = &mut new_sf[pair.member];
            sf.used = true;
            let member = sf.member(campaign, &names);
            let person = member.person_id().unwrap_or_default().to_string();
            if let Some(&other) = linked.get(&person).filter(|&&l| l != pair.lead_id) {
                // One person, two Marketo leads: linked to one, paired here with the other by
                // the address. Writing either would put one lead's status on the other's
                // person (or add the linked lead to this program): both left alone.
                pass.report.warnings.push(format!(
                    "Marketo lead {} matched by {} to {person}, which is linked to Marketo lead \
                     {other}: both left alone in this mapping (merge the duplicates in Marketo)",
                    pair.lead_id, pair.by
                ));
                passed_over.insert(person);
                passed_over.extend(pair.duplicates.iter().cloned());
                take_marketo(&mut marketo, Some(pair.lead_id), &names);
                continue;
            }
            passed_over.extend(pair.duplicates.iter().cloned());
            if !pair.duplicates.is_empty() {
                pass.report.warnings.push(format!(
                    "Marketo lead {} matched by {} to {} (a Contact before a Lead, then the \
                     lowest id); also matching: {}",
                    pair.lead_id,
                    pair.by,
                    member.person_id().unwrap_or_default(),
                    pair.duplicates.join(", ")
                ));
            }
            let email = lead_at
                .get(&pair.lead_id)
                .and_then(|i| leads[*i].email.as_deref());
            if let Some(address) = email {
                paired.insert(
                    crate::store::fold_email(address),
                    (pair.lead_id, member.person_id().map(str::to_string)),
                );
            }
            let email = email.map(str::to_string).or_else(|| member.email.clone());
            let mk = take_marketo(&mut marketo, Some(pair.lead_id), &names);
            let unit = Unit {
                mirror: None,
                sf: Some(&member),
                mk,
                email,
            };
            pass.new_person(&unit, place).await?;
            place += 1;
        }
        keys_read = Some(leads);
    }
    let unpaired: Vec<&entries::SfNew> = new_sf
        .iter()
        .filter(|m| !m.used)
        .filter(|m| m.person_id().is_none_or(|p| !passed_over.contains(p)))
        .collect();
    let beside = beside::find(
        ctx,
        &unpaired,
        &paired,
        keys_read.as_deref().unwrap_or_default(),
    )
    .await?;
    for sf in unpaired {
        let member = sf.member(campaign, &names);
        if let Some(warning) = member.person_id().and_then(|p| beside.get(p)) {
            pass.report.warnings.push(warning.clone());
            continue;
        }
        let email = member.email.clone();
        let unit = Unit {
            mirror: None,
            sf: Some(&member),
            mk: None,
            email,
        };
        pass.new_person(&unit, place).await?;
        place += 1;
    }
    // Not paired above: Marketo-only people, unless their address is a linked person's.
    new_mk.retain(|lead| marketo.get(lead).is_some_and(|m| !m.used));
    let (twins, emails) =
        twins::find(ctx, &new_mk, keys_read.as_deref(), &marketo, &paired).await?;
    for lead in new_mk {
        if let Some(warning) = twins.get(&lead) {
            pass.report.warnings.push(warning.clone());
            continue;
        }
        let mk = take_marketo(&mut marketo, Some(lead), &names);
        let unit = Unit {
            mirror: None,
            sf: None,
            mk,
            email: emails.get(&lead).cloned(),
        };
        pass.new_person(&unit, place).await?;
        place += 1;
    }
    pass.finish().await
}
