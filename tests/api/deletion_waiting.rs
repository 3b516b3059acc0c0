//! A Salesforce deletion whose write to Marketo failed waits to be tried again; the removal
//! lands meanwhile another way (a Marketo user takes the person out of the program, and the
//! state forgets the deleted member). The waiting deletion still names its person: in the
//! errors list and its search while it waits, and in the outcome it ends with.

use std::time::Duration;

use campaign_sync::store::{FailingFilter, OutcomeResult};
use serde_json::json;

use crate::world::{Options, USER, World};

#[tokio::test]
async fn a_waiting_deletion_keeps_its_person_once_the_removal_lands_another_way() {
    let world = World::with(Options {
        configure: |c| c.worker.retry_schedule_secs = vec![3600; 3],
        ..Options::default()
    })
    .await;
    let (lead, sf_lead, member) = world.synced_person("gone@example.com", "Registered").await;
    world.sf.delete_member(USER, &member).unwrap();
    world.sf.advance_clock(Duration::from_secs(61));
    world
        .mk_fault(json!({ "http_status": 503, "calls": 100 }))
        .await;
    world
        .app
        .worker
        .poll_deleted_at(world.sf.now())
        .await
        .unwrap();
    world.settle().await;
    world.mk_faults_cleared().await;

    // A Marketo user takes the person out of the program: the removal lands that way.
    world.mk_sets(lead, "Not in Program");
    world.settle().await;
    assert_eq!(world.mk_status(lead), None);
    assert_eq!(world.sf_member_status(&sf_lead), None);
    let rows = world.app.store.mirror_rows("webinar").await.unwrap();
    assert_eq!(rows[0].sf_member_id, None, "the state forgot the member");

    let person = rows[0].person.clone();
    let search = FailingFilter {
        text: Some("gone@example.com".into()),
        limit: 10,
        ..FailingFilter::default()
    };
    let waiting = world.app.store.failing(&search).await.unwrap();
    assert_eq!(
        waiting.len(),
        1,
        "found by the person's address: {waiting:?}"
    );
    assert_eq!(waiting[0].kind, "salesforce_member_deleted");
    assert_eq!(waiting[0].state, "retrying");
    assert_eq!(waiting[0].email.as_deref(), Some("gone@example.com"));
    assert_eq!(waiting[0].marketo_lead_id, Some(lead));

    // Its next try finds nothing to do, and says so for the person.
    world
        .app
        .store
        .execute_raw("UPDATE signals SET next_attempt_at = 0 WHERE state = 'pending'")
        .await
        .unwrap();
    world.settle().await;
    let deletion = waiting[0].id;
    let ended = world.outcomes(OutcomeResult::Skipped).await;
    let ended = ended
        .iter()
        .find(|o| o.signal_id == Some(deletion))
        .unwrap_or_else(|| panic!("no outcome for the deletion: {ended:?}"));
    assert_eq!(ended.person.as_deref(), Some(person.as_str()), "{ended:?}");
    assert_eq!(world.mk_status(lead), None, "nothing written");
}
