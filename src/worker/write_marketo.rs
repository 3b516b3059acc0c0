//! Writes to Marketo: status sync as one call per (program, status) with ≤300 leads, removals as
//! member deletes; per-lead results are correlated by `seq`.

use std::collections::BTreeMap;

use crate::config::BackwardPolicy;
use crate::connectors::CallError;
use crate::connectors::marketo::StatusResult;
use crate::sync::Decision;

use super::Worker;
use super::identity;
use super::mappings::Mapping;
use super::round::{Done, PersonWork};

/// Marketo's "already in or past this status" (status sync) / "not in program" (delete).
const SKIPPED_PROGRESSION: &str = "1037";

pub async fn apply(worker: &Worker, mapping: &Mapping, works: &mut [PersonWork]) {
    let mut setting: Vec<&mut PersonWork> = works
        .iter_mut()
        .filter(|w| {
            w.is_open()
                && matches!(
                    w.decision,
                    Decision::SetMarketo(_) | Decision::RemoveFromMarketo
                )
        })
        .collect();
    if setting.is_empty() {
        return;
    }
    if let Err(error) = identity::ensure_marketo(worker, &mut setting).await {
        let error = CallError::retry(format!("store: {error}"));
        setting.iter_mut().for_each(|w| w.fail(&error));
        return;
    }
    let mut by_status: BTreeMap<String, Vec<&mut PersonWork>> = BTreeMap::new();
    let mut removing = Vec::new();
    for work in setting.into_iter().filter(|w| w.is_open()) {
        match work.decision.clone() {
            Decision::SetMarketo(status) => by_status.entry(status).or_default().push(work),
            _ => removing.push(work),
        }
    }
    let program = mapping.config.program_id;
    for (status, mut group) in by_status {
        let leads: Vec<i64> = group
            .iter()
            .filter_map(|w| w.identity.mkto_lead_id)
            .collect();
        match worker.marketo().sync_status(program, &status, &leads).await {
            Ok(results) => {
                for (work, result) in group.iter_mut().zip(results) {
                    settle_status(work, &result, mapping);
                }
            }
            Err(error) => group.iter_mut().for_each(|w| w.fail(&error)),
        }
    }
    if !removing.is_empty() {
        let leads: Vec<i64> = removing
            .iter()
            .filter_map(|w| w.identity.mkto_lead_id)
            .collect();
        match worker.marketo().delete_members(program, &leads).await {
            Ok(results) => {
                for (work, result) in removing.iter_mut().zip(results) {
                    work.outcome = Some(match result.status.as_str() {
                        "deleted" => Ok(Done::Applied),
                        "skipped" if has_reason(&result, SKIPPED_PROGRESSION) => {
                            Ok(Done::Skipped("the lead was not in the program".into()))
                        }
                        _ => Err(CallError::Permanent(reasons(&result))),
                    });
                }
            }
            Err(error) => removing.iter_mut().for_each(|w| w.fail(&error)),
        }
    }
}

/// Marketo only moves forward: a skip with 1037 means Salesforce went back to an earlier
/// status. That is recorded as diverged; the mapping's policy may set Salesforce back.
fn settle_status(work: &mut PersonWork, result: &StatusResult, mapping: &Mapping) {
    work.outcome = Some(match result.status.as_str() {
        "created" | "updated" => Ok(Done::Applied),
        "skipped" if has_reason(result, SKIPPED_PROGRESSION) => {
            let kept = work
                .mk
                .as_ref()
                .and_then(|o| o.status.clone())
                .or_else(|| work.mirror.as_ref().and_then(|m| m.mkto_status.clone()));
            if mapping.config.backward_policy == BackwardPolicy::ResetSalesforce {
                work.reset_to = kept
                    .as_deref()
                    .and_then(|k| mapping.statuses.to_salesforce(k));
            }
            Ok(Done::Diverged(format!(
                "Marketo skipped the move back ({}); the program keeps {}",
                reasons(result),
                kept.as_deref().unwrap_or("its later status")
            )))
        }
        _ => Err(CallError::Permanent(reasons(result))),
    });
}

fn has_reason(result: &StatusResult, code: &str) -> bool {
    result.reasons.iter().any(|r| r.code == code)
}

fn reasons(result: &StatusResult) -> String {
    if result.reasons.is_empty() {
        return format!("Marketo answered {}", result.status);
    }
    result
        .reasons
        .iter()
        .map(|r| format!("{} {}", r.code, r.message))
        .collect::<Vec<_>>()
        .join("; ")
}
