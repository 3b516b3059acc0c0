//! Step 6, record: what a round did, into a [`Journal`] committed once — each person's mirror
//! row, outcome and trigger events (as `sync::settle` decides them), and each signal's end:
//! done, due again later, or dead.

use crate::kinds::{Action, Connector, OperationalEvent, OutcomeResult, Target, TriggerKind};
use crate::store::{Journal, Notice, Outcome, SignalEnd, StoreError, TriggerEvent, now_millis};
use crate::sync::{self, Ended, Event};

use super::context::Context;
use super::work::{About, SignalRef, SignalResult, Work};
use crate::mappings::Mapping;

mod ends;
mod overruled;
mod pauses;
mod woken;

pub use ends::settle;
use overruled::{adopt, overruled};
pub use pauses::announce_pauses;
pub use woken::wake_retrying;

/// How long a disabled or held mapping's signals wait before they are looked at again. Turning
/// a switch on (any replica), a hold clearing at its next check and a worker taking the lead
/// make them due at once; this only bounds how often a long-off mapping's backlog is re-claimed.
const POSTPONE_MS: i64 = 60_000;

/// Counts of one round, for tests and logs.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RoundReport {
    pub claimed: usize,
    pub completed: usize,
    pub retried: usize,
    pub dead: usize,
}

impl RoundReport {
    pub fn add(&mut self, other: RoundReport) {
        self.claimed += other.claimed;
        self.completed += other.completed;
        self.retried += other.retried;
        self.dead += other.dead;
    }
}

/// Commits what a round (or a scheduled pass) recorded, in one transaction.
pub async fn commit(ctx: &Context, journal: &Journal) -> Result<(), StoreError> {
    ctx.store
        .commit_journal(&ctx.owner, journal, now_millis())
        .await
}

/// Hands a signal back without using an attempt while `why` holds (a mapping off or held).
pub fn postpone(journal: &mut Journal, signal: SignalRef, why: &str) {
    journal.ends.push(SignalEnd::Postpone {
        id: signal.id,
        at: now_millis() + POSTPONE_MS,
        why: why.to_string(),
    });
}

/// Hands a signal back for the next round, without using an attempt: an earlier change of the
/// same person goes first.
pub fn next_round(journal: &mut Journal, signal: SignalRef) {
    journal.ends.push(SignalEnd::Postpone {
        id: signal.id,
        at: now_millis(),
        why: "an earlier change of the same person goes first".into(),
    });
}

/// Each of a person's signals ends as the person's write did.
pub fn signal_results<'a>(
    mapping: &'a Mapping,
    works: &'a [Work],
) -> impl Iterator<Item = SignalResult> + 'a {
    works.iter().flat_map(move |w| {
        let result = match &w.outcome {
            Some(Err(error)) => Err(error.clone()),
            _ => Ok(()),
        };
        // A failed reset is a failed Salesforce write, whatever Marketo's write did.
        let (target, status) = match (&w.reset, &w.outcome) {
            (Some(reset), Some(Err(_))) => (
                Target::new(Connector::Salesforce, Action::SetStatus),
                Some(reset.to.clone()),
            ),
            _ => (w.decision.target(), w.decision.status().map(str::to_string)),
        };
        let about = About {
            mapping: Some(mapping.name().to_string()),
            person: w.person.key(),
            status,
        };
        w.person.signals.iter().map(move |&signal| SignalResult {
            signal,
            result: result.clone(),
            about: Some(about.clone()),
            target,
        })
    })
}

