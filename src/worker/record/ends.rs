//! Each signal's end after a round: done, postponed while a side is paused, due again after
//! the retry schedule's next delay, or dead with its reason.

use crate::config::WorkerConfig;
use crate::store::{Journal, SignalEnd, now_millis};

use super::super::retry::next_delay;
use super::super::work::{SignalRef, SignalResult, WorkError};
use super::{RoundReport, dead_about, named_reason};

/// Ends each signal: done, due again after the retry schedule's next delay, or dead.
pub fn settle(
    journal: &mut Journal,
    config: &WorkerConfig,
    results: Vec<SignalResult>,
    report: &mut RoundReport,
) {
    let now = now_millis();
    // Changes a paused side holds back: one line a round, not one a change (a burst during a
    // pause is thousands).
    let mut postponed: Option<(usize, String)> = None;
    for SignalResult {
        signal,
        result,
        about,
        target,
    } in results
    {
        let SignalRef { id, attempts } = signal;
        let error = match result {
            Ok(()) => {
                journal.ends.push(SignalEnd::Done(id));
                report.completed += 1;
                continue;
            }
            Err(error) => error,
        };
        // Kept on the signal while it fails or waits: the errors list and its last outcome
        // still name the person once the mirror no longer does (a deletion names only its
        // member).
        if let Some(about) = &about {
            journal.people.push((id, about.person.clone()));
        }
        if let Some(until) = error.paused_until() {
            // A side is paused (its daily quota used up, or its credentials refused): the change
            // waits like a disabled mapping's, without using an attempt (`catch_up` makes it due
            // when the pause ends). The error says which pause and until when.
            tracing::debug!(signal.id = id, %error, "postponed while the side is paused");
            let (count, _) = postponed.get_or_insert_with(|| (0, error.to_string()));
            *count += 1;
            journal.ends.push(SignalEnd::Postpone {
                id,
                at: until,
                why: error.to_string(),
            });
            report.retried += 1;
            continue;
        }
        // A read that failed is named apart from the write it was for, whether the change is
        // tried again or dead: either list says which object failed.
        let (reading, failed) = match &error {
            WorkError::Read { reading, error } => (Some(*reading), error.to_string()),
            other => (None, other.to_string()),
        };
        match retry_delay(config, attempts, &error) {
            Some(delay) => {
                let mapping = about.as_ref().and_then(|a| a.mapping.as_deref());
                let person = about.as_ref().map(|a| a.person.as_str());
                // Logged as the retrying list names it: what was being read or written.
                let error = named_reason(failed, about.as_ref(), target, reading);
                tracing::info!(signal.id = id, mapping, person, attempts, %error, retry_in_ms = delay.as_millis() as u64, "will retry");
                let at = now + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2);
                journal.ends.push(SignalEnd::Retry { id, at, error });
                report.retried += 1;
            }
            None => {
                let reason = if error.is_retryable() {
                    crate::connectors::gave_up(attempts, &failed)
                } else {
                    failed
                };
                dead_about(journal, id, reason, about.as_ref(), target, reading);
                report.dead += 1;
            }
        }
    }
    if let Some((count, why)) = postponed {
        tracing::info!(postponed = count, %why, "changes postponed while a side is paused");
    }
}

fn retry_delay(
    config: &WorkerConfig,
    attempts: i64,
    error: &WorkError,
) -> Option<std::time::Duration> {
    if !error.is_retryable() {
        return None;
    }
    next_delay(
        &config.retry_schedule_secs,
        attempts,
        config.retry_jitter_percent,
        rand::random::<f64>(),
        error.retry_after(),
    )
}
