//! The sync worker end to end: both simulators, the real router and store, the worker driven
//! with `run_pending()`.

use campaign_sync::config::BackwardPolicy;
use campaign_sync::store::OutcomeResult;

use crate::world::{Options, USER, World};

#[tokio::test]
async fn a_marketo_status_change_reaches_salesforce_without_echo() {
    let world = World::new().await;
    let (lead, sf_lead) = world.person("ada@example.com");
    world.mk_sets(lead, "Registered");
    world.settle().await;
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Registered")
    );
    let (sf_writes, mk_writes) = world.writes();
    assert_eq!(mk_writes, 0, "nothing written back to Marketo");
    assert_eq!(sf_writes, 1, "one collection call created the member");

    world.mk_sets(lead, "Attended");
    world.settle().await;
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Attended")
    );
    assert_eq!(world.writes(), (2, 0));
    let events = world.app.store.trigger_events(0, 10).await.unwrap();
    let kinds: Vec<_> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["added_to_campaign", "campaign_status_changed"]);
    assert_eq!(events[1].old_status.as_deref(), Some("Registered"));
    assert_eq!(events[1].new_status.as_deref(), Some("Attended"));
}

#[tokio::test]
async fn a_salesforce_status_change_reaches_marketo_and_its_webhook_echo_writes_nothing() {
    let world = World::new().await;
    let (lead, sf_lead) = world.person("grace@example.com");
    let member = world.sf_adds(&sf_lead, Some("Invited"));
    world.settle().await;
    assert_eq!(world.mk_status(lead).as_deref(), Some("Invited"));
    world.sf.update_member(USER, &member, "Registered").unwrap();
    world.settle().await;
    assert_eq!(world.mk_status(lead).as_deref(), Some("Registered"));
    // Marketo fired its webhook for each of our status writes; each came back as an echo.
    let (sf_writes, mk_writes) = world.writes();
    assert_eq!(sf_writes, 0, "no write went back to Salesforce");
    assert_eq!(mk_writes, 2, "one status sync per change");
    let skipped = world.outcomes(OutcomeResult::Skipped).await;
    assert!(
        skipped
            .iter()
            .any(|o| o.reason.as_deref().is_some_and(|r| r.contains("echo"))),
        "{skipped:?}"
    );
}

#[tokio::test]
async fn an_integration_user_that_sends_outbound_messages_causes_no_echo_writes() {
    let world = World::with(Options {
        integration_sends_outbound: true,
        ..Options::default()
    })
    .await;
    let (lead, sf_lead) = world.person("echo@example.com");
    world.mk_sets(lead, "Registered");
    world.settle().await;
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Registered")
    );
    assert_eq!(
        world.writes(),
        (1, 0),
        "our own outbound message came back and was suppressed"
    );
}

#[tokio::test]
async fn a_salesforce_move_backwards_is_recorded_as_diverged() {
    let world = World::new().await;
    let (lead, sf_lead, member) = world.synced_person("back@example.com", "Attended").await;
    world.sf.update_member(USER, &member, "Registered").unwrap();
    world.settle().await;
    assert_eq!(
        world.mk_status(lead).as_deref(),
        Some("Attended"),
        "Marketo only moves forward"
    );
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Registered"),
        "kept by default"
    );
    let diverged = world.outcomes(OutcomeResult::Diverged).await;
    assert_eq!(diverged.len(), 1);
    assert!(
        diverged[0].reason.as_deref().unwrap().contains("1037"),
        "{diverged:?}"
    );
    // The campaign's status did change, by a Salesforce user: its trigger event, though
    // nothing was written (a Marketo trigger on the campaign status must still fire).
    let events = world.app.store.trigger_events(0, 100).await.unwrap();
    let last = events.last().unwrap();
    assert_eq!(
        (
            last.kind,
            last.actor,
            last.old_status.as_deref(),
            last.new_status.as_deref()
        ),
        (
            campaign_sync::kinds::TriggerKind::CampaignStatusChanged,
            campaign_sync::kinds::Actor::Salesforce,
            Some("Attended"),
            Some("Registered")
        ),
        "{events:?}"
    );
    // A reconciliation plans no write for them, but does not call them in sync either.
    let worker = &world.app.worker;
    let mapping = worker.mappings().by_name("webinar").unwrap().clone();
    let preview = worker.reconcile_mapping(&mapping, true).await.unwrap();
    assert_eq!(preview.differences, 0, "{preview:?}");
    assert!(preview.changes.is_empty(), "{preview:?}");
    assert_eq!(preview.diverged.len(), 1, "{preview:?}");
    let divergence = &preview.diverged[0];
    assert_eq!(divergence.person, "back@example.com");
    assert_eq!(divergence.marketo_lead_id, Some(lead));
    assert_eq!(divergence.salesforce_id.as_deref(), Some(sf_lead.as_str()));
    assert_eq!(divergence.salesforce_status.as_deref(), Some("Registered"));
    assert_eq!(divergence.marketo_status.as_deref(), Some("Attended"));
}

