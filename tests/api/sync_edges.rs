//! The sync worker's edges: stale and unmapped signals, flow actions, and bursts of duplicated,
//! reordered messages (faults, token expiry and dead items are in `sync_failures.rs`).

use campaign_sync::signal::{NewSignal, SalesforceMember, Signal};
use campaign_sync::sim::salesforce::{MemberStatus, OutboundConfig};
use campaign_sync::store::{OutcomeResult, now_millis};
use serde_json::json;

use crate::world::{Options, USER, World};

pub(crate) async fn reasons(world: &World, result: OutcomeResult) -> Vec<String> {
    world
        .outcomes(result)
        .await
        .into_iter()
        .filter_map(|o| o.reason)
        .collect()
}

#[tokio::test]
async fn a_stale_outbound_message_changes_nothing() {
    let world = World::new().await;
    let (lead, sf_lead) = world.person("stale@example.com");
    let member = world.sf_adds(&sf_lead, Some("Attended"));
    world.settle().await;
    assert_eq!(world.mk_status(lead).as_deref(), Some("Attended"));
    // An old notification (Salesforce retries for 24 hours) arrives late.
    let old = Signal::SalesforceMember(SalesforceMember {
        notification_id: "04l000000000001AAA".into(),
        organization_id: world.sf.config().organization_id.clone(),
        member_id: member,
        campaign_id: Some(world.campaign.clone()),
        lead_id: Some(sf_lead),
        contact_id: None,
        email: Some("stale@example.com".into()),
        status: Some("Invited".into()),
        has_responded: Some(false),
        created_date: Some("2020-01-01T00:00:00.000Z".into()),
        last_modified_date: Some("2020-01-01T00:00:00.000Z".into()),
        system_modstamp: Some("2020-01-01T00:00:00.000Z".into()),
    });
    world
        .app
        .store
        .record(
            vec![NewSignal::new("sf:notification:old", old)],
            now_millis(),
        )
        .await
        .unwrap();
    let writes = world.writes();
    world.settle().await;
    assert_eq!(world.writes(), writes);
    assert!(
        reasons(&world, OutcomeResult::Skipped)
            .await
            .iter()
            .any(|r| r.starts_with("stale"))
    );
}

#[tokio::test]
async fn unmapped_campaigns_are_skipped_with_a_reason() {
    let world = World::new().await;
    let (_, sf_lead) = world.person("other@example.com");
    let other = world
        .sf
        .create_campaign(json!({ "Name": "Not synced" }), &[])
        .unwrap();
    world.sf.add_member(USER, &other, &sf_lead, None).unwrap();
    world.settle().await;
    assert_eq!(world.writes(), (0, 0));
    let skipped = reasons(&world, OutcomeResult::Skipped).await;
    assert!(
        skipped
            .iter()
            .any(|r| r.contains(&other) && r.contains("not mapped")),
        "{skipped:?}"
    );
}

/// An unmapped campaign with two member statuses.
fn newsletter(world: &World) -> String {
    world
        .sf
        .create_campaign(
            json!({ "Name": "Newsletter" }),
            &[
                MemberStatus::new("Sent", true, false),
                MemberStatus::new("Opened", false, true),
            ],
        )
        .unwrap()
}

