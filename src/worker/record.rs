//! Recording what a round did: the mirror row, the outcome and trigger event of each person,
//! and each signal's end — done, due again later, or dead with its reason.

use crate::connectors::CallError;
use crate::store::{
    Claimed, MirrorRow, Outcome, OutcomeResult, StoreError, TriggerEvent, now_millis,
};
use crate::sync::Decision;

use super::identity::salesforce_id;
use super::mappings::Mapping;
use super::retry::next_delay;
use super::round::{Done, PersonWork};
use super::{RoundReport, Worker};

/// A signal's result: `(id, attempts, outcome)`.
pub type Settled = (i64, i64, Result<(), CallError>);

/// How long a disabled mapping's signals wait before they are looked at again.
const POSTPONE_MS: i64 = 5_000;

pub async fn unmapped(worker: &Worker, item: &Claimed, reason: &str) -> Result<(), StoreError> {
    outcome(
        worker,
        Some(item.id),
        None,
        None,
        "none",
        "none",
        OutcomeResult::Skipped,
        Some(reason),
    )
    .await
}

pub async fn postpone(worker: &Worker, item: &Claimed) -> Result<(), StoreError> {
    let now = now_millis();
    worker
        .inner
        .store
        .postpone(item.id, &worker.inner.owner, now + POSTPONE_MS, now)
        .await?;
    Ok(())
}

pub fn signal_results(works: &[PersonWork]) -> Vec<Settled> {
    works
        .iter()
        .flat_map(|w| {
            let result = match &w.outcome {
                Some(Err(error)) => Err(error.clone()),
                _ => Ok(()),
            };
            w.signals
                .iter()
                .map(move |&(id, attempts)| (id, attempts, result.clone()))
        })
        .collect()
}

/// Mirror, outcome and trigger event for one person. A failed write leaves the mirror as it
/// was, so the retry sees the change again.
pub async fn person(
    worker: &Worker,
    mapping: &Mapping,
    work: &PersonWork,
) -> Result<(), StoreError> {
    let Some(Ok(done)) = &work.outcome else {
        return Ok(());
    };
    let now = now_millis();
    let person = work.person_key();
    let old = work.mirror.clone();
    let mut row = old.clone().unwrap_or(MirrorRow {
        mapping: mapping.name().to_string(),
        person: person.clone(),
        ..MirrorRow::default()
    });
    if let Some(sf) = &work.sf {
        let stale = matches!((sf.at, row.sf_modstamp), (Some(at), Some(seen)) if at < seen);
        if !stale {
            row.sf_status = sf.status.clone();
            row.sf_modstamp = sf.at.max(row.sf_modstamp);
        }
    }
    if let Some(mk) = &work.mk {
        row.mkto_status = mk.status.clone();
        row.mkto_updated_at = mk.at;
    }
    let applied = *done == Done::Applied;
    let gone = matches!(done, Done::Applied | Done::Skipped(_));
    let (connector, action, event) = match &work.decision {
        Decision::SetMarketo(status) if applied => {
            let kind = if old.as_ref().and_then(|m| m.mkto_status.as_ref()).is_none() {
                "added_to_program"
            } else {
                "program_status_changed"
            };
            row.mkto_status = Some(status.clone());
            (
                "marketo",
                "set_status",
                Some((
                    kind,
                    old.as_ref().and_then(|m| m.mkto_status.clone()),
                    Some(status.clone()),
                )),
            )
        }
        Decision::RemoveFromMarketo if gone => {
            row.mkto_status = None;
            (
                "marketo",
                "remove_member",
                applied.then(|| {
                    (
                        "removed_from_program",
                        old.as_ref().and_then(|m| m.mkto_status.clone()),
                        None,
                    )
                }),
            )
        }
        Decision::SetSalesforce(label) if applied => {
            let kind = if old.as_ref().and_then(|m| m.sf_status.as_ref()).is_none() {
                "added_to_campaign"
            } else {
                "campaign_status_changed"
            };
            row.sf_status = Some(label.clone());
            (
                "salesforce",
                "set_status",
                Some((
                    kind,
                    old.as_ref().and_then(|m| m.sf_status.clone()),
                    Some(label.clone()),
                )),
            )
        }
        Decision::RemoveFromSalesforce if gone => {
            row.sf_status = None;
            (
                "salesforce",
                "remove_member",
                applied.then(|| {
                    (
                        "removed_from_campaign",
                        old.as_ref().and_then(|m| m.sf_status.clone()),
                        None,
                    )
                }),
            )
        }
        Decision::SetMarketo(_) | Decision::RemoveFromMarketo => ("marketo", "set_status", None),
        Decision::SetSalesforce(_) | Decision::RemoveFromSalesforce => {
            ("salesforce", "set_status", None)
        }
        Decision::Skip(_) => ("none", "none", None),
    };
    if work.reset_applied {
        row.sf_status = work.reset_to.clone();
    }
    row.sf_member_id = if row.sf_status.is_some() {
        work.sf_member_id.clone().or(row.sf_member_id)
    } else {
        None
    };
    row.sf_person_id = salesforce_id(&work.identity)
        .map(str::to_string)
        .or(row.sf_person_id);
    row.mkto_lead_id = work.identity.mkto_lead_id.or(row.mkto_lead_id);
    row.synced_at = now;
    worker.inner.store.upsert_mirror(&row).await?;
    let (result, reason) = match done {
        Done::Applied => (OutcomeResult::Applied, None),
        Done::Skipped(reason) => (OutcomeResult::Skipped, Some(reason.as_str())),
        Done::Diverged(reason) => (OutcomeResult::Diverged, Some(reason.as_str())),
    };
    let signal = work.signals.first().map(|s| s.0);
    outcome(
        worker,
        signal,
        Some(mapping.name()),
        Some(&person),
        connector,
        action,
        result,
        reason,
    )
    .await?;
    if let Some((kind, old_status, new_status)) = event {
        trigger(
            worker, mapping, &person, kind, old_status, new_status, work.actor,
        )
        .await?;
    }
    if work.reset_applied {
        let before = work.sf.as_ref().and_then(|o| o.status.clone());
        trigger(
            worker,
            mapping,
            &person,
            "campaign_status_changed",
            before,
            work.reset_to.clone(),
            "campaign-sync",
        )
        .await?;
    }
    Ok(())
}

