//! Reconciliation: list both sides of a mapping, diff them with the mirror, and queue a signal
//! for every difference, so repairs go through the same worker path and semantics as webhooks.
//! People who are members on both sides but unknown to the mirror (a cut-over) are paired
//! (`adopt`) and, where both sides agree, recorded as in sync without any write. A dry run
//! reads both sides and lists the changes the worker would make, writing nothing anywhere.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use crate::connectors::marketo::MemberRecord;
use crate::connectors::salesforce::CampaignMember;
use crate::kinds::{Action, Connector, OutcomeResult, Target};
use crate::mappings::Mapping;
use crate::store::{MirrorRow, now_millis};
use crate::sync::{self, NOT_IN_PROGRAM, Observed, time::parse_millis};

use super::adopt;
use super::context::Context;
use super::reconcile_signals as signals;
use super::record;
use super::work::WorkError;

pub use super::reconcile_signals::{Change, reconcile_all};

/// What one reconciliation found in one mapping; each difference became one signal or more.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReconcileReport {
    pub mapping: String,
    pub salesforce_members: usize,
    pub marketo_members: usize,
    /// People members on both sides newly paired (recorded in sync when both sides agree).
    pub linked: usize,
    /// People whose sides differ (each is one entry of `changes` unless the worker will skip).
    pub differences: usize,
    /// What the worker will write, person by person.
    pub changes: Vec<Change>,
    /// Choices among duplicates, named.
    pub warnings: Vec<String>,
    /// Salesforce members whose status the mirror does not have (dropped outbound messages).
    pub salesforce_changed: usize,
    /// Marketo members whose status the mirror does not have (webhooks never sent).
    pub marketo_changed: usize,
    /// Synced members gone from Salesforce (deletions).
    pub salesforce_removed: usize,
    /// Synced members gone from Marketo.
    pub marketo_removed: usize,
    pub signals_queued: usize,
}

/// One person as this pass sees them: the mirror row and each side's membership.
pub struct Unit<'a> {
    pub mirror: Option<&'a MirrorRow>,
    pub sf: Option<&'a CampaignMember>,
    pub mk: Option<&'a MemberRecord>,
    pub email: Option<String>,
}

pub async fn reconcile_one(
    ctx: &Context,
    mapping: &Mapping,
    dry_run: bool,
) -> Result<ReconcileReport, WorkError> {
    let program_id = mapping.config.program_id;
    let program = ctx.marketo.program(program_id).await?;
    let statuses = ctx.marketo.channel_statuses(&program.channel).await?;
    let mut marketo = BTreeMap::new();
    for status in statuses
        .iter()
        .filter(|s| !s.name.eq_ignore_ascii_case(NOT_IN_PROGRAM))
    {
        for member in ctx
            .marketo
            .members_with_status(program_id, &status.name)
            .await?
        {
            marketo.insert(member.lead_id, member);
        }
    }
    let salesforce = ctx
        .salesforce
        .campaign_members(&mapping.config.campaign_id)
        .await?;
    let mirror = ctx.store.mirror_rows(mapping.name()).await?;
    let mut report = ReconcileReport {
        mapping: mapping.name().to_string(),
        salesforce_members: salesforce.len(),
        marketo_members: marketo.len(),
        ..ReconcileReport::default()
    };
    let units = units(ctx, &mirror, &salesforce, &marketo, &mut report).await?;
    let run = now_millis();
    let mut queued = Vec::new();
    for unit in &units {
        let sf = observed(
            unit.sf.and_then(|m| m.status.clone()),
            unit.sf.and_then(sf_at),
        );
        let mk = observed(
            unit.mk.and_then(|m| m.status_name.clone()),
            unit.mk.and_then(mk_at),
        );
        let new_pair = unit.mirror.is_none() && unit.sf.is_some() && unit.mk.is_some();
        if new_pair {
            report.linked += 1;
        }
        let agree = mk
            .status
            .as_deref()
            .and_then(|s| mapping.statuses.to_salesforce(s))
            == sf.status;
        if new_pair && agree {
            if !dry_run {
                adopt_in_sync(ctx, mapping, unit, run).await?;
            }
            continue;
        }
        let before = queued.len();
        signals::queue(
            run,
            program_id,
            unit.mirror,
            unit.sf,
            unit.mk,
            &mut report,
            &mut queued,
        );
        if queued.len() == before {
            continue;
        }
        report.differences += 1;
        if new_pair && !dry_run {
            // Both signals must find one person: link before the worker resolves them.
            let (lead, person) = (
                unit.mk.map(|m| m.lead_id),
                unit.sf.and_then(|m| m.person_id()),
            );
            ctx.store
                .link_identity(lead, person, unit.email.as_deref(), run)
                .await?;
        }
        let decision = sync::decide(
            unit.mirror,
            Some(&sf),
            Some(&mk),
            mapping.config.conflict_policy,
            &mapping.statuses,
        );
        if let Some(change) = signals::change(unit, &decision, &sf, &mk) {
            report.changes.push(change);
        }
    }
    // A preview queues nothing.
    report.signals_queued = if dry_run { 0 } else { queued.len() };
    if !dry_run {
        ctx.store.record(queued, run).await?;
        for warning in &report.warnings {
            tracing::warn!(mapping = mapping.name(), %warning, "duplicate people");
            // No "warning" result exists: a skipped reconcile outcome carries the names.
            let target = Target::new(Connector::None, Action::Reconcile);
            let reason = format!("warning: {warning}");
            record::outcome_now(ctx, mapping.name(), target, OutcomeResult::Skipped, &reason)
                .await?;
        }
    }
    Ok(report)
}

