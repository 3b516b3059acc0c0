//! The deleted-records poll at getDeleted's limits: deletions Salesforce can no longer report
//! (an outage of more than 15 days, a purged delete log) queue a reconciliation instead of being
//! lost quietly, and a window holding too many deletions for one answer is halved.

use std::time::Duration;

use campaign_sync::store::cursors::SALESFORCE_DELETED;
use campaign_sync::store::now_millis;

use crate::world::{Options, USER, World};

const DAY_MS: i64 = 86_400_000;

/// Runs the deleted-records poll as if at `now`; the number of deletions it recorded.
async fn poll(world: &World, now: i64) -> usize {
    world.app.worker.poll_deleted_at(now).await.unwrap()
}

#[tokio::test]
async fn a_poll_resumed_after_fifteen_days_queues_a_reconciliation() {
    let world = World::new().await;
    let now = now_millis();
    let stopped = now - 20 * DAY_MS;
    world
        .app
        .store
        .set_cursor(SALESFORCE_DELETED, &stopped.to_string(), now)
        .await
        .unwrap();
    poll(&world, now).await;
    let job = world.app.store.job(1).await.unwrap().expect("a job");
    assert_eq!(
        (job.kind.as_str(), job.state.as_str()),
        ("reconcile", "queued")
    );
    assert_eq!(job.params["dry_run"], false);
    let reason = job.params["reason"].as_str().unwrap();
    assert!(reason.contains("more than 15 days"), "{reason}");
    // The poll went on from as far back as Salesforce allows, and queues nothing more.
    poll(&world, now + 1_000).await;
    assert!(world.app.store.job(2).await.unwrap().is_none());
}

#[tokio::test]
async fn a_purged_delete_log_queues_a_reconciliation_that_removes_the_member() {
    let world = World::new().await;
    let (lead, sf_lead) = world.person("purged@example.com");
    world.mk_sets(lead, "Registered");
    world.settle().await;
    let first = now_millis();
    poll(&world, first).await;
    assert!(
        world.app.store.job(1).await.unwrap().is_none(),
        "nothing lost yet"
    );
    // A deletion, then the org purges its log before the next poll.
    let member = world.sf_member_id(&sf_lead).unwrap();
    world.sf.delete_member(USER, &member).unwrap();
    world.sf.advance_clock(std::time::Duration::from_secs(150));
    world.sf.purge_delete_log();
    let found = poll(&world, first + 150_000).await;
    assert_eq!(found, 0, "the deletion is no longer reported");
    let job = world.app.store.job(1).await.unwrap().expect("a job");
    let reason = job.params["reason"].as_str().unwrap();
    assert!(reason.contains("purged"), "{reason}");
    // The leader runs the job: the reconciliation finds the member gone and removes it.
    world.app.worker.run_jobs().await.unwrap();
    world.settle().await;
    assert_eq!(world.mk_status(lead), None);
}

/// More deletions in one window than getDeleted answers with (`EXCEEDED_ID_LIMIT`; 600,000 in
/// Salesforce, two here): the poll asks for half the window, and the next poll the rest.
#[tokio::test]
async fn a_window_with_too_many_deletions_is_halved_and_nothing_is_missed() {
    let mut options = Options::default();
    options.sf.deleted_id_limit = 2;
    let world = World::with(options).await;
    let first = now_millis();
    poll(&world, first).await;
    let mut members = Vec::new();
    for i in 0..3 {
        let (lead, sf_lead) = world.person(&format!("many{i}@example.com"));
        world.mk_sets(lead, "Registered");
        world.settle().await;
        members.push((lead, world.sf_member_id(&sf_lead).unwrap()));
    }
    // One deletion every two minutes.
    for (_, member) in &members {
        world.sf.delete_member(USER, member).unwrap();
        world.sf.advance_clock(Duration::from_secs(120));
    }
    let later = first + 6 * 60_000 + 30_000;
    let found = poll(&world, later).await;
    assert!((1..=2).contains(&found), "half the window: {found}");
    poll(&world, later + 1_000).await;
    world.settle().await;
    for (lead, _) in &members {
        assert_eq!(world.mk_status(*lead), None, "lead {lead} left the program");
    }
    let refused = world
        .sf
        .requests()
        .iter()
        .filter(|r| r.error_code.as_deref() == Some("EXCEEDED_ID_LIMIT"))
        .count();
    assert!(refused >= 1, "the first ask was refused");
}