/// Mirror, outcome and trigger events for one person; returns the new mirror row. A failed
/// write leaves the mirror as it was, so the retry sees the change again.
pub fn person(
    journal: &mut Journal,
    mapping: &Mapping,
    work: &Work,
) -> Option<crate::store::MirrorRow> {
    let Some(Ok(done)) = &work.outcome else {
        return None;
    };
    let key = work.person.key();
    if work.left_alone {
        // A duplicate: its outcome alone, no mirror row (it is not a member of the mapping).
        let signal = work.person.signals.first().map(|s| s.id);
        let target = Target::NONE;
        let (result, reason) = (done.result(), done.reason());
        outcome(
            journal,
            signal,
            Some(mapping.name()),
            Some(&key),
            target,
            result,
            reason,
        );
        return None;
    }
    let settled = sync::settle(
        mapping.name(),
        &key,
        Ended {
            mirror: work.mirror.as_ref(),
            salesforce: work.person.sf.as_ref(),
            marketo: work.person.mk.as_ref(),
            decision: &work.decision,
            done,
            reset: work.reset.as_ref(),
            actor: work.actor,
            member_id: work.person.sf_member_id.as_deref(),
            person_id: work.member_person(),
            lead_id: work.identity().mkto_lead_id,
            sf_written_at: work.sf_written_at,
            was_member: work.was_member,
        },
        now_millis(),
    );
    tracing::debug!(
        signals = ?work.person.signals.iter().map(|s| s.id).collect::<Vec<_>>(),
        person = %key,
        decision = ?work.decision,
        result = done.result().as_str(),
        reason = done.reason(),
        "recorded"
    );
    // A person the sync never met who is a member on neither side has no state to keep: a row
    // would list them as synced, every status empty (a webhook for a lead the program lacks).
    let nothing_to_keep =
        work.mirror.is_none() && work.decision == sync::Decision::Skip(sync::NOT_A_MEMBER);
    if !nothing_to_keep {
        journal.mirrors.push(settled.row.clone());
    }
    let lost = overruled(journal, mapping, work, done);
    // The write's outcome goes with the winning side's signal when the round has one, else with
    // one of it waiting to be retried.
    let winner = work.person.signals.iter().find(|s| !lost.contains(&s.id));
    if let (None, Some(overruled)) = (winner, &work.overruled)
        && !lost.is_empty()
    {
        adopt(journal, mapping, work, overruled.side.other());
    }
    let signal = winner.or(work.person.signals.first()).map(|s| s.id);
    let written = done
        .reason()
        .map(str::to_string)
        .or_else(|| added(&settled.events))
        .or_else(|| applied(&work.decision));
    let written = work.noted(written).or_else(|| work.note.clone());
    outcome(
        journal,
        signal,
        Some(mapping.name()),
        Some(&key),
        settled.target,
        done.result(),
        written.as_deref(),
    );
    for event in settled.events {
        trigger(journal, Some(mapping), &key, None, event);
    }
    Some(settled.row)
}

/// An applied write that made the person a member, in the words of its trigger event.
fn added(events: &[Event]) -> Option<String> {
    events.iter().find_map(|event| {
        let side = match event.kind {
            TriggerKind::AddedToCampaign => "campaign",
            TriggerKind::AddedToProgram => "program",
            _ => return None,
        };
        Some(match &event.new_status {
            Some(status) => format!("added to the {side} as {status}"),
            None => format!("added to the {side}"),
        })
    })
}

/// What an applied write did, for the outcome's reason (which status was written).
fn applied(decision: &crate::sync::Decision) -> Option<String> {
    use crate::sync::Decision;
    match decision {
        Decision::SetMarketo(status) => Some(format!("set the program status to {status}")),
        Decision::SetSalesforce(status) => {
            Some(format!("set the campaign member status to {status}"))
        }
        Decision::RemoveFromMarketo => Some("removed from the program".into()),
        Decision::RemoveFromSalesforce => Some("removed from the campaign".into()),
        Decision::Skip(_) => None,
    }
}

/// A trigger event on a person; `campaign` names the campaign when no mapping does.
pub fn trigger(
    journal: &mut Journal,
    mapping: Option<&Mapping>,
    person: &str,
    campaign: Option<&str>,
    event: Event,
) {
    metrics::counter!("trigger_events_total", "kind" => event.kind.as_str()).increment(1);
    journal.events.push(TriggerEvent {
        id: 0,
        kind: event.kind,
        mapping: mapping.map(|m| m.name().to_string()),
        person: person.to_string(),
        campaign_id: mapping
            .map(|m| m.config.campaign_id.clone())
            .or(campaign.map(str::to_string)),
        program_id: mapping.map(|m| m.config.program_id),
        old_status: event.old_status,
        new_status: event.new_status,
        actor: event.actor,
        occurred_at: now_millis(),
        marketo_twin: false,
    });
}

