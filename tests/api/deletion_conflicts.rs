//! A Salesforce user deletes a member while a Marketo change to the same person is on its way:
//! the write finds the member gone, and the policy weighs the deletion (its time read off
//! getDeleted) against the change instead of retrying until the deletions poll brings it.

use std::time::Duration;

use campaign_sync::config::ConflictPolicy;

use crate::world::{Options, USER, World};

/// getDeleted reports whole minutes: a minute on, the deletion is there to be read.
const PAST_THE_MINUTE: Duration = Duration::from_secs(61);

async fn assert_no_dead_letters(world: &World) {
    let dead = world.app.store.dead(0, 10).await.unwrap();
    assert!(dead.is_empty(), "{dead:?}");
}

#[tokio::test]
async fn under_last_writer_wins_a_marketo_change_after_the_deletion_adds_the_member_back() {
    let world = World::new().await;
    let (lead, sf_lead, member) = world.synced_person("back@example.com", "Registered").await;
    world.sf.delete_member(USER, &member).unwrap();
    // Marketo stamps whole seconds: its change lands in a later second than the deletion.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    world.mk_sets(lead, "Attended");
    world.sf.advance_clock(PAST_THE_MINUTE);
    world.settle().await;

    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Attended"),
        "the later Marketo change wins over the earlier deletion"
    );
    assert_ne!(world.sf_member_id(&sf_lead), Some(member.clone()));
    assert_eq!(world.mk_status(lead).as_deref(), Some("Attended"));
    assert_no_dead_letters(&world).await;
    // The old member's deletion, polled later, is not the sync's business any more.
    let found = world
        .app
        .worker
        .poll_deleted_at(world.sf.now())
        .await
        .unwrap();
    assert_eq!(found, 0);
    world.settle().await;
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Attended")
    );
    assert_eq!(world.mk_status(lead).as_deref(), Some("Attended"));
}

#[tokio::test]
async fn under_last_writer_wins_a_deletion_after_the_marketo_change_removes_it_there() {
    let world = World::new().await;
    let (lead, sf_lead, member) = world.synced_person("gone@example.com", "Registered").await;
    world.mk_sets(lead, "Attended");
    world.sf.advance_clock(Duration::from_secs(5));
    world.sf.delete_member(USER, &member).unwrap();
    world.sf.advance_clock(PAST_THE_MINUTE);
    world.settle().await;

    assert_eq!(world.sf_member_status(&sf_lead), None);
    assert_eq!(
        world.mk_status(lead),
        None,
        "the later deletion wins over the Marketo change"
    );
    assert_no_dead_letters(&world).await;
}

#[tokio::test]
async fn under_marketo_wins_a_change_to_a_deleted_member_adds_it_anew() {
    let world = World::with(Options {
        conflict_policy: ConflictPolicy::MarketoWins,
        ..Options::default()
    })
    .await;
    let (lead, sf_lead, member) = world.synced_person("anew@example.com", "Registered").await;
    world.sf.advance_clock(Duration::from_secs(5));
    world.sf.delete_member(USER, &member).unwrap();
    world.mk_sets(lead, "Attended");
    world.sf.advance_clock(PAST_THE_MINUTE);
    world.settle().await;

    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Attended")
    );
    assert_eq!(world.mk_status(lead).as_deref(), Some("Attended"));
    assert_no_dead_letters(&world).await;
}
