//! Reconciliation's signals (one per side that differs from the mirror), the change each
//! person is expected to get, and the scheduled pass over every enabled mapping, recorded as
//! outcomes and in metrics.

use crate::connectors::salesforce::CampaignMember;
use std::sync::Arc;

use crate::kinds::{Action, Connector, OutcomeResult, Target};
use crate::mappings::Mapping;
use crate::signal::{
    Dedup, MarketoMember, NewSignal, SalesforceMember, SalesforceMemberDeleted, Signal,
};
use crate::store::StoreError;
use crate::sync::{Decision, Observed, StatusMap};

use super::super::context::Context;
use super::super::record;
use super::super::work::WorkError;
use super::person::Unit;
use super::{ReconcileReport, reconcile_one};

/// The dedup key every repair a reconciliation queues starts with (then the run, the side and
/// the record), so the worker can count how the repairs ended.
pub const REPAIR_PREFIX: &str = "reconcile:";

/// One write the worker is expected to make: who, which side, from which status to which
/// (`None`: not a member).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Change {
    pub person: String,
    pub marketo_lead_id: Option<i64>,
    pub salesforce_id: Option<String>,
    pub side: &'static str,
    pub from: Option<String>,
    pub to: Option<String>,
}

impl Change {
    /// Fills the records a repair created: a Salesforce-only member's new Marketo lead, a
    /// Marketo-only member's new Salesforce Lead, as the sync now knows the person.
    pub async fn name_created(&mut self, store: &crate::store::Store) -> Result<(), StoreError> {
        if self.marketo_lead_id.is_some() && self.salesforce_id.is_some() {
            return Ok(());
        }
        let email = Some(self.person.as_str()).filter(|p| p.contains('@'));
        let Some(known) = store
            .find_identity(self.marketo_lead_id, self.salesforce_id.as_deref(), email)
            .await?
        else {
            return Ok(());
        };
        self.marketo_lead_id = self.marketo_lead_id.or(known.mkto_lead_id);
        self.salesforce_id = self
            .salesforce_id
            .take()
            .or(known.sf_contact_id)
            .or(known.sf_lead_id);
        Ok(())
    }
}

/// A person the mirror holds as synced whose sides still show different statuses, such as a
/// move back Marketo refused (1037). The worker plans no write for them; the report names them
/// so a preview does not read as all in sync.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Divergence {
    pub person: String,
    pub marketo_lead_id: Option<i64>,
    pub salesforce_id: Option<String>,
    pub salesforce_status: Option<String>,
    pub marketo_status: Option<String>,
}

/// Who a person is, as a report names them: the e-mail, else the Salesforce id, else the lead;
/// with the Marketo lead and the Salesforce Lead or Contact when known.
fn who(unit: &Unit<'_>) -> (String, Option<i64>, Option<String>) {
    let lead = unit
        .mk
        .map(|m| m.lead_id)
        .or(unit.mirror.and_then(|m| m.mkto_lead_id));
    let salesforce_id = unit
        .sf
        .and_then(|m| m.person_id().map(str::to_string))
        .or(unit.mirror.and_then(|m| m.sf_person_id.clone()));
    let person = unit
        .email
        .clone()
        .or_else(|| salesforce_id.clone())
        .or_else(|| lead.map(|l| format!("Marketo lead {l}")))
        .unwrap_or_default();
    (person, lead, salesforce_id)
}

pub fn change(
    unit: &Unit<'_>,
    decision: &Decision,
    sf: &Observed,
    mk: &Observed,
) -> Option<Change> {
    let (side, from, to) = match decision {
        Decision::Skip(_) => return None,
        Decision::SetMarketo(s) => ("marketo", mk.status.clone(), Some(s.clone())),
        Decision::RemoveFromMarketo => ("marketo", mk.status.clone(), None),
        Decision::SetSalesforce(s) => ("salesforce", sf.status.clone(), Some(s.clone())),
        Decision::RemoveFromSalesforce => ("salesforce", sf.status.clone(), None),
    };
    let (person, marketo_lead_id, salesforce_id) = who(unit);
    Some(Change {
        person,
        marketo_lead_id,
        salesforce_id,
        side,
        from,
        to,
    })
}