fn observed(status: Option<String>, at: Option<i64>) -> Observed {
    Observed { status, at }
}

fn sf_at(member: &CampaignMember) -> Option<i64> {
    member.system_modstamp.as_deref().and_then(parse_millis)
}

fn mk_at(member: &MemberRecord) -> Option<i64> {
    member.updated_at.as_deref().and_then(parse_millis)
}

/// The mirror's people first, then new pairs, then people on one side only.
async fn units<'a>(
    ctx: &Context,
    mirror: &'a [MirrorRow],
    salesforce: &'a [CampaignMember],
    marketo: &'a BTreeMap<i64, MemberRecord>,
    report: &mut ReconcileReport,
) -> Result<Vec<Unit<'a>>, WorkError> {
    let by_person: HashMap<&str, &CampaignMember> = salesforce
        .iter()
        .filter_map(|m| Some((m.person_id()?, m)))
        .collect();
    let mut used_sf = HashSet::new();
    let mut used_mk = HashSet::new();
    let mut units = Vec::new();
    for row in mirror {
        let sf = row
            .sf_person_id
            .as_deref()
            .and_then(|p| by_person.get(p).copied());
        let mk = row.mkto_lead_id.and_then(|l| marketo.get(&l));
        used_sf.extend(sf.map(|m| m.id.clone()));
        used_mk.extend(mk.map(|m| m.lead_id));
        let email = sf.and_then(|m| m.email.clone());
        units.push(Unit {
            mirror: Some(row),
            sf,
            mk,
            email,
        });
    }
    let new_sf: Vec<CampaignMember> = salesforce
        .iter()
        .filter(|m| !used_sf.contains(&m.id))
        .cloned()
        .collect();
    let new_mk: Vec<String> = marketo
        .keys()
        .filter(|l| !used_mk.contains(*l))
        .map(i64::to_string)
        .collect();
    if !new_sf.is_empty() && !new_mk.is_empty() {
        let leads = ctx.marketo.leads_by("id", &new_mk).await?;
        for pair in adopt::pair(&leads, &new_sf) {
            let member = &new_sf[pair.member];
            let Some(sf) = salesforce.iter().find(|m| m.id == member.id) else {
                continue;
            };
            if !pair.duplicates.is_empty() {
                report.warnings.push(format!(
                    "Marketo lead {} matched by {} to {} (a Contact before a Lead, then the \
                     lowest id); also matching: {}",
                    pair.lead_id,
                    pair.by,
                    sf.person_id().unwrap_or_default(),
                    pair.duplicates.join(", ")
                ));
            }
            used_sf.insert(sf.id.clone());
            used_mk.insert(pair.lead_id);
            let email = leads
                .iter()
                .find(|l| l.id == pair.lead_id)
                .and_then(|l| l.email.clone())
                .or_else(|| sf.email.clone());
            units.push(Unit {
                mirror: None,
                sf: Some(sf),
                mk: marketo.get(&pair.lead_id),
                email,
            });
        }
    }
    for sf in salesforce.iter().filter(|m| !used_sf.contains(&m.id)) {
        units.push(Unit {
            mirror: None,
            sf: Some(sf),
            mk: None,
            email: sf.email.clone(),
        });
    }
    for mk in marketo.values().filter(|m| !used_mk.contains(&m.lead_id)) {
        units.push(Unit {
            mirror: None,
            sf: None,
            mk: Some(mk),
            email: None,
        });
    }
    Ok(units)
}

/// Links the person and records both sides as in sync: no signal, no write to either API.
async fn adopt_in_sync(
    ctx: &Context,
    mapping: &Mapping,
    unit: &Unit<'_>,
    run: i64,
) -> Result<(), WorkError> {
    let (Some(sf), Some(mk)) = (unit.sf, unit.mk) else {
        return Ok(());
    };
    let identity = ctx
        .store
        .link_identity(Some(mk.lead_id), sf.person_id(), unit.email.as_deref(), run)
        .await?;
    let row = MirrorRow {
        mapping: mapping.name().to_string(),
        person: identity.id.to_string(),
        sf_member_id: Some(sf.id.clone()),
        sf_person_id: sf.person_id().map(str::to_string),
        sf_status: sf.status.clone(),
        sf_modstamp: sf_at(sf),
        mkto_lead_id: Some(mk.lead_id),
        mkto_status: mk.status_name.clone(),
        mkto_updated_at: mk_at(mk),
        synced_at: run,
    };
    ctx.store.upsert_mirror(&row).await?;
    Ok(())
}
