//! The operator read queries on every backend (SQLite, and PostgreSQL when configured):
//! failing signals, backlog, change counts, people search, timeline, named outcomes.

use campaign_sync::kinds::{Action, Actor, Connector, TriggerKind};
use campaign_sync::signal::{MarketoMember, NewSignal, SalesforceMemberDeleted, Signal};
use campaign_sync::store::{
    FailingFilter, IdentityRow, MirrorRow, Outcome, OutcomeFilter, OutcomeResult, TriggerEvent,
};

use crate::test_app::TestDb;

pub(crate) const T0: i64 = 1_700_000_000_000;

pub(crate) fn member(lead_id: i64, email: &str) -> NewSignal {
    NewSignal::new(
        format!("mk:{lead_id}"),
        Signal::MarketoMember(MarketoMember {
            lead_id,
            program_id: 1001,
            email: Some(email.into()),
            status: None,
            trigger: None,
        }),
    )
}

pub(crate) fn outcome(
    signal_id: i64,
    person: Option<&str>,
    result: OutcomeResult,
    at: i64,
) -> Outcome {
    Outcome {
        id: 0,
        signal_id: Some(signal_id),
        mapping: person.map(|_| "webinar".into()),
        person: person.map(str::to_string),
        connector: Connector::Salesforce,
        action: Action::SetStatus,
        result,
        reason: Some(format!("{result:?}")),
        recorded_at: at,
    }
}