/// The person's divergence, when the sides' statuses disagree under the mapping's status map.
pub fn divergence(
    unit: &Unit<'_>,
    statuses: &StatusMap,
    sf: &Observed,
    mk: &Observed,
) -> Option<Divergence> {
    let mapped = mk.status.as_deref().and_then(|s| statuses.to_salesforce(s));
    if mapped == sf.status {
        return None;
    }
    let (person, marketo_lead_id, salesforce_id) = who(unit);
    Some(Divergence {
        person,
        marketo_lead_id,
        salesforce_id,
        salesforce_status: sf.status.clone(),
        marketo_status: mk.status.clone(),
    })
}

/// Queues the signals for one person: a Salesforce snapshot or deletion when Salesforce differs
/// from the mirror, a Marketo read when Marketo does.
pub fn queue(
    run: i64,
    program_id: i64,
    unit: &Unit<'_>,
    report: &mut ReconcileReport,
    queued: &mut Vec<NewSignal>,
) {
    let mirror = unit.mirror;
    let mirror_sf = mirror.and_then(|m| m.sf_status.as_deref());
    match (unit.sf, mirror.and_then(|m| m.sf_member_id.as_ref())) {
        (Some(member), _) if member.status.as_deref() != mirror_sf => {
            report.salesforce_changed += 1;
            queued.push(salesforce_signal(run, member));
        }
        (None, Some(member_id)) if mirror_sf.is_some() => {
            report.salesforce_removed += 1;
            queued.push(NewSignal {
                dedup_key: format!("{REPAIR_PREFIX}{run}:sfdel:{member_id}"),
                signal: Signal::SalesforceMemberDeleted(SalesforceMemberDeleted {
                    member_id: member_id.clone(),
                    deleted_date: None,
                }),
                dedup: Dedup::Once,
            });
        }
        _ => {}
    }
    let mirror_mk = mirror.and_then(|m| m.mkto_status.as_deref());
    match (unit.mk, mirror.and_then(|m| m.mkto_lead_id)) {
        (Some(member), _) if member.status != mirror_mk => {
            report.marketo_changed += 1;
            queued.push(marketo_signal(run, program_id, member.lead_id));
        }
        (None, Some(lead)) if mirror_mk.is_some() => {
            report.marketo_removed += 1;
            queued.push(marketo_signal(run, program_id, lead));
        }
        _ => {}
    }
}

fn salesforce_signal(run: i64, member: &CampaignMember) -> NewSignal {
    NewSignal::new(
        format!("{REPAIR_PREFIX}{run}:sf:{}", member.id),
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
    )
}

fn marketo_signal(run: i64, program_id: i64, lead_id: i64) -> NewSignal {
    NewSignal::new(
        format!("{REPAIR_PREFIX}{run}:mkto:{program_id}:{lead_id}"),
        Signal::MarketoMember(MarketoMember {
            lead_id,
            program_id,
            email: None,
            status: None,
            trigger: Some("reconciliation".into()),
        }),
    )
}

/// The mappings a reconciliation of everything covers: the enabled ones, none while campaign
/// sync as a whole is off.
pub fn to_reconcile(ctx: &Context) -> Vec<&Arc<Mapping>> {
    ctx.mappings
        .all()
        .iter()
        .filter(|m| ctx.mappings.sync_enabled() && m.is_enabled())
        .collect()
}

/// Reconciles every enabled mapping, recording each report as an outcome and in metrics.
pub async fn reconcile_all(ctx: &Context) -> Vec<Result<ReconcileReport, (String, WorkError)>> {
    let mut reports = Vec::new();
    for mapping in to_reconcile(ctx) {
        // Switched off since the pass started.
        if ctx.mappings.sync_enabled() && mapping.is_enabled() {
            reports.push(reconcile_recorded(ctx, mapping).await);
        }
    }
    reports
}

/// Reconciles one mapping, recording its report as an outcome and in metrics.
pub async fn reconcile_recorded(
    ctx: &Context,
    mapping: &Mapping,
) -> Result<ReconcileReport, (String, WorkError)> {
    let result = reconcile_one(ctx, mapping, false).await;
    match &result {
        Ok(report) => {
            let reason = format!(
                "linked {} people; found {} changed in Salesforce, {} changed in Marketo, {} removed from Salesforce, {} removed from Marketo; queued {} signals",
                report.linked,
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
    result.map_err(|e| (mapping.name().to_string(), e))
}