#[tokio::test]
async fn the_reset_policy_sets_salesforce_back_to_marketos_status() {
    let world = World::with(Options {
        backward_policy: BackwardPolicy::ResetSalesforce,
        ..Options::default()
    })
    .await;
    let (lead, sf_lead, member) = world.synced_person("reset@example.com", "Attended").await;
    world.sf.update_member(USER, &member, "Registered").unwrap();
    world.settle().await;
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Attended")
    );
    assert_eq!(world.mk_status(lead).as_deref(), Some("Attended"));
    // Set back, the two sides agree: not a divergence left for an operator to look at.
    let diverged = world.outcomes(OutcomeResult::Diverged).await;
    assert!(diverged.is_empty(), "{diverged:?}");
    let skipped = world.outcomes(OutcomeResult::Skipped).await;
    assert!(
        skipped.iter().any(|o| o.reason.as_deref().is_some_and(
            |r| r.contains("1037") && r.contains("set back to Attended (reset_salesforce)")
        )),
        "{skipped:?}"
    );
    // The move back was a change in Salesforce, then the reset another: an event each.
    let events = world.app.store.trigger_events(0, 100).await.unwrap();
    let last: Vec<_> = events
        .iter()
        .rev()
        .take(2)
        .rev()
        .map(|e| {
            (
                e.kind,
                e.actor,
                e.old_status.as_deref(),
                e.new_status.as_deref(),
            )
        })
        .collect();
    use campaign_sync::kinds::{Actor, TriggerKind::CampaignStatusChanged};
    assert_eq!(
        last,
        [
            (
                CampaignStatusChanged,
                Actor::Salesforce,
                Some("Attended"),
                Some("Registered")
            ),
            (
                CampaignStatusChanged,
                Actor::CampaignSync,
                Some("Registered"),
                Some("Attended")
            ),
        ],
        "{events:?}"
    );
}

