//! The store suite: every test runs on SQLite and, when its URL is set, on PostgreSQL.

use std::collections::HashSet;

use campaign_sync::signal::{Dedup, MarketoMember, NewSignal, RejectedInput, Signal};
use campaign_sync::store::{MirrorRow, Outcome, OutcomeResult, Store, TriggerEvent};

use crate::test_app::TestDb;

pub const LEASE: i64 = 30_000;
pub const T0: i64 = 1_700_000_000_000;

pub fn member(lead_id: i64, key: &str) -> NewSignal {
    member_of(lead_id, 1001, key)
}

/// A Marketo member signal (as the activity feed's: no e-mail, no status) of one program.
pub fn member_of(lead_id: i64, program_id: i64, key: &str) -> NewSignal {
    NewSignal::new(
        key.to_string(),
        Signal::MarketoMember(MarketoMember {
            lead_id,
            program_id,
            email: None,
            status: None,
            trigger: None,
        }),
    )
}

pub async fn stores() -> Vec<(TestDb, Store)> {
    let mut out = Vec::new();
    for db in TestDb::all().await {
        let store = db.store().await;
        out.push((db, store));
    }
    out
}

#[tokio::test]
async fn concurrent_records_with_the_same_key_keep_one() {
    for (db, store) in stores().await {
        let mut tasks = Vec::new();
        for i in 0..32 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                store.record(vec![member(i, "same-key")], T0).await.unwrap()
            }));
        }
        let mut ids = HashSet::new();
        let mut fresh = 0;
        for task in tasks {
            let recorded = task.await.unwrap();
            ids.insert(recorded[0].id);
            fresh += usize::from(!recorded[0].duplicate);
        }
        assert_eq!(ids.len(), 1, "{}: one row for one key", db.label);
        assert_eq!(fresh, 1, "{}: exactly one caller stored it", db.label);
        let claimed = store.claim("w", 100, LEASE, T0).await.unwrap();
        assert_eq!(claimed.len(), 1, "{}", db.label);
    }
}

#[tokio::test]
async fn one_call_is_one_transaction_and_duplicates_inside_it_collapse() {
    for (db, store) in stores().await {
        let recorded = store
            .record(vec![member(1, "a"), member(2, "b"), member(3, "a")], T0)
            .await
            .unwrap();
        assert_eq!(recorded.len(), 3);
        assert!(!recorded[0].duplicate && !recorded[1].duplicate);
        assert!(recorded[2].duplicate, "{}", db.label);
        assert_eq!(recorded[2].id, recorded[0].id);
    }
}

#[tokio::test]
async fn concurrent_group_committed_records_are_all_durable() {
    for (db, store) in stores().await {
        let mut tasks = Vec::new();
        for i in 0..200 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                store
                    .record(vec![member(i, &format!("k{i}"))], T0)
                    .await
                    .unwrap()
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        // A second connection (a fresh store on the same database) sees every row.
        let reopened = Store::connect(&db.url).await.unwrap();
        let claimed = reopened.claim("w", 1000, LEASE, T0).await.unwrap();
        assert_eq!(claimed.len(), 200, "{}", db.label);
    }
}

/// Concurrent callers whose rows need different statements (keys kept once, keys revived once
/// processed, refused inputs, repeats of a stored key) share the writer's groups: each caller
/// gets its own answer, and every row is stored once.
#[tokio::test]
async fn a_burst_of_mixed_signals_and_refused_inputs_gets_each_caller_its_answer() {
    for (db, store) in stores().await {
        let stored = store.record(vec![member(0, "stored")], T0).await.unwrap()[0].id;
        let mut tasks = Vec::new();
        for i in 1..=120_i64 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let recorded = match i % 4 {
                    0 => {
                        store
                            .record(vec![member(i, &format!("once-{i}"))], T0)
                            .await
                    }
                    1 => {
                        let mut signal = member(i, &format!("revive-{i}"));
                        signal.dedup = Dedup::WhilePending;
                        store.record(vec![signal], T0).await
                    }
                    2 => {
                        let refused = RejectedInput {
                            dedup_key: format!("refused-{i}"),
                            source: "salesforce",
                            kind: "salesforce_notification",
                            raw: format!("<notification {i}/>"),
                            reason: "no Status".into(),
                            names: Default::default(),
                        };
                        store
                            .record_with_rejected(Vec::new(), vec![refused], T0)
                            .await
                    }
                    _ => store.record(vec![member(i, "stored")], T0).await,
                };
                (i, recorded.unwrap())
            }));
        }
        let mut ids = HashSet::new();
        for task in tasks {
            let (i, recorded) = task.await.unwrap();
            match i % 4 {
                2 => assert!(
                    recorded.is_empty(),
                    "{}: refused inputs return no signal",
                    db.label
                ),
                3 => assert_eq!(
                    (recorded[0].id, recorded[0].duplicate),
                    (stored, true),
                    "{}: a stored key answers with its signal",
                    db.label
                ),
                _ => {
                    assert!(!recorded[0].duplicate, "{}: caller {i}", db.label);
                    assert!(
                        ids.insert(recorded[0].id),
                        "{}: ids are not shared",
                        db.label
                    );
                }
            }
        }
        let claimed = store.claim("w", 1000, LEASE, T0).await.unwrap();
        assert_eq!(
            claimed.len(),
            61,
            "{}: 60 new signals and the stored one",
            db.label
        );
        let depth = store.inbox_depth().await.unwrap();
        let rejected = depth.iter().find(|(state, _)| state == "rejected");
        assert_eq!(rejected.map(|(_, n)| *n), Some(30), "{}", db.label);
    }
}

