//! Writes to Marketo: status sync as one call per (program, status) with ≤300 leads, removals
//! as member deletes; per-lead results are correlated by `seq`.

use futures::future::join_all;
use tracing::Instrument;

use crate::config::ConflictPolicy;
use crate::connectors::CallError;
use crate::connectors::marketo::StatusResult;
use crate::sync::batch::{MARKETO_LEADS_PER_CALL, group_into_calls};
use crate::sync::{self, Decision, Done, Observed};

use super::super::context::{Context, api_span};
use super::super::work::Work;
use super::marketo_people;
use crate::mappings::Mapping;

/// Marketo's "already in or past this status" (status sync) / "not in program" (delete).
const SKIPPED_PROGRESSION: &str = "1037";

/// Marketo's "Lead not found": the lead was merged into another or deleted.
const LEAD_NOT_FOUND: &str = "1004";

/// Drops a Marketo lead id that no longer exists (merged away or deleted) and retries: the
/// next round finds the person again by e-mail (the merge's survivor).
async fn forget_lead(ctx: &Context, work: &mut Work) {
    let Some(lead) = work.identity().mkto_lead_id else {
        return;
    };
    work.person.identity.mkto_lead_id = None;
    let id = work.identity().id;
    if let Err(error) = ctx
        .store
        .forget_marketo_lead(id, lead, crate::store::now_millis())
        .await
    {
        return work.fail(error);
    }
    work.fail(CallError::retry(format!(
        "the Marketo lead {lead} was merged or deleted; finding the person again"
    )));
}

/// A status to set, or a removal.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Call {
    SetStatus(String),
    Remove,
}

pub async fn write(ctx: &Context, mapping: &Mapping, works: &mut [Work]) {
    let mut setting: Vec<&mut Work> = works
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
    marketo_people::ensure_marketo(ctx, mapping, &mut setting).await;
    let planned = setting.into_iter().filter(|w| w.is_open()).map(|w| {
        let call = match &w.decision {
            Decision::SetMarketo(status) => Call::SetStatus(status.clone()),
            _ => Call::Remove,
        };
        (call, w)
    });
    let calls = group_into_calls(planned, MARKETO_LEADS_PER_CALL);
    // The calls of one phase are independent; the client bounds their concurrency.
    join_all(
        calls
            .into_iter()
            .map(|(call, group)| send(ctx, mapping, call, group)),
    )
    .await;
}

async fn send(ctx: &Context, mapping: &Mapping, call: Call, mut group: Vec<&mut Work>) {
    let program = mapping.config.program_id;
    let leads: Vec<i64> = group
        .iter()
        .filter_map(|w| w.identity().mkto_lead_id)
        .collect();
    match call {
        Call::SetStatus(status) => {
            let result = ctx
                .marketo
                .sync_status(program, &status, &leads)
                .instrument(api_span("marketo", "sync_status", leads.len()))
                .await;
            match result {
                Ok(results) => {
                    let kept = reread_skipped(ctx, program, &group, &results).await;
                    for (work, result) in group.iter_mut().zip(results) {
                        if has_reason(&result, LEAD_NOT_FOUND) {
                            forget_lead(ctx, work).await;
                            continue;
                        }
                        let fresh = work.identity().mkto_lead_id.and_then(|l| kept.get(&l));
                        settle_status(work, &status, &result, mapping, fresh);
                    }
                }
                Err(error) => group.iter_mut().for_each(|w| w.fail(error.clone())),
            }
        }
        Call::Remove => {
            let result = ctx
                .marketo
                .delete_members(program, &leads)
                .instrument(api_span("marketo", "delete_members", leads.len()))
                .await;
            match result {
                Ok(results) => {
                    for (work, result) in group.iter_mut().zip(results) {
                        work.outcome = Some(match result.status.as_str() {
                            "deleted" => Ok(Done::Applied),
                            "skipped" if has_reason(&result, SKIPPED_PROGRESSION) => {
                                Ok(Done::Skipped("the lead was not in the program".into()))
                            }
                            _ => Err(CallError::Permanent(reasons(&result)).into()),
                        });
                    }
                }
                Err(error) => group.iter_mut().for_each(|w| w.fail(error.clone())),
            }
        }
    }
}