#[tokio::test]
async fn flow_actions_apply_to_any_campaign_and_mirror_to_a_mapped_program() {
    let world = World::new().await;
    let (lead, sf_lead) = world.person("flow@example.com");
    let other = newsletter(&world);
    world.marketo_webhook(json!({ "action": "add_to_campaign", "leadId": lead.to_string(), "email": "flow@example.com", "campaignId": other, "status": "Sent" })).await;
    world.marketo_webhook(json!({ "action": "change_campaign_status", "leadId": lead.to_string(), "email": "flow@example.com", "campaignId": world.campaign, "status": "Registered" })).await;
    world.settle().await;
    let newsletter: Vec<_> = world
        .sf
        .members_of(&other)
        .into_iter()
        .filter_map(|m| m.get("Status").and_then(|s| s.as_str()).map(str::to_string))
        .collect();
    assert_eq!(newsletter, ["Sent"]);
    // The unmapped campaign's write says what it did, as a mapped one's does.
    let flow_outcomes: Vec<_> = world
        .outcomes(OutcomeResult::Applied)
        .await
        .into_iter()
        .filter(|o| o.action == campaign_sync::kinds::Action::FlowAction)
        .collect();
    assert_eq!(
        flow_outcomes
            .iter()
            .map(|o| o.reason.as_deref())
            .collect::<Vec<_>>(),
        [Some("added to the campaign as Sent")],
        "{flow_outcomes:?}"
    );
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Registered")
    );
    assert_eq!(
        world.mk_status(lead).as_deref(),
        Some("Registered"),
        "mirrored to the mapped program"
    );
    // "Add" leaves an existing member's status alone, as Marketo does; "Remove" removes.
    world.marketo_webhook(json!({ "action": "add_to_campaign", "leadId": lead, "campaignId": other, "status": "Opened" })).await;
    world.marketo_webhook(json!({ "action": "remove_from_campaign", "leadId": lead, "campaignId": world.campaign }),
    )
    .await;
    world.settle().await;
    let newsletter: Vec<_> = world
        .sf
        .members_of(&other)
        .into_iter()
        .filter_map(|m| m.get("Status").and_then(|s| s.as_str()).map(str::to_string))
        .collect();
    assert_eq!(newsletter, ["Sent"]);
    assert_eq!(world.sf_member_status(&sf_lead), None);
    assert_eq!(
        world.mk_status(lead),
        None,
        "removal mirrored to the program"
    );
    let kinds: Vec<_> = world
        .app
        .store
        .trigger_events(0, 20)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert!(
        kinds.contains(&campaign_sync::kinds::TriggerKind::RemovedFromCampaign)
            && kinds.contains(&campaign_sync::kinds::TriggerKind::RemovedFromProgram),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn a_burst_of_duplicated_and_reordered_outbound_messages_converges() {
    let mut options = Options::default();
    options.sf.seed = 7;
    let mut outbound = OutboundConfig::to("http://127.0.0.1:9/set-by-world");
    outbound.duplicate_probability = 0.5;
    outbound.reorder_probability = 0.5;
    options.sf.outbound = Some(outbound);
    let world = World::with(options).await;
    let mut people = Vec::new();
    for i in 0..30 {
        let (lead, sf_lead) = world.person(&format!("burst{i}@example.com"));
        let member = world.sf_adds(&sf_lead, Some("Invited"));
        people.push((lead, member));
    }
    for (i, (_, member)) in people.iter().enumerate() {
        world.sf.update_member(USER, member, "Registered").unwrap();
        if i % 2 == 0 {
            world.sf.update_member(USER, member, "Attended").unwrap();
        }
    }
    world.settle().await;
    for (i, (lead, _)) in people.iter().enumerate() {
        let expected = if i % 2 == 0 { "Attended" } else { "Registered" };
        assert_eq!(
            world.mk_status(*lead).as_deref(),
            Some(expected),
            "person {i}"
        );
    }
}

#[tokio::test]
async fn a_disabled_mapping_keeps_its_signals_and_catches_up_when_enabled() {
    let world = World::with(Options {
        admin_token: Some("admin".into()),
        ..Options::default()
    })
    .await;
    let switch = |action: &'static str| {
        let request = world
            .app
            .client
            .post(world.app.url(&format!("/admin/mappings/webinar/{action}")))
            .bearer_auth("admin");
        async move { assert_eq!(request.send().await.unwrap().status(), 200) }
    };
    switch("disable").await;
    let (lead, sf_lead) = world.person("paused@example.com");
    world.mk_sets(lead, "Registered");
    world.settle().await;
    assert_eq!(
        world.sf_member_status(&sf_lead),
        None,
        "nothing written while disabled"
    );
    assert_eq!(world.writes(), (0, 0));
    switch("enable").await;
    world.settle().await;
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Registered")
    );
}

#[tokio::test]
async fn a_flow_status_change_on_a_member_deleted_meanwhile_is_retried_not_reported_applied() {
    let world = World::new().await;
    let (lead, sf_lead) = world.person("gone@example.com");
    let other = newsletter(&world);
    world
        .sf
        .add_member(USER, &other, &sf_lead, Some("Sent"))
        .unwrap();
    // The member's next write finds it deleted (a user removed it between lookup and update).
    world
        .sf_fault(json!({ "error_code": "ENTITY_IS_DELETED", "calls": 1 }))
        .await;
    let body = json!({ "action": "change_campaign_status", "leadId": lead, "email": "gone@example.com", "campaignId": other, "status": "Opened" });
    let id = world.marketo_webhook(body).await;
    world.settle().await;
    let (state, attempts, _) = world.app.store.signal_state(id).await.unwrap().unwrap();
    assert_eq!(state, "done");
    assert_eq!(
        attempts, 2,
        "the first write found the member gone and was retried"
    );
    let statuses: Vec<_> = world
        .sf
        .members_of(&other)
        .into_iter()
        .filter_map(|m| m.get("Status").and_then(|s| s.as_str()).map(str::to_string))
        .collect();
    assert_eq!(statuses, ["Opened"]);
}

