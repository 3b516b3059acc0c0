//! The operator read queries on every backend (SQLite, and PostgreSQL when configured):
//! failing signals, backlog, change counts, people search, timeline, named outcomes.

use campaign_sync::kinds::{Action, Actor, Connector, TriggerKind};
use campaign_sync::signal::{MarketoMember, NewSignal, Signal};
use campaign_sync::store::{
    FailingFilter, IdentityRow, MirrorRow, Outcome, OutcomeFilter, OutcomeResult, TriggerEvent,
};

use crate::test_app::TestDb;

const T0: i64 = 1_700_000_000_000;

fn member(lead_id: i64, email: &str) -> NewSignal {
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

fn outcome(signal_id: i64, person: Option<&str>, result: OutcomeResult, at: i64) -> Outcome {
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

/// A Salesforce change that failed names the person's Marketo lead too, when the identity
/// table knows it (the notification carries only Salesforce's ids).
#[tokio::test]
async fn a_failing_salesforce_change_names_the_marketo_lead_it_knows() {
    use campaign_sync::signal::SalesforceMember;
    for db in TestDb::all().await {
        let store = db.store().await;
        let label = &db.label;
        store
            .save_identity(
                &IdentityRow {
                    email: Some("grace@example.com".into()),
                    sf_lead_id: Some("00Q000000000009EAA".into()),
                    mkto_lead_id: Some(1004),
                    ..IdentityRow::default()
                },
                T0,
            )
            .await
            .unwrap();
        let signal = NewSignal::new(
            "sf:notification:04l000000000009AAA",
            Signal::SalesforceMember(SalesforceMember {
                notification_id: "04l000000000009AAA".into(),
                organization_id: "00D000000000001EAA".into(),
                member_id: "00v000000000009AAA".into(),
                campaign_id: Some("701000000000001AAA".into()),
                lead_id: Some("00Q000000000009EAA".into()),
                contact_id: None,
                email: Some("grace@example.com".into()),
                status: Some("Registered".into()),
                has_responded: None,
                created_date: None,
                last_modified_date: None,
                system_modstamp: None,
            }),
        );
        let id = store.record(vec![signal], T0).await.unwrap()[0].id;
        store.claim("w", 10, 30_000, T0).await.unwrap();
        store.bury(id, "w", "Marketo 603", T0 + 1).await.unwrap();
        let all = FailingFilter {
            limit: 10,
            ..FailingFilter::default()
        };
        let failing = store.failing(&all).await.unwrap();
        assert_eq!(failing.len(), 1, "{label}");
        assert_eq!(failing[0].marketo_lead_id, Some(1004), "{label}");
        assert_eq!(
            failing[0].salesforce_person_id.as_deref(),
            Some("00Q000000000009EAA"),
            "{label}"
        );
    }
}

/// A failing signal naming a campaign or program is shown with the person's member of that
/// mapping, and with none for a campaign no mapping covers (not another mapping's member).
#[tokio::test]
async fn a_failing_signal_shows_the_member_of_its_own_mapping() {
    use campaign_sync::signal::{FlowAction, FlowActionKind, MarketoMember};
    use campaign_sync::store::MappingScope;
    for db in TestDb::all().await {
        let store = db.store().await;
        let label = &db.label;
        let identity = IdentityRow {
            email: Some("ada@example.com".into()),
            sf_lead_id: Some("00Q000000000007EAA".into()),
            mkto_lead_id: Some(7),
            ..IdentityRow::default()
        };
        let person = store.save_identity(&identity, T0).await.unwrap();
        for (mapping, member, at) in [
            ("webinar", "00v000000000001AAA", T0),
            ("tradeshow", "00v000000000002AAA", T0 + 5),
        ] {
            let row = MirrorRow {
                mapping: mapping.into(),
                person: person.to_string(),
                sf_member_id: Some(member.into()),
                synced_at: at,
                ..MirrorRow::default()
            };
            store.upsert_mirror(&row).await.unwrap();
        }
        let webhook = NewSignal::new(
            "mkto:1",
            Signal::MarketoMember(MarketoMember {
                lead_id: 7,
                program_id: 1001,
                email: None,
                status: None,
                trigger: None,
            }),
        );
        let flow = NewSignal::new(
            "mkto:2",
            Signal::MarketoFlowAction(FlowAction {
                action: FlowActionKind::AddToCampaign,
                lead_id: 7,
                email: None,
                campaign_id: "701000000000099AAA".into(),
                status: Some("Sent".into()),
            }),
        );
        let recorded = store.record(vec![webhook, flow], T0).await.unwrap();
        store.claim("w", 10, 30_000, T0).await.unwrap();
        for r in &recorded {
            store.bury(r.id, "w", "refused", T0 + 1).await.unwrap();
        }
        let filter = FailingFilter {
            limit: 10,
            scopes: vec![
                MappingScope {
                    name: "webinar".into(),
                    campaign_id: "701000000000001AAA".into(),
                    program_id: 1001,
                },
                MappingScope {
                    name: "tradeshow".into(),
                    campaign_id: "701000000000002AAA".into(),
                    program_id: 1002,
                },
            ],
            ..FailingFilter::default()
        };
        let failing = store.failing(&filter).await.unwrap();
        let member = |kind: &str| {
            failing
                .iter()
                .find(|f| f.kind == kind)
                .and_then(|f| f.campaign_member_id.clone())
        };
        assert_eq!(
            member("marketo_member").as_deref(),
            Some("00v000000000001AAA"),
            "{label}: the webinar's member, though the trade show's row is newer"
        );
        assert_eq!(
            member("marketo_flow_action"),
            None,
            "{label}: no mapping covers that campaign"
        );
    }
}

/// The errors search finds every signal of the people a text stands for, however many, and
/// takes the text literally (`_` is no wildcard).
#[tokio::test]
async fn the_errors_search_finds_all_the_people_a_text_names_and_only_them() {
    for db in TestDb::all().await {
        let store = db.store().await;
        let label = &db.label;
        let mut signals = Vec::new();
        let mut emails: Vec<String> = (0..30).map(|i| format!("p{i}@bulk.example")).collect();
        emails.push("j_doe@x.example".into());
        emails.push("j.doe@x.example".into());
        for (i, email) in emails.iter().enumerate() {
            let lead = 5_000 + i as i64;
            store
                .link_identity(Some(lead), None, Some(email), T0)
                .await
                .unwrap();
            // As the activity feed records it: the lead alone.
            let mut signal = member(lead, email);
            if let Signal::MarketoMember(m) = &mut signal.signal {
                m.email = None;
            }
            signals.push(signal);
        }
        store.record(signals, T0).await.unwrap();
        store
            .execute_raw("UPDATE signals SET state = 'dead', last_error = 'refused'")
            .await
            .unwrap();
        let search = |text: &str| FailingFilter {
            state: Some("dead".into()),
            text: Some(text.into()),
            before: None,
            limit: 1000,
            scopes: Vec::new(),
        };
        let found = store.failing(&search("bulk.example")).await.unwrap();
        assert_eq!(found.len(), 30, "{label}");
        let page = FailingFilter {
            limit: 7,
            ..search("bulk.example")
        };
        assert_eq!(store.failing(&page).await.unwrap().len(), 7, "{label}");
        let found = store.failing(&search("J_DOE")).await.unwrap();
        let named: Vec<Option<&str>> = found.iter().map(|s| s.email.as_deref()).collect();
        assert_eq!(named, [Some("j_doe@x.example")], "{label}");
    }
}

/// A person's failed or diverged change stops counting once a later write for the same person
/// and mapping applied or found both sides in sync; another person's does not.
#[tokio::test]
async fn a_persons_failure_stops_counting_once_they_have_moved_on() {
    for db in TestDb::all().await {
        let store = db.store().await;
        let label = &db.label;
        let at = |person: &str, result: OutcomeResult, reason: &str, t: i64| Outcome {
            signal_id: None,
            reason: Some(reason.into()),
            ..outcome(0, Some(person), result, t)
        };
        for o in [
            at("grace", OutcomeResult::Dead, "UNABLE_TO_LOCK_ROW", T0 + 1),
            at("grace", OutcomeResult::Diverged, "1037", T0 + 2),
            at("alan", OutcomeResult::Dead, "UNABLE_TO_LOCK_ROW", T0 + 3),
            at("alan", OutcomeResult::Diverged, "1037", T0 + 4),
        ] {
            store.record_outcome(&o).await.unwrap();
        }
        let count = |counts: &campaign_sync::store::ChangeCounts, kind: &str| {
            counts
                .get("webinar")
                .and_then(|c| c.get(kind))
                .copied()
                .unwrap_or(0)
        };
        let counts = store.change_counts(T0).await.unwrap();
        assert_eq!(
            (count(&counts, "failed"), count(&counts, "diverged")),
            (2, 2),
            "{label}"
        );
        // Grace's next change lands; Alan's sides are found in sync.
        store
            .record_outcome(&at("grace", OutcomeResult::Applied, "set", T0 + 5))
            .await
            .unwrap();
        let counts = store.change_counts(T0).await.unwrap();
        assert_eq!(
            (count(&counts, "failed"), count(&counts, "diverged")),
            (1, 1),
            "{label}"
        );
        store
            .record_outcome(&at(
                "alan",
                OutcomeResult::Skipped,
                campaign_sync::sync::IN_SYNC,
                T0 + 6,
            ))
            .await
            .unwrap();
        let counts = store.change_counts(T0).await.unwrap();
        assert_eq!(
            (count(&counts, "failed"), count(&counts, "diverged")),
            (0, 0),
            "{label}"
        );
    }
}