#[tokio::test]
async fn mirror_identity_events_and_outcomes_round_trip() {
    for (db, store) in stores().await {
        let mut row = MirrorRow {
            mapping: "webinar".into(),
            person: "p1".into(),
            sf_member_id: Some("00v000000000001AAA".into()),
            sf_status: Some("Registered".into()),
            sf_modstamp: Some(T0),
            mkto_lead_id: Some(7),
            mkto_status: Some("Registered".into()),
            synced_at: T0,
            ..MirrorRow::default()
        };
        store.upsert_mirror(&row).await.unwrap();
        row.sf_status = Some("Attended".into());
        store.upsert_mirror(&row).await.unwrap();
        assert_eq!(
            store.mirror("webinar", "p1").await.unwrap(),
            Some(row.clone()),
            "{}",
            db.label
        );
        assert_eq!(
            store
                .mirror_by_member("00v000000000001AAA")
                .await
                .unwrap()
                .len(),
            1
        );
        store.delete_mirror("webinar", "p1").await.unwrap();
        assert!(store.mirror("webinar", "p1").await.unwrap().is_none());

        let identity = campaign_sync::store::IdentityRow {
            email: Some("Ada@Example.com".into()),
            mkto_lead_id: Some(7),
            ..Default::default()
        };
        let id = store.save_identity(&identity, T0).await.unwrap();
        let found = store
            .find_identity(None, None, Some("ADA@example.com"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.id, id);
        assert_eq!(found.email.as_deref(), Some("ada@example.com"));

        let event = TriggerEvent {
            id: 0,
            kind: campaign_sync::kinds::TriggerKind::AddedToCampaign,
            mapping: Some("webinar".into()),
            person: "p1".into(),
            campaign_id: Some("701000000000001AAA".into()),
            program_id: Some(1001),
            old_status: None,
            new_status: Some("Registered".into()),
            actor: campaign_sync::kinds::Actor::Marketo,
            occurred_at: T0,
            marketo_twin: false,
        };
        let event_id = store.record_trigger_event(&event).await.unwrap();
        let events = store.trigger_events(0, 10).await.unwrap();
        assert_eq!(
            events,
            vec![TriggerEvent {
                id: event_id,
                ..event
            }]
        );

        let outcome = Outcome {
            id: 0,
            signal_id: Some(1),
            mapping: Some("webinar".into()),
            person: Some("p1".into()),
            connector: campaign_sync::kinds::Connector::Salesforce,
            action: campaign_sync::kinds::Action::SetStatus,
            result: OutcomeResult::Applied,
            reason: None,
            recorded_at: T0,
        };
        store.record_outcome(&outcome).await.unwrap();
        assert_eq!(
            store
                .outcomes(Some(OutcomeResult::Applied), 0, 10)
                .await
                .unwrap()
                .len(),
            1
        );
        assert!(
            store
                .outcomes(Some(OutcomeResult::Dead), 0, 10)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(store.outcomes(None, 0, 10).await.unwrap().len(), 1);

        // A name this build does not know (written by a newer one, or by hand) is an error
        // naming it, not a panic and not a guess.
        store
            .execute_raw(
                "UPDATE outcomes SET result = 'postponed'; \
                 UPDATE trigger_events SET actor = 'someone'",
            )
            .await
            .unwrap();
        let error = store.outcomes(None, 0, 10).await.unwrap_err().to_string();
        assert!(
            error.contains("\"postponed\" is not a known OutcomeResult"),
            "{error}"
        );
        let error = store.trigger_events(0, 10).await.unwrap_err().to_string();
        assert!(
            error.contains("\"someone\" is not a known Actor"),
            "{error}"
        );
    }
}