#[tokio::test]
async fn a_flow_action_on_an_unmapped_campaign_records_what_happened_with_the_status_before() {
    use campaign_sync::kinds::TriggerKind;
    let world = World::new().await;
    let (lead, _) = world.person("events@example.com");
    let other = newsletter(&world);
    // Its 15-character form names the same campaign: the events carry the 18-character one.
    let short = &other[..15];
    let act = |action: &str, campaign: &str, status: Option<&str>| json!({ "action": action, "leadId": lead, "email": "events@example.com", "campaignId": campaign, "status": status });
    // A status change on someone not yet a member makes them one: an add.
    world
        .marketo_webhook(act("change_campaign_status", &other, Some("Sent")))
        .await;
    world.settle().await;
    world
        .marketo_webhook(act("change_campaign_status", short, Some("Opened")))
        .await;
    world.settle().await;
    world
        .marketo_webhook(act("remove_from_campaign", short, None))
        .await;
    world.settle().await;
    let events: Vec<_> = world
        .app
        .store
        .trigger_events(0, 10)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.campaign_id.as_deref() == Some(other.as_str()))
        .map(|e| (e.kind, e.old_status, e.new_status))
        .collect();
    assert_eq!(
        events,
        [
            (TriggerKind::AddedToCampaign, None, Some("Sent".to_string())),
            (
                TriggerKind::CampaignStatusChanged,
                Some("Sent".to_string()),
                Some("Opened".to_string())
            ),
            (
                TriggerKind::RemovedFromCampaign,
                Some("Opened".to_string()),
                None
            ),
        ]
    );
}

/// A first sync on memberships the native sync left on both sides: the service has never seen
/// this person, so its mirror knows nothing, yet a change on either side moves someone who is
/// already a member of the other. The trigger feed says "status changed", never "added".
#[tokio::test]
async fn a_first_change_of_an_existing_member_is_a_status_change_not_an_addition() {
    use campaign_sync::kinds::TriggerKind;
    let world = World::with(Options {
        webhooks: false,
        ..Default::default()
    })
    .await;
    let (lead, sf_lead) = world.person("alan@example.com");
    // Years of native sync: a member on both sides, at the first status; nothing told us.
    world.mk_sets(lead, "Invited");
    world.sf_adds_unheard(&sf_lead, "Invited");

    // A Marketo user moves Alan on; the webhook reaches the service.
    world.mk_sets(lead, "Registered");
    world
        .marketo_webhook(json!({ "leadId": lead, "programId": crate::world::PROGRAM, "email": "alan@example.com", "trigger": "Program Status is Changed" }))
        .await;
    world.settle().await;
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Registered")
    );
    let events = world.app.store.trigger_events(0, 10).await.unwrap();
    let campaign: Vec<_> = events
        .iter()
        .filter(|e| e.campaign_id.is_some() && e.kind != TriggerKind::ProgramStatusChanged)
        .collect();
    assert_eq!(campaign.len(), 1, "{events:?}");
    assert_eq!(campaign[0].kind, TriggerKind::CampaignStatusChanged);
    assert_eq!(campaign[0].old_status.as_deref(), Some("Invited"));

    // Grace too, the other way: a Salesforce user moves her, Marketo answers `updated`.
    let (grace, grace_sf) = world.person("grace@example.com");
    world.mk_sets(grace, "Invited");
    let member = world.sf_adds_unheard(&grace_sf, "Invited");
    world.sf.update_member(USER, &member, "Attended").unwrap();
    world.settle().await;
    assert_eq!(world.mk_status(grace).as_deref(), Some("Attended"));
    let events = world.app.store.trigger_events(0, 20).await.unwrap();
    let theirs: Vec<_> = events
        .iter()
        .filter(|e| e.person != campaign[0].person)
        .collect();
    assert_eq!(theirs.len(), 1, "{events:?}");
    assert_eq!(theirs[0].kind, TriggerKind::ProgramStatusChanged);
    assert_eq!(theirs[0].new_status.as_deref(), Some("Attended"));
}