/// One outcome row.
pub fn outcome(
    journal: &mut Journal,
    signal: Option<i64>,
    mapping: Option<&str>,
    person: Option<&str>,
    target: Target,
    result: OutcomeResult,
    reason: Option<&str>,
) {
    // A reconciliation's own summary and warnings are not planned writes.
    if target.action != crate::kinds::Action::Reconcile {
        metrics::counter!("sync_outcomes_total", "result" => result.as_str(), "connector" => target.connector.as_str()).increment(1);
    }
    journal.outcomes.push(Outcome {
        id: 0,
        signal_id: signal,
        mapping: mapping.map(str::to_string),
        person: person.map(str::to_string),
        connector: target.connector,
        action: target.action,
        result,
        reason: reason.map(str::to_string),
        recorded_at: now_millis(),
    });
}

/// A duplicate's changes (see `resolve`): skipped for the person, naming the duplicate.
pub fn passed_over(journal: &mut Journal, mapping: &str, passed: &[super::work::PassedOver]) {
    for passed in passed {
        outcome(
            journal,
            Some(passed.signal.id),
            Some(mapping),
            Some(&passed.person.to_string()),
            Target::NONE,
            OutcomeResult::Skipped,
            Some(&passed.reason),
        );
    }
}

/// Ends a signal as dead with its reason, and records the outcome.
pub fn dead(journal: &mut Journal, id: i64, reason: String) {
    dead_about(journal, id, reason, None, Target::NONE, None);
}

/// As [`dead`], naming the mapping and person when they are known.
/// A dead signal's outcome, naming the write it was to make when one was planned.
/// `reading`: what was being read when a read the write depended on failed.
/// `reason` named for what was being written (and in which mapping), so a failure says which
/// object failed, not only the system's words.
pub(super) fn named_reason(
    reason: String,
    about: Option<&About>,
    target: Target,
    reading: Option<&str>,
) -> String {
    let mapping = about.and_then(|a| a.mapping.as_deref());
    let status = about
        .and_then(|a| a.status.as_deref())
        .map(|s| format!(" to {s:?}"))
        .unwrap_or_default();
    match (target.doing(), mapping) {
        // "reading the Marketo program member (mapping webinar) before writing the Salesforce
        // campaign member to "Registered": gave up after 3 attempts: …"
        (doing, mapping) if reading.is_some() => {
            let mapping = mapping
                .map(|m| format!(" (mapping {m})"))
                .unwrap_or_default();
            let before = doing
                .map(|doing| format!(" before {doing}{status}"))
                .unwrap_or_default();
            format!("{}{mapping}{before}: {reason}", reading.unwrap_or_default())
        }
        (Some(doing), _) if reason.starts_with(doing) => reason,
        (Some(doing), Some(mapping)) => format!("{doing}{status} (mapping {mapping}): {reason}"),
        (Some(doing), None) => format!("{doing}{status}: {reason}"),
        (None, _) => reason,
    }
}

fn dead_about(
    journal: &mut Journal,
    id: i64,
    reason: String,
    about: Option<&About>,
    target: Target,
    reading: Option<&str>,
) {
    let mapping = about.and_then(|a| a.mapping.as_deref());
    let person = about.map(|a| a.person.as_str());
    let reason = named_reason(reason, about, target, reading);
    // Named by mapping and person (the key `/admin/people/{id}` and the timeline use), and
    // with what was being read or written, as the dead letter says it, so the log can be
    // searched by who a change was for and read without the API.
    tracing::warn!(signal.id = id, mapping, person, %reason, "dead");
    outcome(
        journal,
        Some(id),
        mapping,
        person,
        target,
        OutcomeResult::Dead,
        Some(&reason),
    );
    journal.notices.push(Notice {
        kind: OperationalEvent::SignalDead,
        key: format!("signal:{id}"),
        data: serde_json::json!({
            "signal_id": id,
            "reason": reason,
            "mapping": mapping,
            "person": person,
        }),
        at: now_millis(),
    });
    journal.ends.push(SignalEnd::Dead { id, reason });
}

/// Records a single outcome outside a round (scheduled passes).
pub async fn outcome_now(
    ctx: &Context,
    mapping: &str,
    target: Target,
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
    commit(ctx, &journal).await
}

#[cfg(test)]
mod tests;
