//! Flow actions share a round's batched calls: a smart campaign that adds hundreds of people to
//! a Salesforce campaign costs a handful of calls, not three to five per person, and several
//! actions for one person still apply in the order they came; one on a mapping that is off
//! waits in the campaign for the program until the mapping is on.

use serde_json::json;

use crate::world::World;

const PEOPLE: usize = 250;

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
async fn a_flow_action_while_its_mapping_is_off_reaches_the_program_once_it_is_on() {
    let world = World::with(crate::world::Options {
        admin_token: Some("admin".into()),
        ..Default::default()
    })
    .await;
    let switch = |state: &'static str| {
        world
            .app
            .client
            .post(world.app.url(&format!("/admin/mappings/webinar/{state}")))
            .bearer_auth("admin")
            .send()
    };
    let (lead, sf_lead) = world.person("paused@example.com");
    world.mk_sets(lead, "Invited");
    world.settle().await;
    assert_eq!(switch("disable").await.unwrap().status(), 200);
    world
        .marketo_webhook(json!({ "action": "change_campaign_status", "leadId": lead, "email": "paused@example.com", "campaignId": world.campaign, "status": "Registered" }))
        .await;
    world.settle().await;
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Registered"),
        "the flow action itself is applied"
    );
    assert_eq!(
        world.mk_status(lead).as_deref(),
        Some("Invited"),
        "not synced while off"
    );

    assert_eq!(switch("enable").await.unwrap().status(), 200);
    world.app.worker.reconcile().await;
    world.settle().await;
    assert_eq!(
        world.mk_status(lead).as_deref(),
        Some("Registered"),
        "the mirror kept what was synced, so the campaign's change is found"
    );
}
