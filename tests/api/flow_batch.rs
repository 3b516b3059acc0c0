//! Flow actions share a round's batched calls: a smart campaign that adds hundreds of people to
//! a Salesforce campaign costs a handful of calls, not three to five per person, and several
//! actions for one person still apply in the order they came; one on a mapping that is off, or
//! while campaign sync is off, writes nothing until it is on.

use serde_json::json;

use crate::world::World;

const PEOPLE: usize = 250;

/// A world whose admin API takes the token `admin`.
async fn with_admin() -> World {
    World::with(crate::world::Options {
        admin_token: Some("admin".into()),
        ..Default::default()
    })
    .await
}

fn rest_calls(log: &[campaign_sync::sim::calls::CallRecord]) -> usize {
    log.iter().filter(|c| c.kind == "rest").count()
}

#[tokio::test]
async fn a_campaign_adding_hundreds_of_people_costs_a_handful_of_calls() {
    let world = World::new().await;
    let mut people = Vec::new();
    for i in 0..PEOPLE {
        let email = format!("flow{i}@example.com");
        let (lead, sf_lead) = world.person(&email);
        world.marketo_webhook(json!({ "action": "add_to_campaign", "leadId": lead, "email": email, "campaignId": world.campaign, "status": "Registered" })).await;
        people.push((lead, sf_lead));
    }
    let (sf_before, mk_before) = (world.sf.requests().len(), world.mk.requests().len());
    world.app.worker.run_pending().await.unwrap();
    let sf_calls = rest_calls(&world.sf.requests()[sf_before..]);
    let mk_calls = rest_calls(&world.mk.requests()[mk_before..]);
    for (lead, sf_lead) in &people {
        assert_eq!(
            world.sf_member_status(sf_lead).as_deref(),
            Some("Registered")
        );
        assert_eq!(world.mk_status(*lead).as_deref(), Some("Registered"));
    }
    // People by e-mail (Contacts, then Leads: 2 × 2), their memberships (2), the new members
    // (2 collections of ≤200); in Marketo the program statuses (1 write of ≤300) and what it
    // reads around it. One action at a time cost at least 3 × 250 Salesforce calls.
    assert!(
        sf_calls <= 10,
        "{sf_calls} Salesforce calls for {PEOPLE} flow actions"
    );
    assert!(
        mk_calls <= 6,
        "{mk_calls} Marketo calls for {PEOPLE} flow actions"
    );
    let dead = world.app.store.dead(0, 10).await.unwrap();
    assert!(dead.is_empty(), "{dead:?}");
}

#[tokio::test]
async fn actions_for_one_person_apply_in_the_order_they_came() {
    let world = World::new().await;
    let (lead, sf_lead) = world.person("order@example.com");
    let action = |action: &str, status: Option<&str>| {
        let mut body = json!({ "action": action, "leadId": lead, "email": "order@example.com", "campaignId": world.campaign });
        if let Some(status) = status {
            body["status"] = json!(status);
        }
        body
    };
    world
        .marketo_webhook(action("add_to_campaign", Some("Invited")))
        .await;
    world
        .marketo_webhook(action("change_campaign_status", Some("Registered")))
        .await;
    world
        .marketo_webhook(action("remove_from_campaign", None))
        .await;
    world
        .marketo_webhook(action("add_to_campaign", Some("Attended")))
        .await;
    world.settle().await;
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Attended"),
        "added, moved, removed, then added again"
    );
}

#[tokio::test]
async fn a_flow_action_while_its_mapping_is_off_waits_and_then_reaches_both_sides() {
    let world = with_admin().await;
    let switch = async |state: &str| {
        let path = format!("/admin/mappings/webinar/{state}");
        world
            .app
            .admin(reqwest::Method::POST, &path, "admin")
            .await
            .0
    };
    let (lead, sf_lead) = world.person("paused@example.com");
    world.mk_sets(lead, "Invited");
    world.settle().await;
    assert_eq!(switch("disable").await, 200);
    world
        .marketo_webhook(json!({ "action": "change_campaign_status", "leadId": lead, "email": "paused@example.com", "campaignId": world.campaign, "status": "Registered" }))
        .await;
    world.settle().await;
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Invited"),
        "a switched-off mapping writes nothing, its campaign included"
    );
    assert_eq!(world.mk_status(lead).as_deref(), Some("Invited"));

    assert_eq!(switch("enable").await, 200);
    world.settle().await;
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Registered"),
        "the held flow action is applied once the mapping is on"
    );
    assert_eq!(world.mk_status(lead).as_deref(), Some("Registered"));
}

