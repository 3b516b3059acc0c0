//! Recording what a round did, into a [`Journal`] committed once: each person's mirror row,
//! outcome and trigger event, and each signal's end — done, due again later, or dead.

use crate::config::WorkerConfig;
use crate::connectors::CallError;
use crate::store::{
    Claimed, Journal, MirrorRow, Outcome, OutcomeResult, SignalEnd, StoreError, TriggerEvent,
    now_millis,
};
use crate::sync::Decision;

use super::identity::salesforce_id;
use super::mappings::Mapping;
use super::retry::next_delay;
use super::round::{Done, PersonWork};
use super::{RoundReport, Worker};

/// A signal's result: `(id, attempts, outcome)`.
pub type Settled = (i64, i64, Result<(), CallError>);

/// How long a disabled or held mapping's signals wait before they are looked at again.
const POSTPONE_MS: i64 = 5_000;

/// Commits what a round (or a scheduled pass) recorded, in one transaction.
pub async fn commit(worker: &Worker, journal: &Journal) -> Result<(), StoreError> {
    worker
        .inner
        .store
        .commit_journal(&worker.inner.owner, journal, now_millis())
        .await
}

pub fn unmapped(journal: &mut Journal, item: &Claimed, reason: &str) {
    outcome(
        journal,
        Some(item.id),
        None,
        None,
        ("none", "none"),
        OutcomeResult::Skipped,
        Some(reason),
    );
}

pub fn postpone(journal: &mut Journal, item: &Claimed) {
    journal.ends.push(SignalEnd::Postpone {
        id: item.id,
        at: now_millis() + POSTPONE_MS,
    });
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

/// Mirror, outcome and trigger event for one person; returns the new mirror row. A failed
/// write leaves the mirror as it was, so the retry sees the change again.
pub fn person(journal: &mut Journal, mapping: &Mapping, work: &PersonWork) -> Option<MirrorRow> {
    let Some(Ok(done)) = &work.outcome else {
        return None;
    };
    let person = work.person_key();
    let old = work.mirror.clone();
    let old_sf = old.as_ref().and_then(|m| m.sf_status.clone());
    let old_mk = old.as_ref().and_then(|m| m.mkto_status.clone());
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
    let (target, event) = match &work.decision {
        Decision::SetMarketo(status) if applied => {
            row.mkto_status = Some(status.clone());
            let kind = if old_mk.is_none() {
                "added_to_program"
            } else {
                "program_status_changed"
            };
            (
                ("marketo", "set_status"),
                Some((kind, old_mk, Some(status.clone()))),
            )
        }
        Decision::RemoveFromMarketo if gone => {
            row.mkto_status = None;
            (
                ("marketo", "remove_member"),
                applied.then_some(("removed_from_program", old_mk, None)),
            )
        }
        Decision::SetSalesforce(label) if applied => {
            row.sf_status = Some(label.clone());
            let kind = if old_sf.is_none() {
                "added_to_campaign"
            } else {
                "campaign_status_changed"
            };
            (
                ("salesforce", "set_status"),
                Some((kind, old_sf, Some(label.clone()))),
            )
        }
        Decision::RemoveFromSalesforce if gone => {
            row.sf_status = None;
            (
                ("salesforce", "remove_member"),
                applied.then_some(("removed_from_campaign", old_sf, None)),
            )
        }
        Decision::SetMarketo(_) | Decision::RemoveFromMarketo => (("marketo", "set_status"), None),
        Decision::SetSalesforce(_) | Decision::RemoveFromSalesforce => {
            (("salesforce", "set_status"), None)
        }
        Decision::Skip(_) => (("none", "none"), None),
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
    row.synced_at = now_millis();
    journal.mirrors.push(row.clone());
    let (result, reason) = match done {
        Done::Applied => (OutcomeResult::Applied, None),
        Done::Skipped(reason) => (OutcomeResult::Skipped, Some(reason.as_str())),
        Done::Diverged(reason) => (OutcomeResult::Diverged, Some(reason.as_str())),
    };
    let signal = work.signals.first().map(|s| s.0);
    outcome(
        journal,
        signal,
        Some(mapping.name()),
        Some(&person),
        target,
        result,
        reason,
    );
    if let Some((kind, old_status, new_status)) = event {
        trigger(
            journal,
            mapping,
            &person,
            kind,
            (old_status, new_status),
            work.actor,
        );
    }
    if work.reset_applied {
        let before = work.sf.as_ref().and_then(|o| o.status.clone());
        trigger(
            journal,
            mapping,
            &person,
            "campaign_status_changed",
            (before, work.reset_to.clone()),
            "campaign-sync",
        );
    }
    Some(row)
}

fn trigger(
    journal: &mut Journal,
    mapping: &Mapping,
    person: &str,
    kind: &str,
    (old_status, new_status): (Option<String>, Option<String>),
    actor: &str,
) {
    metrics::counter!("trigger_events_total", "kind" => kind.to_string()).increment(1);
    journal.events.push(TriggerEvent {
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
    });
}

/// One outcome row; `target` is `(connector, action)`.
pub fn outcome(
    journal: &mut Journal,
    signal: Option<i64>,
    mapping: Option<&str>,
    person: Option<&str>,
    (connector, action): (&str, &str),
    result: OutcomeResult,
    reason: Option<&str>,
) {
    metrics::counter!("sync_outcomes_total", "result" => result.as_str(), "connector" => connector.to_string()).increment(1);
    journal.outcomes.push(Outcome {
        id: 0,
        signal_id: signal,
        mapping: mapping.map(str::to_string),
        person: person.map(str::to_string),
        connector: connector.to_string(),
        action: action.to_string(),
        result: result.as_str().to_string(),
        reason: reason.map(str::to_string),
        recorded_at: now_millis(),
    });
}

/// Ends each signal: done, due again after the retry schedule's next delay, or dead.
pub fn settle(
    journal: &mut Journal,
    config: &WorkerConfig,
    settled: Vec<Settled>,
    report: &mut RoundReport,
) {
    let now = now_millis();
    for (id, attempts, result) in settled {
        let error = match result {
            Ok(()) => {
                journal.ends.push(SignalEnd::Done(id));
                report.completed += 1;
                continue;
            }
            Err(error) => error,
        };
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
                tracing::info!(signal.id = id, attempts, %error, retry_in_ms = delay.as_millis() as u64, "will retry");
                let at = now + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2);
                journal.ends.push(SignalEnd::Retry {
                    id,
                    at,
                    error: error.to_string(),
                });
                report.retried += 1;
            }
            None => {
                let reason = if error.is_retryable() {
                    format!("gave up after {attempts} attempts: {error}")
                } else {
                    error.to_string()
                };
                tracing::warn!(signal.id = id, %reason, "dead");
                outcome(
                    journal,
                    Some(id),
                    None,
                    None,
                    ("none", "none"),
                    OutcomeResult::Dead,
                    Some(&reason),
                );
                journal.ends.push(SignalEnd::Dead { id, reason });
                report.dead += 1;
            }
        }
    }
}

/// Records a single outcome outside a round (scheduled passes).
pub async fn outcome_now(
    worker: &Worker,
    mapping: &str,
    target: (&str, &str),
    result: OutcomeResult,
    reason: &str,
) -> Result<(), StoreError> {
    let mut journal = Journal::default();
    outcome(
        &mut journal,
        None,
        Some(mapping),
        None,
        target,
        result,
        Some(reason),
    );
    commit(worker, &journal).await
}
