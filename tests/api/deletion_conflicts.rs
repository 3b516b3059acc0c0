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

/// Both sides show `status` for the person, and nothing is dead.
async fn both_at(world: &World, lead: i64, sf_lead: &str, status: &str) {
    assert_eq!(world.mk_status(lead).as_deref(), Some(status));
    assert_eq!(world.sf_member_status(sf_lead).as_deref(), Some(status));
    assert_no_dead_letters(world).await;
}

/// A world whose failed changes wait an hour for their next try.
async fn slow_retries() -> World {
    World::with(Options {
        configure: |c| c.worker.retry_schedule_secs = vec![3600; 3],
        ..Options::default()
    })
    .await
}

/// A person synced at "Registered" whose campaign member a Salesforce user deletes; a second
/// later (Marketo stamps whole seconds) a Marketo user moves them to "Attended". Nothing is
/// delivered yet. Their Marketo lead, Salesforce Lead and deleted CampaignMember.
async fn deleted_then_changed_in_marketo(world: &World, email: &str) -> (i64, String, String) {
    let (lead, sf_lead, member) = world.synced_person(email, "Registered").await;
    world.sf.delete_member(USER, &member).unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    world.mk_sets(lead, "Attended");
    (lead, sf_lead, member)
}

#[tokio::test]
async fn under_last_writer_wins_a_marketo_change_after_the_deletion_adds_the_member_back() {
    let world = World::new().await;
    let (lead, sf_lead, member) = deleted_then_changed_in_marketo(&world, "back@example.com").await;
    world.sf.advance_clock(PAST_THE_MINUTE);
    world.settle().await;

    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Attended"),
        "the later Marketo change wins over the earlier deletion"
    );
    assert_ne!(world.sf_member_id(&sf_lead), Some(member));
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

    both_at(&world, lead, &sf_lead, "Attended").await;
}

/// The Marketo change met the deleted member before Salesforce reported the deletion, and waits
/// to be retried; the deletion, polled meanwhile, is then processed first. It does not take the
/// person out of the program: Marketo is read first (a change of theirs is known to wait), and
/// the later Marketo change wins.
#[tokio::test]
async fn a_deletion_processed_before_the_retrying_later_marketo_change_does_not_undo_it() {
    let world = slow_retries().await;
    let (lead, sf_lead, _) = deleted_then_changed_in_marketo(&world, "retried@example.com").await;
    world.settle().await;
    world.sf.advance_clock(PAST_THE_MINUTE);
    world
        .app
        .worker
        .poll_deleted_at(world.sf.now())
        .await
        .unwrap();
    world.settle().await;

    // The later Marketo change adds the person back.
    both_at(&world, lead, &sf_lead, "Attended").await;
}

/// A Salesforce status change, then a Marketo user takes the person out of the program, both
/// waiting for the same round: under last-writer-wins the later removal wins (the second its
/// webhook arrived bounds when it was made), rather than the person being put back in the
/// program.
#[tokio::test]
async fn a_later_removal_from_the_program_wins_over_an_earlier_salesforce_change() {
    let world = World::new().await;
    let (lead, sf_lead, member) = world.synced_person("removed@example.com", "Invited").await;
    world.sf.update_member(USER, &member, "Registered").unwrap();
    // Both sides stamp whole seconds: the removal comes in a later one.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    world.mk_sets(lead, "Not in Program");
    world.settle().await;

    assert_eq!(world.mk_status(lead), None, "the removal stands");
    assert_eq!(
        world.sf_member_status(&sf_lead),
        None,
        "and reaches Salesforce"
    );
    assert_no_dead_letters(&world).await;
}

/// The other order: the removal's webhook arrived, then a Salesforce user changed the status;
/// the later Salesforce change wins and the person is back in the program.
#[tokio::test]
async fn a_later_salesforce_change_wins_over_an_earlier_removal_from_the_program() {
    let world = World::new().await;
    let (lead, sf_lead, member) = world.synced_person("back.in@example.com", "Invited").await;
    world.mk_sets(lead, "Not in Program");
    world.mk.deliver_webhooks_now().await;
    world.wait_for_due_signals(1).await;
    world.sf.advance_clock(Duration::from_secs(2));
    world.sf.update_member(USER, &member, "Registered").unwrap();
    world.settle().await;

    assert_eq!(world.mk_status(lead).as_deref(), Some("Registered"));
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Registered")
    );
    assert_no_dead_letters(&world).await;
}

/// However short the retry schedule, a change that met a member deleted before Salesforce
/// reports the deletion is tried again once the report can be there (at once, it spent its
/// retries and ended dead), and then the later Marketo change adds the person back.
#[tokio::test]
async fn a_change_meeting_an_unreported_deletion_waits_for_the_report() {
    let world = World::new().await;
    let (lead, sf_lead, _) = deleted_then_changed_in_marketo(&world, "waits@example.com").await;
    world.settle().await;
    assert_no_dead_letters(&world).await;

    // The retry waits for the minute to pass; here the clock is moved and the retry made due.
    world.sf.advance_clock(PAST_THE_MINUTE);
    world
        .app
        .store
        .execute_raw("UPDATE signals SET next_attempt_at = 0 WHERE state = 'pending'")
        .await
        .unwrap();
    world.settle().await;
    both_at(&world, lead, &sf_lead, "Attended").await;
}

/// In one second the two cannot be ordered (both sides stamp whole seconds): the tie goes to
/// Salesforce, as for status changes, so a Salesforce change made just after the removal's
/// webhook arrived is not lost to it.
#[tokio::test]
async fn a_salesforce_change_in_the_removals_second_wins_the_tie() {
    let world = World::new().await;
    let (lead, sf_lead, member) = world.synced_person("tie@example.com", "Invited").await;
    // Early in a second, so the webhook and the Salesforce change share it.
    let into_second = campaign_sync::store::now_millis().rem_euclid(1000);
    tokio::time::sleep(Duration::from_millis(
        (1000 - into_second as u64) % 1000 + 20,
    ))
    .await;
    world.mk_sets(lead, "Not in Program");
    world.mk.deliver_webhooks_now().await;
    world.wait_for_due_signals(1).await;
    world.sf.update_member(USER, &member, "Registered").unwrap();
    world.settle().await;

    both_at(&world, lead, &sf_lead, "Registered").await;
}

/// The later Marketo change ended dead against the deleted member (its retries spent) before
/// the deletion was polled: the deletion still does not take the person out of the program.
#[tokio::test]
async fn a_deletion_processed_after_the_later_marketo_change_died_does_not_undo_it() {
    let world = slow_retries().await;
    let (lead, sf_lead, _) = deleted_then_changed_in_marketo(&world, "died@example.com").await;
    world.settle().await;
    world
        .app
        .store
        .execute_raw(
            "UPDATE signals SET state = 'dead' WHERE kind = 'marketo_member' AND state = 'pending'",
        )
        .await
        .unwrap();
    world.sf.advance_clock(PAST_THE_MINUTE);
    world
        .app
        .worker
        .poll_deleted_at(world.sf.now())
        .await
        .unwrap();
    world.settle().await;

    // The later Marketo change adds the person back.
    assert_eq!(world.mk_status(lead).as_deref(), Some("Attended"));
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Attended")
    );
}