async fn trigger(
    worker: &Worker,
    mapping: &Mapping,
    person: &str,
    kind: &str,
    old_status: Option<String>,
    new_status: Option<String>,
    actor: &str,
) -> Result<(), StoreError> {
    let event = TriggerEvent {
        id: 0,
        kind: kind.to_string(),
        mapping: Some(mapping.name().to_string()),
        person: person.to_string(),
        campaign_id: Some(mapping.config.campaign_id.clone()),
        program_id: Some(mapping.config.program_id),
        old_status,
        new_status,
        actor: actor.to_string(),
        occurred_at: now_millis(),
    };
    metrics::counter!("trigger_events_total", "kind" => kind.to_string()).increment(1);
    worker
        .inner
        .store
        .record_trigger_event(&event)
        .await
        .map(|_| ())
}

#[expect(
    clippy::too_many_arguments,
    reason = "one row's columns, named at each call"
)]
pub async fn outcome(
    worker: &Worker,
    signal: Option<i64>,
    mapping: Option<&str>,
    person: Option<&str>,
    connector: &str,
    action: &str,
    result: OutcomeResult,
    reason: Option<&str>,
) -> Result<(), StoreError> {
    metrics::counter!("sync_outcomes_total", "result" => result.as_str(), "connector" => connector.to_string()).increment(1);
    let row = Outcome {
        id: 0,
        signal_id: signal,
        mapping: mapping.map(str::to_string),
        person: person.map(str::to_string),
        connector: connector.to_string(),
        action: action.to_string(),
        result: result.as_str().to_string(),
        reason: reason.map(str::to_string),
        recorded_at: now_millis(),
    };
    worker.inner.store.record_outcome(&row).await.map(|_| ())
}

/// Ends each signal: done, due again after the retry schedule's next delay, or dead.
pub async fn settle(
    worker: &Worker,
    settled: Vec<Settled>,
    report: &mut RoundReport,
) -> Result<(), StoreError> {
    let store = &worker.inner.store;
    let owner = worker.inner.owner.as_str();
    let config = &worker.inner.config.worker;
    for (id, attempts, result) in settled {
        let now = now_millis();
        match result {
            Ok(()) => {
                store.complete(id, owner, now).await?;
                report.completed += 1;
            }
            Err(error) => {
                let hint = match &error {
                    CallError::Retry { after, .. } => *after,
                    _ => None,
                };
                let delay = error
                    .is_retryable()
                    .then(|| {
                        next_delay(
                            &config.retry_schedule_secs,
                            attempts,
                            config.retry_jitter_percent,
                            rand::random::<f64>(),
                            hint,
                        )
                    })
                    .flatten();
                match delay {
                    Some(delay) => {
                        let at = now + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2);
                        tracing::info!(signal.id = id, attempts, %error, retry_in_ms = delay.as_millis() as u64, "will retry");
                        store
                            .retry_at(id, owner, at, &error.to_string(), now)
                            .await?;
                        report.retried += 1;
                    }
                    None => {
                        let reason = if error.is_retryable() {
                            format!("gave up after {attempts} attempts: {error}")
                        } else {
                            error.to_string()
                        };
                        tracing::warn!(signal.id = id, %reason, "dead");
                        store.bury(id, owner, &reason, now).await?;
                        outcome(
                            worker,
                            Some(id),
                            None,
                            None,
                            "none",
                            "none",
                            OutcomeResult::Dead,
                            Some(&reason),
                        )
                        .await?;
                        report.dead += 1;
                    }
                }
            }
        }
    }
    Ok(())
}
