//! A Salesforce notification older than our own write to that member is stale, however late
//! it is processed: the mirror's Salesforce stamp moves up to the org's time of the write (read
//! off its answers' `Date` headers), not only to the stamps Salesforce sends us.

use std::time::Duration;

use campaign_sync::signal::{NewSignal, SalesforceMember, Signal};
use campaign_sync::store::{OutcomeResult, now_millis};

use crate::world::World;

#[tokio::test]
async fn a_notification_older_than_our_write_does_not_undo_it() {
    let world = World::new().await;
    let (lead, sf_lead) = world.person("late@example.com");
    world.mk_sets(lead, "Registered");
    world.settle().await;
    let member = world.sf_member_id(&sf_lead).unwrap();
    let stamp = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .unwrap()
            .format("%Y-%m-%dT%H:%M:%S.000Z")
            .to_string()
    };
    // A Salesforce user's change, whose notification will be processed only after ours.
    world.sf.advance_clock(Duration::from_secs(2));
    let user_change = stamp(world.sf.now());
    world.sf.advance_clock(Duration::from_secs(8));
    world.mk_sets(lead, "No Show");
    world.settle().await;
    assert_eq!(world.sf_member_status(&sf_lead).as_deref(), Some("No Show"));

    let late = NewSignal::new(
        "late:1",
        Signal::SalesforceMember(SalesforceMember {
            notification_id: "04l000000000009AAA".into(),
            organization_id: String::new(),
            member_id: member,
            campaign_id: Some(world.campaign.clone()),
            lead_id: Some(sf_lead.clone()),
            contact_id: None,
            email: Some("late@example.com".into()),
            status: Some("Attended".into()),
            has_responded: None,
            created_date: None,
            last_modified_date: Some(user_change.clone()),
            system_modstamp: Some(user_change),
        }),
    );
    world
        .app
        .store
        .record(vec![late], now_millis())
        .await
        .unwrap();
    world.app.worker.run_pending().await.unwrap();
    assert_eq!(
        world.mk_status(lead).as_deref(),
        Some("No Show"),
        "the older Salesforce state is not written over the newer change"
    );
    let applied = world.outcomes(OutcomeResult::Applied).await;
    assert_eq!(
        applied.len(),
        2,
        "only the two Marketo-driven writes: {applied:?}"
    );
}