#[tokio::test]
async fn with_campaign_sync_off_a_flow_action_on_any_campaign_waits_until_it_is_on() {
    let world = with_admin().await;
    let switch = async |state: &str| {
        let path = format!("/admin/sync/{state}");
        world
            .app
            .admin(reqwest::Method::POST, &path, "admin")
            .await
            .0
    };
    let (lead, sf_lead) = world.person("sync-off@example.com");
    let other = world
        .sf
        .create_campaign(
            json!({ "Name": "Unmapped" }),
            &[campaign_sync::sim::salesforce::MemberStatus::new(
                "Sent", true, false,
            )],
        )
        .unwrap();
    assert_eq!(switch("disable").await, 200);
    world
        .marketo_webhook(json!({ "action": "add_to_campaign", "leadId": lead, "email": "sync-off@example.com", "campaignId": other, "status": "Sent" }))
        .await;
    world.settle().await;
    assert!(world.sf.members_of(&other).is_empty(), "nothing written");
    assert_eq!(switch("enable").await, 200);
    world.settle().await;
    let members = world.sf.members_of(&other);
    assert_eq!(members.len(), 1, "{members:?}");
    assert_eq!(members[0]["LeadId"], json!(sf_lead));
}

#[tokio::test]
async fn add_remove_add_while_the_mapping_is_off_ends_with_the_member_added() {
    let world = with_admin().await;
    let (lead, sf_lead) = world.person("again@example.com");
    world.mk_sets(lead, "Invited");
    world.settle().await;
    let off = world
        .app
        .admin(
            reqwest::Method::POST,
            "/admin/mappings/webinar/disable",
            "admin",
        )
        .await;
    assert_eq!(off.0, 200);
    let act = |action: &str, status: Option<&str>| json!({ "action": action, "leadId": lead, "email": "again@example.com", "campaignId": world.campaign, "status": status });
    let first = world
        .marketo_webhook(act("add_to_campaign", Some("Registered")))
        .await;
    world
        .marketo_webhook(act("remove_from_campaign", None))
        .await;
    let third = world
        .marketo_webhook(act("add_to_campaign", Some("Registered")))
        .await;
    assert_ne!(
        first, third,
        "the same body again is another action, not folded"
    );
    let on = world
        .app
        .admin(
            reqwest::Method::POST,
            "/admin/mappings/webinar/enable",
            "admin",
        )
        .await;
    assert_eq!(on.0, 200);
    world.settle().await;
    assert!(
        world.sf_member_status(&sf_lead).is_some(),
        "applied in the order they came: add, remove, add"
    );
}

/// A flow action naming a lead Marketo does not have (deleted, merged away, a wrong id) finds or
/// creates nobody in Salesforce from the e-mail the call carried: it ends dead saying so.
#[tokio::test]
async fn a_flow_action_for_a_lead_marketo_lacks_creates_no_salesforce_lead() {
    let world = World::new().await;
    let leads = |state: &serde_json::Value| state["objects"]["Lead"].as_array().unwrap().len();
    let leads_before = leads(&world.sf.state());
    world
        .marketo_webhook(json!({ "action": "add_to_campaign", "leadId": 88888, "email": "ghost@example.com", "campaignId": world.campaign, "status": "Registered" }))
        .await;
    world.settle().await;
    let state = world.sf.state();
    assert_eq!(
        leads(&state),
        leads_before,
        "no Lead made from the call's e-mail: {state}"
    );
    assert!(world.sf.members_of(&world.campaign).is_empty());
    let reason = the_dead_reason(&world).await;
    assert!(reason.contains("Marketo has no lead 88888"), "{reason}");
}