/// A reset Salesforce refuses for good is dead naming the Salesforce write and the status it
/// was to set back, not Marketo's write (which Marketo answered).
#[tokio::test]
async fn a_reset_refused_for_good_names_the_salesforce_write() {
    let world = World::with(Options {
        backward_policy: BackwardPolicy::ResetSalesforce,
        ..Options::default()
    })
    .await;
    let (_, _, member) = world
        .synced_person("reset.dead@example.com", "Attended")
        .await;
    world.sf.update_member(USER, &member, "Registered").unwrap();
    world.refuse_member_writes().await;
    world.settle().await;
    let dead = world.outcomes(OutcomeResult::Dead).await;
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(
        dead[0].connector,
        campaign_sync::kinds::Connector::Salesforce
    );
    let reason = dead[0].reason.as_deref().unwrap();
    assert!(
        reason.starts_with(
            "writing the Salesforce campaign member to \"Attended\" (mapping webinar)"
        ) && reason.contains("FIELD_CUSTOM_VALIDATION_EXCEPTION"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_reset_salesforce_refused_is_retried_not_left_diverged() {
    let world = World::with(Options {
        backward_policy: BackwardPolicy::ResetSalesforce,
        ..Options::default()
    })
    .await;
    let (_, sf_lead, member) = world.synced_person("relock@example.com", "Attended").await;
    world.sf.update_member(USER, &member, "Registered").unwrap();
    // The one write of the first round, the reset, meets a locked campaign row.
    world.sf.hold_campaign_lock(&world.campaign, 1).unwrap();
    world.settle().await;
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Attended"),
        "set back on the retry"
    );
    let dead = world.outcomes(OutcomeResult::Dead).await;
    assert!(dead.is_empty(), "{dead:?}");
}

#[tokio::test]
async fn a_member_deleted_in_salesforce_leaves_the_program_after_the_poll() {
    let world = World::new().await;
    let (lead, _, member) = world.synced_person("gone@example.com", "Registered").await;
    world.sf.delete_member(USER, &member).unwrap();
    assert_eq!(
        world.sf.deliver_outbound_now().await.notifications,
        0,
        "deletes send nothing"
    );
    // Salesforce reports a deletion once its minute has passed.
    world.sf.advance_clock(std::time::Duration::from_secs(90));
    let later = campaign_sync::store::now_millis() + 90_000;
    let found = world.app.worker.poll_deleted_at(later).await.unwrap();
    assert_eq!(found, 1);
    world.settle().await;
    assert_eq!(world.mk_status(lead), None);
    let kinds: Vec<_> = world
        .app
        .store
        .trigger_events(0, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert!(
        kinds.contains(&campaign_sync::kinds::TriggerKind::RemovedFromProgram),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn status_names_are_translated_by_the_mapping_both_ways() {
    let status_map = [("Attended".to_string(), "Responded".to_string())].into();
    let world = World::with(Options {
        status_map,
        ..Options::default()
    })
    .await;
    world.app.worker.check_statuses().await;
    assert!(
        !world.app.worker.mappings().all()[0].is_held(),
        "mapped statuses are compatible"
    );
    let (lead, sf_lead) = world.person("map@example.com");
    world.mk_sets(lead, "Attended");
    world.settle().await;
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Responded")
    );
    let (other, other_sf) = world.person("map2@example.com");
    world.sf_adds(&other_sf, Some("Responded"));
    world.settle().await;
    assert_eq!(world.mk_status(other).as_deref(), Some("Attended"));
}

/// Reconciliation lists a program's members with one paged query for all its statuses
/// (`filterValues` takes many), not one query per status.
#[tokio::test]
async fn reconciliation_lists_a_programs_members_in_one_query_for_all_statuses() {
    let world = World::new().await;
    let (ada, _) = world.person("ada.q@example.com");
    let (grace, _) = world.person("grace.q@example.com");
    world.mk_sets(ada, "Invited");
    world.mk_sets(grace, "Attended");
    world.settle().await;
    let before = world.mk.requests().len();
    let worker = &world.app.worker;
    let mapping = worker.mappings().by_name("webinar").unwrap().clone();
    let preview = worker.reconcile_mapping(&mapping, true).await.unwrap();
    assert_eq!(preview.differences, 0, "{preview:?}");
    assert_eq!(preview.marketo_members, 2, "{preview:?}");
    let by_status: Vec<String> = world.mk.requests()[before..]
        .iter()
        .filter(|r| r.path.ends_with("/members.json"))
        .filter_map(|r| r.query.clone())
        .filter(|q| q.contains("filterType=statusName"))
        .collect();
    assert_eq!(by_status.len(), 1, "{by_status:?}");
}

/// Someone whose sides both moved while the service heard nothing, to the same status, is in
/// sync: not a difference, though a reconciliation brings their stored state up to date.
#[tokio::test]
async fn people_in_sync_with_a_stale_stored_state_are_not_differences() {
    let world = World::new().await;
    let (lead, sf_lead) = world.person("both.moved@example.com");
    world.mk_sets(lead, "Registered");
    world.settle().await;
    // Both sides move to Attended; neither the webhook nor an outbound message arrives.
    world.mk_sets(lead, "Attended");
    let member = world.sf_member_id(&sf_lead).unwrap();
    world
        .sf
        .update_member(crate::world::INTEGRATION, &member, "Attended")
        .unwrap();
    let worker = &world.app.worker;
    let mapping = worker.mappings().by_name("webinar").unwrap().clone();
    let preview = worker.reconcile_mapping(&mapping, true).await.unwrap();
    assert_eq!(
        (preview.differences, preview.refreshed),
        (0, 1),
        "{preview:?}"
    );
    assert!(preview.changes.is_empty(), "{preview:?}");
}

/// A member gone from Salesforce has no e-mail in the campaign's listing; the reconciliation
/// still names them by the e-mail the service knows them by.
#[tokio::test]
async fn a_change_for_someone_gone_from_salesforce_is_named_by_their_email() {
    let world = World::new().await;
    let (_, _, member) = world
        .synced_person("gone.sf@example.com", "Registered")
        .await;
    world
        .sf
        .delete_member(crate::world::INTEGRATION, &member)
        .unwrap();
    let worker = &world.app.worker;
    let mapping = worker.mappings().by_name("webinar").unwrap().clone();
    let preview = worker.reconcile_mapping(&mapping, true).await.unwrap();
    let people: Vec<&str> = preview.changes.iter().map(|c| c.person.as_str()).collect();
    assert_eq!(people, ["gone.sf@example.com"], "{preview:?}");
}
