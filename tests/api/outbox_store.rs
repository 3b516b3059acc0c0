//! The outbox in the store, on SQLite and PostgreSQL: rows written with the event in the
//! journal's transaction, operational notices, one head per person and destination, replay, and
//! leases that only their holder ends.

use campaign_sync::kinds::{Actor, OperationalEvent, TriggerKind};
use campaign_sync::store::{
    Attempt, Journal, Notice, Queue, TO_MARKETO_ACTIVITY, TO_MARKETO_REQUEST, TO_SUBSCRIPTION,
    TriggerEvent, now_millis,
};
use serde_json::json;

use crate::test_app::TestDb;

pub(crate) fn event(person: &str, kind: TriggerKind, status: &str) -> TriggerEvent {
    TriggerEvent {
        id: 0,
        kind,
        mapping: Some("webinar".into()),
        person: person.into(),
        campaign_id: Some("701000000000001AAA".into()),
        program_id: Some(1001),
        old_status: None,
        new_status: Some(status.into()),
        actor: Actor::Salesforce,
        occurred_at: now_millis(),
        marketo_twin: false,
    }
}

#[tokio::test]
async fn events_and_notices_reach_the_outbox_in_order_per_person() {
    for db in TestDb::all().await {
        let store = db.store().await;
        let types = [
            "added_to_program",
            "program_status_changed",
            "signal_dead",
            "mapping_held",
        ]
        .map(String::from);
        let sub = store
            .create_subscription("http://127.0.0.1:9/hook", &types, "whsec_x", now_millis())
            .await
            .unwrap();
        let other = ["removed_from_program".to_string()];
        store
            .create_subscription("http://127.0.0.1:9/other", &other, "whsec_y", now_millis())
            .await
            .unwrap();
        let journal = Journal {
            events: vec![
                event("1", TriggerKind::AddedToProgram, "Invited"),
                event("1", TriggerKind::ProgramStatusChanged, "Registered"),
                event("2", TriggerKind::AddedToProgram, "Invited"),
            ],
            notices: vec![Notice {
                kind: OperationalEvent::SignalDead,
                key: "signal:9".into(),
                data: json!({ "signal_id": 9, "reason": "gave up" }),
                at: now_millis(),
            }],
            ..Journal::default()
        };
        store
            .commit_journal("me", &journal, now_millis())
            .await
            .unwrap();
        let problems = vec!["status \"Waitlisted\" has no Salesforce label".to_string()];
        for _ in 0..2 {
            store
                .set_mapping_problems("webinar", &problems, now_millis())
                .await
                .unwrap();
        }
        store
            .set_mapping_problems("webinar", &[], now_millis())
            .await
            .unwrap();

        let heads = store
            .claim_deliveries(now_millis(), 30_000, 100)
            .await
            .unwrap();
        let to_sub: Vec<(&str, &str)> = heads
            .iter()
            .filter(|d| d.destination == TO_SUBSCRIPTION)
            .map(|d| (d.person.as_str(), d.event_type.as_str()))
            .collect();
        assert_eq!(
            to_sub,
            [
                ("1", "added_to_program"),
                ("2", "added_to_program"),
                ("signal:9", "signal_dead"),
                ("mapping:webinar", "mapping_held"),
            ],
            "{}: one head per person, the held mapping once",
            db.label
        );
        assert!(
            heads
                .iter()
                .all(|d| d.subscription_id.is_none_or(|id| id == sub.id))
        );
        let marketo = heads
            .iter()
            .filter(|d| d.destination == TO_MARKETO_ACTIVITY)
            .count();
        assert_eq!(marketo, 2, "{}: persons 1 and 2", db.label);
        assert!(
            store
                .claim_deliveries(now_millis(), 30_000, 100)
                .await
                .unwrap()
                .is_empty(),
            "{}: leased heads hold their queues",
            db.label
        );
        for delivery in &heads {
            let attempt = if delivery.person == "2" {
                Attempt::Dead {
                    reason: "refused".into(),
                }
            } else {
                Attempt::Delivered
            };
            store
                .finish_delivery(delivery, &attempt, now_millis())
                .await
                .unwrap();
        }
        let next = store
            .claim_deliveries(now_millis(), 30_000, 100)
            .await
            .unwrap();
        let next: Vec<_> = next
            .iter()
            .filter(|d| d.destination == TO_SUBSCRIPTION)
            .map(|d| d.event_type.as_str())
            .collect();
        assert_eq!(next, ["program_status_changed"], "{}", db.label);
        let dead = store
            .deliveries(Queue::subscription(sub.id), Some("dead"), 0, 10)
            .await
            .unwrap();
        assert_eq!(dead.len(), 1, "{}", db.label);
        assert_eq!(dead[0].payload["data"]["person"], "2");
        assert_eq!(
            store
                .replay_deliveries(Queue::subscription(sub.id), None, now_millis())
                .await
                .unwrap(),
            1
        );
        assert!(
            store
                .deliveries(Queue::subscription(sub.id), Some("dead"), 0, 10)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(store.delete_subscription(sub.id).await.unwrap());
        assert!(
            store
                .deliveries(Queue::subscription(sub.id), None, 0, 10)
                .await
                .unwrap()
                .is_empty()
        );
    }
}

#[tokio::test]
async fn ended_deliveries_are_purged_after_the_retention_and_dead_ones_stay() {
    for db in TestDb::all().await {
        let store = db.store().await;
        let types = ["added_to_program".to_string()];
        let sub = store
            .create_subscription("http://127.0.0.1:9/hook", &types, "whsec_x", now_millis())
            .await
            .unwrap();
        let journal = Journal {
            events: vec![
                event("1", TriggerKind::AddedToProgram, "Invited"),
                event("2", TriggerKind::AddedToProgram, "Invited"),
            ],
            ..Journal::default()
        };
        store
            .commit_journal("me", &journal, now_millis())
            .await
            .unwrap();
        let heads = store
            .claim_deliveries(now_millis(), 30_000, 100)
            .await
            .unwrap();
        let ended = now_millis();
        for delivery in heads.iter().filter(|d| d.destination == TO_SUBSCRIPTION) {
            let attempt = if delivery.person == "2" {
                Attempt::Dead {
                    reason: "refused".into(),
                }
            } else {
                Attempt::Delivered
            };
            store
                .finish_delivery(delivery, &attempt, ended)
                .await
                .unwrap();
        }
        let queue = || Queue::subscription(sub.id);
        assert_eq!(
            store.purge_delivered(ended).await.unwrap(),
            0,
            "{}",
            db.label
        );
        assert_eq!(
            store.purge_delivered(ended + 1).await.unwrap(),
            1,
            "{}",
            db.label
        );
        let left = store.deliveries(queue(), None, 0, 10).await.unwrap();
        let states: Vec<_> = left.iter().map(|d| d.state.as_str()).collect();
        assert_eq!(states, ["dead"], "{}: the dead delivery stays", db.label);
    }
}

#[tokio::test]
async fn only_the_claim_holding_the_lease_records_its_attempt() {
    for db in TestDb::all().await {
        let store = db.store().await;
        let types = ["added_to_program".to_string()];
        store
            .create_subscription("http://127.0.0.1:9/hook", &types, "whsec_x", now_millis())
            .await
            .unwrap();
        let journal = Journal {
            events: vec![event("1", TriggerKind::AddedToProgram, "Invited")],
            ..Journal::default()
        };
        store
            .commit_journal("me", &journal, now_millis())
            .await
            .unwrap();
        let start = now_millis();
        let subscribed = |claimed: Vec<campaign_sync::store::Delivery>| -> Vec<_> {
            claimed
                .into_iter()
                .filter(|d| d.destination == TO_SUBSCRIPTION)
                .collect()
        };
        let first = subscribed(store.claim_deliveries(start, 1_000, 100).await.unwrap());
        assert_eq!(first.len(), 1, "{}", db.label);
        // The first claim's lease runs out mid-attempt; another replica claims the delivery.
        let second = subscribed(
            store
                .claim_deliveries(start + 2_000, 300_000, 100)
                .await
                .unwrap(),
        );
        assert_eq!(second.len(), 1, "{}", db.label);
        let delivered = Attempt::Delivered;
        assert!(
            store
                .finish_delivery(&second[0], &delivered, start + 3_000)
                .await
                .unwrap(),
            "{}",
            db.label
        );
        let late = Attempt::Retry {
            at: start + 60_000,
            error: "timed out".into(),
        };
        assert!(
            !store
                .finish_delivery(&first[0], &late, start + 11_000)
                .await
                .unwrap(),
            "{}: the expired claim records nothing",
            db.label
        );
        let sub = second[0].subscription_id.unwrap();
        let rows = store
            .deliveries(Queue::subscription(sub), None, 0, 10)
            .await
            .unwrap();
        assert_eq!(rows[0].state, "delivered", "{}", db.label);
    }
}

/// Marketo's rows gather on either backend: ready once the earliest has been due for the
/// gather time, or once a full call's worth is due; a claimed row is not counted.
#[tokio::test]
async fn marketo_rows_are_ready_when_gathered_on_every_backend() {
    for db in TestDb::all().await {
        let store = db.store().await;
        let label = &db.label;
        let journal = Journal {
            events: vec![
                event("1", TriggerKind::AddedToProgram, "Invited"),
                event("2", TriggerKind::AddedToProgram, "Invited"),
            ],
            ..Journal::default()
        };
        store
            .commit_journal("w", &journal, now_millis())
            .await
            .unwrap();
        let now = now_millis();
        let ready = |at: i64, full: u32| store.gathered(TO_MARKETO_ACTIVITY, at, 2_000, full);
        assert!(!ready(now, 300).await.unwrap(), "{label}: just queued");
        assert!(ready(now, 2).await.unwrap(), "{label}: a full call's worth");
        assert!(ready(now + 2_000, 300).await.unwrap(), "{label}: waited");
        let claimed = store
            .claim_deliveries_to(Some(TO_MARKETO_ACTIVITY), now + 2_000, 60_000, 10)
            .await
            .unwrap();
        assert_eq!(claimed.len(), 2, "{label}");
        assert!(
            !ready(now + 2_000, 300).await.unwrap(),
            "{label}: leased rows are not waiting"
        );
        // A person's later change waits behind their earlier one's retry, however old.
        let journal = Journal {
            events: vec![
                event("3", TriggerKind::AddedToProgram, "Invited"),
                event("3", TriggerKind::ProgramStatusChanged, "Registered"),
            ],
            ..Journal::default()
        };
        store.commit_journal("w", &journal, now).await.unwrap();
        let head = store
            .claim_deliveries_to(Some(TO_MARKETO_ACTIVITY), now, 60_000, 10)
            .await
            .unwrap();
        assert_eq!(head.len(), 1, "{label}: the head of person 3's queue");
        let retry = Attempt::Retry {
            at: now + 3_600_000,
            error: "Marketo 604".into(),
        };
        store.finish_delivery(&head[0], &retry, now).await.unwrap();
        assert!(
            !ready(now + 10_000, 300).await.unwrap(),
            "{label}: nothing a claim could take"
        );
    }
}

/// A round's batches are claimed together, each destination in its own size, and a batch's
/// leased rows are not claimed again by the next round.
#[tokio::test]
async fn a_rounds_batches_are_claimed_together_each_in_its_own_size() {
    for db in TestDb::all().await {
        let store = db.store().await;
        let label = &db.label;
        let types = ["added_to_program".to_string()];
        store
            .create_subscription("http://127.0.0.1:9/hook", &types, "whsec_x", now_millis())
            .await
            .unwrap();
        let journal = Journal {
            events: vec![
                event("1", TriggerKind::AddedToProgram, "Invited"),
                event("2", TriggerKind::AddedToProgram, "Invited"),
            ],
            ..Journal::default()
        };
        let now = now_millis();
        store.commit_journal("w", &journal, now).await.unwrap();
        let batches = [
            (Some(TO_SUBSCRIPTION), 1, 60_000),
            (Some(TO_MARKETO_ACTIVITY), 10, 60_000),
            (Some(TO_MARKETO_REQUEST), 10, 60_000),
        ];
        let sizes = |claimed: Vec<Vec<campaign_sync::store::Delivery>>| {
            claimed.iter().map(Vec::len).collect::<Vec<_>>()
        };
        let first = store.claim_batches(&batches, now).await.unwrap();
        assert!(
            first[0].iter().all(|d| d.destination == TO_SUBSCRIPTION)
                && first[1]
                    .iter()
                    .all(|d| d.destination == TO_MARKETO_ACTIVITY),
            "{label}: each batch holds its own destination"
        );
        assert_eq!(sizes(first), [1, 2, 2], "{label}: first round");
        let second = store.claim_batches(&batches, now).await.unwrap();
        assert_eq!(
            sizes(second),
            [1, 0, 0],
            "{label}: only what was not leased"
        );
        let third = store.claim_batches(&batches, now).await.unwrap();
        assert_eq!(sizes(third), [0, 0, 0], "{label}: nothing left");
    }
}
