//! A failing deletion names only its campaign member: the errors list shows the person the
//! mirror holds that member for, and a search by their address finds it (on every backend).

use campaign_sync::signal::{NewSignal, SalesforceMemberDeleted, Signal};
use campaign_sync::store::{FailingFilter, IdentityRow, MirrorRow};

use crate::test_app::TestDb;

const T0: i64 = 1_700_000_000_000;
const MEMBER: &str = "00v000000000004AAA";

#[tokio::test]
async fn a_failing_deletion_is_shown_and_found_as_its_persons() {
    for db in TestDb::all().await {
        let store = db.store().await;
        let label = &db.label;
        let person = store
            .save_identity(
                &IdentityRow {
                    email: Some("katherine@example.com".into()),
                    sf_lead_id: Some("00Q000000000004EAA".into()),
                    mkto_lead_id: Some(1004),
                    ..IdentityRow::default()
                },
                T0,
            )
            .await
            .unwrap();
        store
            .upsert_mirror(&MirrorRow {
                mapping: "tradeshow".into(),
                person: person.to_string(),
                sf_member_id: Some(MEMBER.into()),
                sf_person_id: Some("00Q000000000004EAA".into()),
                sf_status: Some("Registered".into()),
                sf_modstamp: Some(T0),
                mkto_lead_id: Some(1004),
                mkto_status: Some("Registered".into()),
                mkto_updated_at: Some(T0),
                synced_at: T0,
            })
            .await
            .unwrap();
        let deletion = NewSignal::new(
            format!("sf:deleted:{MEMBER}"),
            Signal::SalesforceMemberDeleted(SalesforceMemberDeleted {
                member_id: MEMBER.into(),
                deleted_date: Some("2023-11-14T22:13:20.000Z".into()),
            }),
        );
        let id = store.record(vec![deletion], T0).await.unwrap()[0].id;
        store.claim("w", 10, 30_000, T0).await.unwrap();
        store.bury(id, "w", "Marketo 603", T0 + 1).await.unwrap();
        let all = FailingFilter {
            limit: 10,
            ..FailingFilter::default()
        };
        let failing = store.failing(&all).await.unwrap();
        assert_eq!(failing.len(), 1, "{label}");
        assert_eq!(
            failing[0].email.as_deref(),
            Some("katherine@example.com"),
            "{label}"
        );
        assert_eq!(failing[0].marketo_lead_id, Some(1004), "{label}");
        let search = FailingFilter {
            text: Some("katherine".into()),
            ..all
        };
        let found = store.failing(&search).await.unwrap();
        assert_eq!(found.len(), 1, "{label}: found by the person's address");
    }
}
