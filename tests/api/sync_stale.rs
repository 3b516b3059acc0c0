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
    let (lead, sf_lead, member) = world.synced_person("late@example.com", "Registered").await;
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

/// A notification stamped far in the future (a sender's wrong clock, a forged message) is
/// applied, but its stamp is not believed: a Salesforce user's real change after it still syncs,
/// where it would otherwise be held as stale until that future date.
#[tokio::test]
async fn a_stamp_from_the_future_does_not_hold_later_changes_as_stale() {
    let world = World::new().await;
    let (lead, sf_lead, member) = world.synced_person("ahead@example.com", "Invited").await;
    let next_year = chrono::DateTime::from_timestamp_millis(now_millis() + 365 * 86_400_000)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S.000Z")
        .to_string();
    let forged = NewSignal::new(
        "ahead:1",
        Signal::SalesforceMember(SalesforceMember {
            notification_id: "04l000000000010AAA".into(),
            organization_id: String::new(),
            member_id: member.clone(),
            campaign_id: Some(world.campaign.clone()),
            lead_id: Some(sf_lead.clone()),
            contact_id: None,
            email: Some("ahead@example.com".into()),
            status: Some("Registered".into()),
            has_responded: None,
            created_date: None,
            last_modified_date: Some(next_year.clone()),
            system_modstamp: Some(next_year),
        }),
    );
    let store = &world.app.store;
    store.record(vec![forged], now_millis()).await.unwrap();
    world.app.worker.run_pending().await.unwrap();
    assert_eq!(world.mk_status(lead).as_deref(), Some("Registered"));

    world
        .sf
        .update_member(crate::world::USER, &member, "Attended")
        .unwrap();
    world.settle().await;
    assert_eq!(
        world.mk_status(lead).as_deref(),
        Some("Attended"),
        "the user's change is not stale against a stamp from next year"
    );
    let report = world.app.worker.reconcile().await.remove(0).expect("pass");
    assert_eq!(report.differences, 0, "nothing left to repair: {report:?}");
}

/// A mirror row already holding a stamp from the future (written before such stamps were
/// doubted) does not keep reconciliation from repairing a change whose notification was lost:
/// the difference is listed as a change and the repair lands.
#[tokio::test]
async fn reconciliation_repairs_past_a_mirror_stamp_from_the_future() {
    let world = World::new().await;
    let (lead, sf_lead) = world.person("ahead2@example.com");
    world.mk_sets(lead, "Invited");
    world.settle().await;
    let store = &world.app.store;
    let mapping = world.app.worker.mappings().all()[0].name().to_string();
    let mut row = store.mirror_rows(&mapping).await.unwrap().remove(0);
    row.sf_modstamp = Some(now_millis() + 365 * 86_400_000);
    store.upsert_mirror(&row).await.unwrap();

    // A Salesforce user's change whose notification never arrives.
    let member = world.sf_member_id(&sf_lead).unwrap();
    world
        .sf
        .update_member(crate::world::USER, &member, "Registered")
        .unwrap();
    let report = world.app.worker.reconcile().await.remove(0).expect("pass");
    assert_eq!(report.differences, 1, "{report:?}");
    assert_eq!(
        report.changes.len(),
        1,
        "listed, not only counted: {report:?}"
    );
    assert_eq!(report.changes[0].to.as_deref(), Some("Registered"));
    world.app.worker.run_pending().await.unwrap();
    assert_eq!(world.mk_status(lead).as_deref(), Some("Registered"));
    let row = store.mirror_rows(&mapping).await.unwrap().remove(0);
    assert!(
        row.sf_modstamp
            .is_some_and(|at| at <= now_millis() + 300_000),
        "the row holds a believable stamp again: {row:?}"
    );
}
