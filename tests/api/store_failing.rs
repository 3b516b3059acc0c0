//! Failing signals as the operator reads them, on every backend (SQLite, and PostgreSQL when
//! configured): each named by the person and member of its own mapping, found by the errors
//! search, and counted only until the person has moved on.

use campaign_sync::signal::{NewSignal, Signal};
use campaign_sync::store::{FailingFilter, IdentityRow, MirrorRow, Outcome, OutcomeResult};

use crate::store_queries::{T0, member, outcome};
use crate::test_app::TestDb;

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