/// The status Marketo kept for each lead it skipped with 1037, read again now: the round's
/// observation (or the mirror) may predate a change whose webhook never came.
async fn reread_skipped(
    ctx: &Context,
    program: i64,
    group: &[&mut Work],
    results: &[StatusResult],
) -> std::collections::BTreeMap<i64, Observed> {
    let skipped: Vec<i64> = group
        .iter()
        .zip(results)
        .filter(|(_, r)| r.status == "skipped" && has_reason(r, SKIPPED_PROGRESSION))
        .filter_map(|(w, _)| w.identity().mkto_lead_id)
        .collect();
    if skipped.is_empty() {
        return Default::default();
    }
    let read = ctx
        .marketo
        .members(program, &skipped)
        .instrument(api_span("marketo", "members", skipped.len()))
        .await;
    match read {
        Ok(members) => members
            .iter()
            .map(|m| (m.lead_id, super::super::work::observed_member(Some(m))))
            .collect(),
        // Judged from what the round saw; the next reconciliation corrects a stale view.
        Err(error) => {
            tracing::warn!(%error, "could not re-read members Marketo skipped");
            Default::default()
        }
    }
}

/// Marketo only moves forward: a skip with 1037 is judged by `sync::marketo_skipped`, against
/// the status Marketo keeps (`fresh`, read again after the skip, when it could be read).
fn settle_status(
    work: &mut Work,
    requested: &str,
    result: &StatusResult,
    mapping: &Mapping,
    fresh: Option<&Observed>,
) {
    work.was_member = result.status == "updated";
    work.outcome = Some(match result.status.as_str() {
        "created" | "updated" => Ok(Done::Applied),
        "skipped" if has_reason(result, SKIPPED_PROGRESSION) => {
            let wins = fresh.is_some_and(|kept| marketo_change_wins(work, kept, mapping));
            let kept = match fresh {
                Some(kept) => {
                    // What Marketo shows now is what the mirror should remember.
                    work.person.mk = Some(Observed {
                        status: kept.status.clone(),
                        at: None,
                    });
                    kept.status.clone()
                }
                None => work
                    .person
                    .mk
                    .as_ref()
                    .and_then(|o| o.status.clone())
                    .or_else(|| work.mirror.as_ref().and_then(|m| m.mkto_status.clone())),
            };
            let (done, reset) = sync::marketo_skipped(
                requested,
                kept.as_deref(),
                &reasons(result),
                mapping.config.backward_policy,
                &mapping.statuses,
                wins,
            );
            work.reset = reset;
            Ok(done)
        }
        _ => Err(CallError::Permanent(reasons(result)).into()),
    });
}

/// Whether the status Marketo kept is its own change, not synced yet, that wins over the
/// Salesforce change being written: always under `marketo_wins`; under last-writer-wins when
/// made later, or in the same second (Marketo's `updatedAt` has whole seconds, so which came
/// last cannot be told, and Marketo's status is the one both sides can hold). Its signal may
/// come later or never (a lost webhook); the status recorded as synced would make it an echo.
fn marketo_change_wins(work: &Work, kept: &Observed, mapping: &Mapping) -> bool {
    let synced = work.mirror.as_ref().and_then(|m| m.mkto_status.as_ref());
    if kept.status.is_none() || kept.status.as_ref() == synced {
        return false;
    }
    let salesforce_at = work.person.sf.as_ref().and_then(|o| o.at);
    match mapping.config.conflict_policy {
        ConflictPolicy::MarketoWins => true,
        ConflictPolicy::SalesforceWins => false,
        ConflictPolicy::LastWriterWins => match (kept.at, salesforce_at) {
            (Some(marketo), Some(salesforce)) => marketo + 1000 > salesforce,
            _ => false,
        },
    }
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