/// The e-mail a flow action carries is not Marketo's word for who the lead is: a wrong lead id
/// beside a known person's address neither joins that person nor lands in their history, and
/// the address finds no person for the bogus lead.
#[tokio::test]
async fn a_flow_action_for_a_lead_marketo_lacks_links_no_one_by_its_email() {
    use crate::admin_console::get;
    let world = crate::admin_console::world().await;
    let (lead, _, _) = world.synced_person("ada@example.com", "Registered").await;
    world
        .marketo_webhook(json!({ "action": "add_to_campaign", "leadId": 88888, "email": "ada@example.com", "campaignId": world.campaign, "status": "Attended" }))
        .await;
    world
        .marketo_webhook(json!({ "action": "add_to_campaign", "leadId": 77777, "email": "ghost@example.com", "campaignId": world.campaign, "status": "Attended" }))
        .await;
    world.settle().await;
    let dead = world
        .outcomes(campaign_sync::store::OutcomeResult::Dead)
        .await;
    assert_eq!(dead.len(), 2, "{dead:?}");
    let ada = get(&world, "/admin/people?q=ada@example.com").await["items"].clone();
    assert_eq!(ada.as_array().unwrap().len(), 1, "{ada}");
    assert_eq!(ada[0]["mkto_lead_id"], lead, "{ada}");
    let timeline = get(&world, &format!("/admin/people/{}/timeline", ada[0]["id"])).await;
    let outcomes = timeline["outcomes"].as_array().unwrap();
    assert!(
        !outcomes.iter().any(|o| o["result"] == "dead"),
        "{timeline}"
    );
    let deliveries = timeline["deliveries"].as_array().unwrap();
    assert!(
        !deliveries
            .iter()
            .any(|d| d["kind"] == "marketo_flow_action"),
        "{timeline}"
    );
    let ghost = get(&world, "/admin/people?q=ghost@example.com").await;
    assert_eq!(ghost["items"], json!([]), "{ghost}");
    let bogus = get(&world, "/admin/people?q=88888").await;
    assert_eq!(bogus["items"][0]["email"], json!(null), "{bogus}");
}

/// A flow action naming a campaign Salesforce does not have ends dead saying so: Salesforce's
/// refusal names no field, and the campaign, not the person, is what is missing.
#[tokio::test]
async fn a_flow_action_for_a_campaign_salesforce_lacks_says_the_campaign_is_missing() {
    let world = World::new().await;
    let (lead, _) = world.person("nocampaign@example.com");
    world
        .marketo_webhook(json!({ "action": "add_to_campaign", "leadId": lead, "campaignId": "7015g0000000009AAA", "status": "Registered" }))
        .await;
    world.settle().await;
    let reason = the_dead_reason(&world).await;
    assert!(
        reason.contains(
            "the campaign 7015g0000000009AAA does not exist in Salesforce (deleted, or a wrong id)"
        ),
        "{reason}"
    );
}

/// A status change on a person whose campaign member was deleted meanwhile (the deletion not
/// yet polled) adds them anew: the event is an add with no status before it, not a status
/// change from what the sync last wrote.
#[tokio::test]
async fn a_status_change_after_a_deletion_is_recorded_as_an_add() {
    let world = World::new().await;
    let (lead, sf_lead, member) = world.synced_person("readd@example.com", "Registered").await;
    world.sf.delete_member(crate::world::USER, &member).unwrap();
    let events_before = world.app.store.trigger_events(0, 100).await.unwrap().len();
    world
        .marketo_webhook(json!({ "action": "change_campaign_status", "leadId": lead, "campaignId": world.campaign, "status": "Attended" }))
        .await;
    world.settle().await;
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Attended")
    );
    let events = world.app.store.trigger_events(0, 100).await.unwrap();
    let campaign_events: Vec<_> = events[events_before..]
        .iter()
        .filter(|e| e.kind.as_str().contains("campaign"))
        .collect();
    assert_eq!(campaign_events.len(), 1, "{campaign_events:?}");
    assert_eq!(campaign_events[0].kind.as_str(), "added_to_campaign");
    assert_eq!(campaign_events[0].old_status, None, "{campaign_events:?}");
    let applied = world
        .outcomes(campaign_sync::store::OutcomeResult::Applied)
        .await;
    let campaign = applied
        .iter()
        .rfind(|o| o.connector == campaign_sync::kinds::Connector::Salesforce)
        .unwrap();
    assert_eq!(
        campaign.reason.as_deref(),
        Some("added to the campaign as Attended")
    );
}

/// A removal from a campaign Salesforce does not have ends dead saying so, not skipped as "not a
/// campaign member".
#[tokio::test]
async fn a_removal_from_a_campaign_salesforce_lacks_says_the_campaign_is_missing() {
    let world = World::new().await;
    let (lead, _) = world.person("noremove@example.com");
    world
        .marketo_webhook(json!({ "action": "remove_from_campaign", "leadId": lead, "campaignId": "7015g0000000009AAA" }))
        .await;
    world.settle().await;
    let reason = the_dead_reason(&world).await;
    assert!(
        reason.contains("the campaign 7015g0000000009AAA does not exist in Salesforce"),
        "{reason}"
    );
}

/// The reason of the world's one dead outcome.
async fn the_dead_reason(world: &World) -> String {
    let dead = world
        .outcomes(campaign_sync::store::OutcomeResult::Dead)
        .await;
    assert_eq!(dead.len(), 1, "{dead:?}");
    dead[0].reason.clone().unwrap()
}
