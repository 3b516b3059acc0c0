//! Reconciliation: list both sides of a mapping, diff them with the mirror, and queue a signal
//! for every difference, so repairs go through the same worker path and semantics as webhooks.
//! It catches Salesforce deletions, webhooks Marketo never sent and outbound messages dropped.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::kinds::{Action, Connector, OutcomeResult, Target};
use crate::signal::{
    Dedup, MarketoMember, NewSignal, SalesforceMember, SalesforceMemberDeleted, Signal,
};
use crate::store::{MirrorRow, now_millis};
use crate::sync::NOT_IN_PROGRAM;

use super::context::Context;
use super::record;
use super::work::WorkError;
use crate::mappings::Mapping;

/// What one reconciliation found in one mapping; each difference became one signal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReconcileReport {
    pub mapping: String,
    pub salesforce_members: usize,
    pub marketo_members: usize,
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

pub async fn reconcile_one(ctx: &Context, mapping: &Mapping) -> Result<ReconcileReport, WorkError> {
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
    let by_person: HashMap<&str, &MirrorRow> = mirror
        .iter()
        .filter_map(|r| Some((r.sf_person_id.as_deref()?, r)))
        .collect();
    let by_lead: HashMap<i64, &MirrorRow> = mirror
        .iter()
        .filter_map(|r| Some((r.mkto_lead_id?, r)))
        .collect();
    let run = now_millis();
    let mut report = ReconcileReport {
        mapping: mapping.name().to_string(),
        salesforce_members: salesforce.len(),
        marketo_members: marketo.len(),
        ..ReconcileReport::default()
    };
    let mut signals = Vec::new();
    let mut sf_people = std::collections::HashSet::new();
    for member in &salesforce {
        let person = member.person_id().unwrap_or_default();
        sf_people.insert(person.to_string());
        let known = by_person.get(person).and_then(|r| r.sf_status.as_deref());
        if known != member.status.as_deref() {
            report.salesforce_changed += 1;
            signals.push(NewSignal::new(
                format!("reconcile:{run}:sf:{}", member.id),
                Signal::SalesforceMember(SalesforceMember {
                    notification_id: format!("reconcile-{run}"),
                    organization_id: String::new(),
                    member_id: member.id.clone(),
                    campaign_id: Some(member.campaign_id.clone()),
                    lead_id: member.lead_id.clone(),
                    contact_id: member.contact_id.clone(),
                    email: member.email.clone(),
                    status: member.status.clone(),
                    has_responded: None,
                    created_date: None,
                    last_modified_date: None,
                    system_modstamp: member.system_modstamp.clone(),
                }),
            ));
        }
    }
    for (lead, member) in &marketo {
        let known = by_lead.get(lead).and_then(|r| r.mkto_status.as_deref());
        if known != member.status_name.as_deref() {
            report.marketo_changed += 1;
            signals.push(marketo_signal(run, program_id, *lead));
        }
    }
    for row in &mirror {
        let synced_sf = row.sf_status.is_some()
            && row
                .sf_person_id
                .as_ref()
                .is_some_and(|p| !sf_people.contains(p));
        if let (true, Some(member_id)) = (synced_sf, row.sf_member_id.as_ref()) {
            report.salesforce_removed += 1;
            signals.push(NewSignal {
                dedup_key: format!("reconcile:{run}:sfdel:{member_id}"),
                signal: Signal::SalesforceMemberDeleted(SalesforceMemberDeleted {
                    member_id: member_id.clone(),
                    deleted_date: None,
                }),
                dedup: Dedup::Once,
            });
        }
        if let (Some(_), Some(lead)) = (row.mkto_status.as_ref(), row.mkto_lead_id)
            && !marketo.contains_key(&lead)
        {
            report.marketo_removed += 1;
            signals.push(marketo_signal(run, program_id, lead));
        }
    }
    report.signals_queued = signals.len();
    ctx.store.record(signals, run).await?;
    Ok(report)
}

fn marketo_signal(run: i64, program_id: i64, lead_id: i64) -> NewSignal {
    NewSignal::new(
        format!("reconcile:{run}:mkto:{program_id}:{lead_id}"),
        Signal::MarketoMember(MarketoMember {
            lead_id,
            program_id,
            email: None,
            status: None,
            trigger: Some("reconciliation".into()),
        }),
    )
}

/// Reconciles every enabled mapping, recording each report as an outcome and in metrics.
pub async fn reconcile_all(ctx: &Context) -> Vec<Result<ReconcileReport, (String, WorkError)>> {
    let mut reports = Vec::new();
    for mapping in ctx.mappings.all() {
        if !ctx.mappings.sync_enabled() || !mapping.is_enabled() {
            continue;
        }
        let result = reconcile_one(ctx, mapping).await;
        match &result {
            Ok(report) => {
                let reason = format!(
                    "found {} changed in Salesforce, {} changed in Marketo, {} removed from Salesforce, {} removed from Marketo; queued {} signals",
                    report.salesforce_changed,
                    report.marketo_changed,
                    report.salesforce_removed,
                    report.marketo_removed,
                    report.signals_queued
                );
                tracing::info!(mapping = mapping.name(), %reason, "reconciled");
                for (side, count) in [
                    ("salesforce_changed", report.salesforce_changed),
                    ("marketo_changed", report.marketo_changed),
                    ("salesforce_removed", report.salesforce_removed),
                    ("marketo_removed", report.marketo_removed),
                ] {
                    metrics::counter!("reconcile_differences_total", "mapping" => mapping.name().to_string(), "kind" => side).increment(count as u64);
                }
                let _ = record::outcome_now(
                    ctx,
                    mapping.name(),
                    Target::new(Connector::None, Action::Reconcile),
                    OutcomeResult::Applied,
                    &reason,
                )
                .await;
            }
            Err(error) => {
                tracing::warn!(mapping = mapping.name(), %error, "reconciliation failed");
                let _ = record::outcome_now(
                    ctx,
                    mapping.name(),
                    Target::new(Connector::None, Action::Reconcile),
                    OutcomeResult::Skipped,
                    &error.to_string(),
                )
                .await;
            }
        }
        reports.push(result.map_err(|e| (mapping.name().to_string(), e)));
    }
    reports
}