#[tokio::test]
async fn operator_queries_answer_alike_on_every_backend() {
    for db in TestDb::all().await {
        let store = db.store().await;
        let label = &db.label;
        let recorded = store
            .record(
                vec![member(7, "ada@example.com"), member(8, "alan@example.com")],
                T0,
            )
            .await
            .unwrap();
        let (ada_signal, alan_signal) = (recorded[0].id, recorded[1].id);
        let claimed = store.claim("w", 10, 30_000, T0).await.unwrap();
        assert_eq!(claimed.len(), 2, "{label}");
        let held = store.backlog(T0).await.unwrap();
        assert_eq!(
            (held.due, held.in_progress),
            (0, 2),
            "{label}: held by a worker"
        );
        store
            .bury(ada_signal, "w", "the campaign no longer exists", T0 + 1)
            .await
            .unwrap();
        store
            .retry_at(alan_signal, "w", T0 + 60_000, "UNABLE_TO_LOCK_ROW", T0 + 1)
            .await
            .unwrap();

        let all = FailingFilter {
            limit: 10,
            ..FailingFilter::default()
        };
        let failing = store.failing(&all).await.unwrap();
        let states: Vec<_> = failing.iter().map(|f| f.state.as_str()).collect();
        assert_eq!(states, ["retrying", "dead"], "{label}: newest first");
        assert_eq!(failing[1].email.as_deref(), Some("ada@example.com"));
        assert_eq!(failing[1].marketo_lead_id, Some(7));
        let by_text = FailingFilter {
            text: Some("LOCK_ROW".into()),
            ..all.clone()
        };
        assert_eq!(store.failing(&by_text).await.unwrap().len(), 1, "{label}");
        let backlog = store.backlog(T0 + 2).await.unwrap();
        assert_eq!(
            (
                backlog.due,
                backlog.in_progress,
                backlog.retrying,
                backlog.dead
            ),
            (0, 0, 1, 1),
            "{label}"
        );
        assert_eq!(backlog.oldest_received_at, Some(T0), "{label}");
        assert_eq!(backlog.next_retry_at, Some(T0 + 60_000), "{label}");

        let id = store
            .save_identity(
                &IdentityRow {
                    email: Some("ada@example.com".into()),
                    sf_lead_id: Some("00Q000000000001EAA".into()),
                    mkto_lead_id: Some(7),
                    ..IdentityRow::default()
                },
                T0,
            )
            .await
            .unwrap();
        let person = id.to_string();
        store
            .upsert_mirror(&MirrorRow {
                mapping: "webinar".into(),
                person: person.clone(),
                sf_member_id: Some("00v000000000001AAA".into()),
                sf_status: Some("Registered".into()),
                synced_at: T0,
                ..MirrorRow::default()
            })
            .await
            .unwrap();
        store
            .record_outcome(&outcome(
                ada_signal,
                Some(&person),
                OutcomeResult::Applied,
                T0,
            ))
            .await
            .unwrap();
        store
            .record_outcome(&outcome(ada_signal, None, OutcomeResult::Dead, T0 + 1))
            .await
            .unwrap();
        store
            .record_trigger_event(&TriggerEvent {
                id: 0,
                kind: TriggerKind::AddedToCampaign,
                mapping: Some("webinar".into()),
                person: person.clone(),
                campaign_id: None,
                program_id: Some(1001),
                old_status: None,
                new_status: Some("Registered".into()),
                actor: Actor::Marketo,
                occurred_at: T0,
                marketo_twin: false,
            })
            .await
            .unwrap();

        for q in [
            "ADA@example.com",
            "7",
            "00Q000000000001EAA",
            "00v000000000001AAA",
            // The 15-character forms, as in a Salesforce Classic record URL.
            "00Q000000000001",
            "00v000000000001",
        ] {
            let found = store.search_people(q).await.unwrap();
            assert_eq!(found.len(), 1, "{label}: {q}");
        }
        assert!(
            store
                .search_people("nobody@example.com")
                .await
                .unwrap()
                .is_empty()
        );

        let named = store
            .outcomes_named(&OutcomeFilter {
                email: Some("Ada@Example.com".into()),
                limit: 10,
                ..OutcomeFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(
            named.len(),
            2,
            "{label}: the dead one is named through its signal"
        );
        assert_eq!(named[0].result, "dead");
        assert_eq!(named[0].mapping.as_deref(), Some("webinar"));
        let page = OutcomeFilter {
            before: Some(named[0].id),
            limit: 10,
            ..OutcomeFilter::default()
        };
        assert_eq!(
            store.outcomes_named(&page).await.unwrap().len(),
            1,
            "{label}"
        );
        let window = OutcomeFilter {
            since: Some(T0 + 1),
            until: Some(T0 + 2),
            limit: 10,
            ..OutcomeFilter::default()
        };
        assert_eq!(
            store.outcomes_named(&window).await.unwrap().len(),
            1,
            "{label}"
        );

        let counts = store.change_counts(T0).await.unwrap();
        assert_eq!(counts["webinar"]["added"], 1, "{label}");
        assert_eq!(counts["webinar"]["failed"], 1, "{label}");
        assert_eq!(counts["webinar"].get("skipped"), None, "{label}");
        // An echo of our own write is counted apart from the skips that say something, in the
        // words it was recorded with before this version too.
        for reason in [
            campaign_sync::sync::ECHO,
            campaign_sync::sync::ECHO_BEFORE,
            campaign_sync::sync::STALE,
        ] {
            let skipped = Outcome {
                mapping: Some("webinar".into()),
                reason: Some(reason.into()),
                signal_id: None,
                ..outcome(0, None, OutcomeResult::Skipped, T0 + 1)
            };
            store.record_outcome(&skipped).await.unwrap();
        }
        let counts = store.change_counts(T0).await.unwrap();
        assert_eq!(counts["webinar"]["skipped"], 1, "{label}: {counts:?}");
        assert_eq!(counts["webinar"]["echoed"], 2, "{label}: {counts:?}");
        assert_eq!(
            store.mirror_counts().await.unwrap()["webinar"],
            1,
            "{label}"
        );
        // A removed member's row is kept, with no status on either side: not a member.
        store
            .upsert_mirror(&MirrorRow {
                mapping: "webinar".into(),
                person: "removed-person".into(),
                synced_at: T0,
                ..MirrorRow::default()
            })
            .await
            .unwrap();
        assert_eq!(
            store.mirror_counts().await.unwrap()["webinar"],
            1,
            "{label}: the removed member is not counted"
        );

        let timeline = store.timeline(id, 10).await.unwrap().expect("the person");
        assert_eq!(timeline.deliveries.len(), 1, "{label}");
        assert_eq!(timeline.outcomes.len(), 2, "{label}");
        assert_eq!(timeline.trigger_events.len(), 1, "{label}");
        assert_eq!(timeline.mirror.len(), 1, "{label}");
        assert!(store.timeline(id + 100, 10).await.unwrap().is_none());

        let replayed = store
            .replay_many(&[ada_signal, alan_signal], T0 + 3)
            .await
            .unwrap();
        assert_eq!(replayed, [ada_signal], "{label}: only the dead one");
        // Replayed and dead again: still one failed change, not two.
        store
            .record_outcome(&outcome(ada_signal, None, OutcomeResult::Dead, T0 + 3))
            .await
            .unwrap();
        let counts = store.change_counts(T0).await.unwrap();
        assert_eq!(counts["webinar"]["failed"], 1, "{label}: {counts:?}");
        // Replayed and landed: no longer counted as failed.
        store
            .record_outcome(&outcome(ada_signal, None, OutcomeResult::Applied, T0 + 4))
            .await
            .unwrap();
        let counts = store.change_counts(T0).await.unwrap();
        assert_eq!(counts["webinar"].get("failed"), None, "{label}");
        // Replayed and diverged: a divergence now, no longer a failure.
        for (result, at) in [(OutcomeResult::Dead, 5), (OutcomeResult::Diverged, 6)] {
            store
                .record_outcome(&outcome(ada_signal, None, result, T0 + at))
                .await
                .unwrap();
        }
        let counts = store.change_counts(T0).await.unwrap();
        assert_eq!(counts["webinar"].get("failed"), None, "{label}: {counts:?}");
        assert_eq!(
            counts["webinar"].get("diverged"),
            Some(&1),
            "{label}: {counts:?}"
        );
        // A person's failed change stops counting once Marketo is found to have the status.
        let person = |result, reason: String, at| Outcome {
            signal_id: None,
            reason: Some(reason),
            ..outcome(0, Some("katherine"), result, at)
        };
        store
            .record_outcome(&person(OutcomeResult::Dead, "HTTP 400".into(), T0 + 7))
            .await
            .unwrap();
        let counts = store.change_counts(T0).await.unwrap();
        assert_eq!(counts["webinar"]["failed"], 1, "{label}: {counts:?}");
        // The same change brought again by another signal (the change feed after the outbound
        // message), failing the same way: still one failed change.
        store
            .record_outcome(&person(OutcomeResult::Dead, "HTTP 400".into(), T0 + 7))
            .await
            .unwrap();
        let counts = store.change_counts(T0).await.unwrap();
        assert_eq!(counts["webinar"]["failed"], 1, "{label}: {counts:?}");
        let already = format!("{}Visited Booth", campaign_sync::sync::outcome::ALREADY_HAS);
        store
            .record_outcome(&person(OutcomeResult::Skipped, already, T0 + 8))
            .await
            .unwrap();
        let counts = store.change_counts(T0).await.unwrap();
        assert_eq!(counts["webinar"].get("failed"), None, "{label}: {counts:?}");
    }
}

#[tokio::test]
async fn the_mirror_is_read_a_page_at_a_time_in_person_order() {
    for db in TestDb::all().await {
        let store = db.store().await;
        let label = &db.label;
        for (mapping, person) in [
            ("a", "p3"),
            ("a", "p1"),
            ("b", "p2"),
            ("a", "p5"),
            ("a", "p2"),
        ] {
            let row = MirrorRow {
                mapping: mapping.into(),
                person: person.into(),
                synced_at: T0,
                ..MirrorRow::default()
            };
            store.upsert_mirror(&row).await.unwrap();
        }
        let mut pages = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = store.mirror_page("a", after.as_deref(), 2).await.unwrap();
            after = page.last().map(|r| r.person.clone());
            let people: Vec<String> = page.into_iter().map(|r| r.person).collect();
            if people.is_empty() {
                break;
            }
            pages.push(people);
        }
        assert_eq!(pages, [vec!["p1", "p2"], vec!["p3", "p5"]], "{label}");
    }
}

/// A CampaignMember id the mirror no longer holds (the member was removed) finds the person
/// its deletion's outcome was for.
#[tokio::test]
async fn a_removed_members_id_finds_the_person_through_its_signals() {
    for db in TestDb::all().await {
        let store = db.store().await;
        let ada = IdentityRow {
            email: Some("ada@example.com".into()),
            mkto_lead_id: Some(7),
            ..IdentityRow::default()
        };
        let id = store.save_identity(&ada, T0).await.unwrap();
        let deletion = Signal::SalesforceMemberDeleted(SalesforceMemberDeleted {
            member_id: "00v000000000009AAA".into(),
            deleted_date: None,
        });
        let new = NewSignal::new("sf:deleted:00v000000000009AAA".to_string(), deletion);
        let signal = store.record(vec![new], T0).await.unwrap()[0].id;
        let applied = outcome(signal, Some(&id.to_string()), OutcomeResult::Applied, T0);
        store.record_outcome(&applied).await.unwrap();
        for q in ["00v000000000009AAA", "00v000000000009"] {
            let found = store.search_people(q).await.unwrap();
            assert_eq!(found.len(), 1, "{}: {q}", db.label);
        }
        assert!(
            store
                .search_people("00v000000000008AAA")
                .await
                .unwrap()
                .is_empty()
        );
    }
}