/// The org reports every CampaignMember deletion: the sync's own removals, and members of
/// campaigns no mapping names. None of them is a change to sync, so none becomes a signal
/// (each would be listed as a skipped change the operator has to read past).
#[tokio::test]
async fn the_syncs_own_removals_and_other_campaigns_deletions_are_not_recorded() {
    let world = World::new().await;
    let (lead, sf_lead) = world.person("own@example.com");
    world.mk_sets(lead, "Registered");
    world.settle().await;
    let first = now_millis();
    poll(&world, first).await;
    // The sync removes the member (a Marketo flow action), and a Salesforce user deletes a
    // member of a campaign no mapping names.
    world
        .marketo_webhook(serde_json::json!({ "action": "remove_from_campaign", "leadId": lead, "campaignId": world.campaign }))
        .await;
    world.settle().await;
    assert_eq!(
        world.sf_member_status(&sf_lead),
        None,
        "removed by the sync"
    );
    let other = world
        .sf
        .create_campaign(serde_json::json!({ "Name": "Newsletter" }), &[])
        .unwrap();
    let elsewhere = world.sf.add_member(USER, &other, &sf_lead, None).unwrap();
    world.settle().await;
    world.sf.delete_member(USER, &elsewhere).unwrap();
    world.sf.advance_clock(Duration::from_secs(150));
    let skipped_before = world
        .outcomes(campaign_sync::kinds::OutcomeResult::Skipped)
        .await
        .len();

    let found = poll(&world, first + 150_000).await;
    assert_eq!(found, 0, "neither deletion is the sync's business");
    world.settle().await;
    let skipped = world
        .outcomes(campaign_sync::kinds::OutcomeResult::Skipped)
        .await;
    assert_eq!(skipped.len(), skipped_before, "{skipped:?}");
}

/// A member a Salesforce user adds and deletes before the worker processed the add: the
/// waiting add names the member, so its deletion is kept and the two end with no member.
#[tokio::test]
async fn a_deletion_of_a_member_whose_add_is_still_waiting_is_kept() {
    let world = World::new().await;
    let (lead, sf_lead) = world.person("brief@example.com");
    let first = now_millis();
    poll(&world, first).await;
    let member = world.sf_adds(&sf_lead, Some("Registered"));
    world.sf.deliver_outbound_now().await;
    world.wait_for_due_signals(1).await;
    world.sf.delete_member(USER, &member).unwrap();
    world.sf.advance_clock(Duration::from_secs(150));

    let found = poll(&world, first + 150_000).await;
    assert_eq!(found, 1, "the deletion of a member with a waiting add");
    world.settle().await;
    assert_eq!(world.mk_status(lead), None, "added and deleted: no member");
}

/// A Salesforce Lead added to the campaign and deleted from it before the worker processed the
/// add, whom Marketo does not have: no Marketo person is created for a membership that is gone
/// (it would be a lead without names, credited to the program, with no membership left).
#[tokio::test]
async fn no_marketo_person_is_created_for_a_member_deleted_before_its_add_was_processed() {
    let world = World::new().await;
    let sf_lead = world
        .sf
        .create_lead(serde_json::json!({ "LastName": "Fleeting", "Company": "Brief", "Email": "fleeting@example.com" }))
        .unwrap();
    let first = now_millis();
    poll(&world, first).await;
    let member = world.sf_adds(&sf_lead, Some("Registered"));
    world.sf.deliver_outbound_now().await;
    world.wait_for_due_signals(1).await;
    world.sf.delete_member(USER, &member).unwrap();
    world.sf.advance_clock(Duration::from_secs(150));

    assert_eq!(poll(&world, first + 150_000).await, 1);
    world.settle().await;
    let created: Vec<_> = world
        .mk
        .leads()
        .into_iter()
        .filter(|l| l.email() == Some("fleeting@example.com"))
        .collect();
    assert!(created.is_empty(), "{created:?}");
    assert!(world.mk.members(crate::world::PROGRAM).is_empty());
    let dead = world.app.store.dead(0, 10).await.unwrap();
    assert!(dead.is_empty(), "{dead:?}");
}
