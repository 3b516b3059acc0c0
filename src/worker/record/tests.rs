//! The round's records: a dead signal announced to subscribers, its outcome naming what it concerned.

use super::*;

#[test]
fn a_dead_signal_is_announced_to_subscribers() {
    let mut journal = Journal::default();
    dead(&mut journal, 7, "gave up".into());
    assert_eq!(journal.notices.len(), 1);
    assert_eq!(journal.notices[0].kind, OperationalEvent::SignalDead);
    assert_eq!(journal.notices[0].key, "signal:7");
    assert_eq!(journal.notices[0].data["reason"], "gave up");
    assert!(journal.notices[0].data["mapping"].is_null());
    let about = About {
        mapping: Some("webinar".into()),
        person: "12".into(),
        status: None,
    };
    dead_about(
        &mut journal,
        8,
        "refused".into(),
        Some(&about),
        Target::NONE,
        None,
    );
    let named = &journal.notices[1].data;
    assert_eq!(
        (&named["mapping"], &named["person"]),
        (&serde_json::json!("webinar"), &serde_json::json!("12"))
    );
}

#[test]
fn a_pause_is_announced_once_and_postpones_without_an_attempt() {
    let config = crate::config::WorkerConfig::default();
    let until = 4_102_444_800_000;
    let paused = crate::connectors::CallError::Paused {
        reason: "Marketo daily quota (607)".into(),
        until_ms: until,
    };
    let results: Vec<SignalResult> = (1..=3)
        .map(|id| SignalResult::new(SignalRef { id, attempts: 1 }, Err(paused.clone().into())))
        .collect();
    let mut journal = Journal::default();
    let mut report = RoundReport::default();
    settle(&mut journal, &config, results, &mut report);
    let quota = crate::quota::Quota::default();
    quota.marketo.pause(until, "Marketo daily quota (607)");
    announce_pauses(&mut journal, [&quota.marketo, &quota.salesforce]);
    announce_pauses(&mut journal, [&quota.marketo, &quota.salesforce]);
    assert_eq!(journal.notices.len(), 1, "one announcement for one pause");
    assert_eq!(journal.notices[0].kind, OperationalEvent::SidePaused);
    let data = &journal.notices[0].data;
    assert_eq!(
        (&data["system"], &data["side"], &data["until_ms"]),
        (
            &serde_json::json!("marketo"),
            &serde_json::json!("marketo"),
            &serde_json::json!(until)
        ),
        "{data}"
    );
    assert!(journal.ends.iter().all(|end| matches!(
        end,
        SignalEnd::Postpone {
            at: 4_102_444_800_000,
            ..
        }
    )));
}

#[test]
fn an_addition_is_said_as_one() {
    let event = |kind, status: Option<&str>| Event {
        kind,
        old_status: None,
        new_status: status.map(str::to_string),
        actor: crate::kinds::Actor::Marketo,
    };
    assert_eq!(
        added(&[event(TriggerKind::AddedToCampaign, Some("Registered"))]).as_deref(),
        Some("added to the campaign as Registered")
    );
    assert_eq!(
        added(&[event(TriggerKind::AddedToProgram, Some("Invited"))]).as_deref(),
        Some("added to the program as Invited")
    );
    assert_eq!(
        added(&[event(TriggerKind::CampaignStatusChanged, Some("Attended"))]),
        None
    );
}

/// The log's `dead` line names what was being written, as the dead letter does (it gave the
/// bare error: someone reading only the logs could not tell which write failed).
#[test]
fn a_dead_signal_is_logged_with_what_was_being_written() {
    let about = About {
        mapping: Some("webinar".into()),
        person: "12".into(),
        status: Some("Registered".into()),
    };
    let ((), text) = crate::telemetry::logged(|| {
        let mut journal = Journal::default();
        dead_about(
            &mut journal,
            9,
            "FIELD_CUSTOM_VALIDATION_EXCEPTION: refused".into(),
            Some(&about),
            Target::new(Connector::Salesforce, Action::SetStatus),
            None,
        );
    });
    assert!(
        text.contains("dead")
            && text.contains(
                "reason=writing the Salesforce campaign member to \"Registered\" (mapping webinar)"
            ),
        "{text}"
    );
}

/// `sync_outcomes_total` counts planned writes: not a reconciliation's own summary or warning,
/// though each is an outcome row.
#[test]
fn a_reconciliations_summary_is_no_planned_write() {
    use crate::kinds::{Action, Connector};
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let mut journal = Journal::default();
    metrics::with_local_recorder(&recorder, || {
        let summary = Target::new(Connector::None, Action::Reconcile);
        outcome(
            &mut journal,
            None,
            Some("webinar"),
            None,
            summary,
            OutcomeResult::Applied,
            None,
        );
        let write = Target::new(Connector::Salesforce, Action::SetStatus);
        outcome(
            &mut journal,
            Some(1),
            Some("webinar"),
            None,
            write,
            OutcomeResult::Applied,
            None,
        );
    });
    assert_eq!(journal.outcomes.len(), 2);
    let text = handle.render();
    assert!(
        text.contains("sync_outcomes_total{result=\"applied\",connector=\"salesforce\"} 1"),
        "{text}"
    );
    assert!(!text.contains("connector=\"none\""), "{text}");
}

/// A burst held back by a paused side is said once a round, not once a change.
#[test]
fn changes_postponed_by_a_pause_are_logged_once_a_round() {
    use crate::connectors::CallError;
    use crate::worker::work::{SignalRef, SignalResult, WorkError};
    let paused = |id| SignalResult {
        signal: SignalRef { id, attempts: 1 },
        result: Err(WorkError::Call(CallError::Paused {
            reason: "marketo daily call budget of 330 used up".into(),
            until_ms: 4_000_000_000_000,
        })),
        about: None,
        target: Target::NONE,
    };
    let mut journal = Journal::default();
    let mut report = RoundReport::default();
    let config = crate::config::WorkerConfig::default();
    let ((), log) = crate::telemetry::logged(|| {
        ends::settle(
            &mut journal,
            &config,
            (1..=3).map(paused).collect(),
            &mut report,
        );
    });
    assert_eq!(journal.ends.len(), 3);
    assert_eq!(
        log.matches("changes postponed while a side is paused")
            .count(),
        1,
        "{log}"
    );
    assert!(log.contains("postponed=3"), "{log}");
}
