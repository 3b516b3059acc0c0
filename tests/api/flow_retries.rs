//! A flow action's retries and failures: dead with whom and what it wrote, the program write
//! it owes made on its retry, and none owed when it wrote no campaign itself.

use campaign_sync::store::OutcomeResult;
use serde_json::json;

use crate::world::World;

/// A flow action Salesforce refuses for good (a campaign that does not exist) ends dead with an
/// outcome naming the person and the campaign write, not "none".
#[tokio::test]
async fn a_dead_flow_action_names_whom_and_what() {
    let world = World::new().await;
    let (lead, _) = world.person("gone@example.com");
    world.marketo_webhook(json!({ "action": "add_to_campaign", "leadId": lead.to_string(), "email": "gone@example.com", "campaignId": "701000000000099AAA", "status": "Sent" })).await;
    world.settle().await;
    let dead = world
        .outcomes(campaign_sync::store::OutcomeResult::Dead)
        .await;
    assert_eq!(dead.len(), 1, "{dead:?}");
    let outcome = &dead[0];
    assert_eq!(
        (outcome.connector, outcome.action),
        (
            campaign_sync::kinds::Connector::Salesforce,
            campaign_sync::kinds::Action::FlowAction
        ),
        "{outcome:?}"
    );
    assert!(outcome.person.is_some(), "{outcome:?}");
    assert_eq!(outcome.mapping, None, "no mapping covers that campaign");
    let person = outcome.person.clone().unwrap();
    let identity = world
        .app
        .store
        .identity(person.parse().unwrap())
        .await
        .unwrap()
        .expect("the person");
    assert_eq!(identity.mkto_lead_id, Some(lead));
}

/// A flow action whose campaign write went through but whose program write failed is retried,
/// and the retry, finding the campaign done already, still makes the program write it owes.
#[tokio::test]
async fn a_flow_actions_program_write_is_made_on_its_retry() {
    let world = World::new().await;
    let (lead, sf_lead) = world.person("owed@example.com");
    world.mk_sets(lead, "Invited");
    world.settle().await;
    assert_eq!(world.sf_member_status(&sf_lead).as_deref(), Some("Invited"));
    // The round's one Marketo call, the program write, times out once.
    world.mk.inject_faults(&["604"]).unwrap();
    world.marketo_webhook(json!({ "action": "change_campaign_status", "leadId": lead.to_string(), "email": "owed@example.com", "campaignId": world.campaign, "status": "Registered" })).await;
    world.settle().await;
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Registered")
    );
    assert_eq!(
        world.mk_status(lead).as_deref(),
        Some("Registered"),
        "the program follows on the retry"
    );
    let faulted = world
        .mk
        .requests()
        .iter()
        .filter(|r| r.error_code.as_deref() == Some("604"))
        .count();
    assert_eq!(faulted, 1, "the fault did hit the program write");
}

/// A first flow action that finds the campaign as it asks leaves the program alone, even where
/// the mirror's sides disagree for a reason of their own (Marketo kept a later status).
#[tokio::test]
async fn a_flow_action_with_nothing_to_do_writes_no_program() {
    let world = World::new().await;
    let lead = moved_back(&world, "diverged@example.com").await;
    let before = world.mk.requests().len();
    world.marketo_webhook(json!({ "action": "change_campaign_status", "leadId": lead.to_string(), "email": "diverged@example.com", "campaignId": world.campaign, "status": "Registered" })).await;
    world.settle().await;
    let status_calls = world.mk.requests()[before..]
        .iter()
        .filter(|r| r.path.ends_with("/members/status.json"))
        .count();
    assert_eq!(status_calls, 0, "no program write for a no-op flow action");
}

/// A flow action that failed before its campaign write owes the program nothing on its retry,
/// even where the mirror's sides disagree for a reason of their own (Marketo kept a later
/// status): only an action that wrote the campaign itself makes the program write it owes.
#[tokio::test]
async fn a_flow_action_retried_after_failing_before_its_campaign_write_writes_no_program() {
    let world = World::new().await;
    let lead = moved_back(&world, "unowed@example.com").await;
    let before = world.mk.requests().len();
    // The first attempt's membership read fails.
    world
        .sf_fault(json!({ "http_status": 503, "calls": 1 }))
        .await;
    world.marketo_webhook(json!({ "action": "change_campaign_status", "leadId": lead.to_string(), "email": "unowed@example.com", "campaignId": world.campaign, "status": "Registered" })).await;
    world.settle().await;
    let failed = world
        .sf
        .requests()
        .iter()
        .filter(|r| r.status == Some(503))
        .count();
    assert!(failed >= 1, "the fault did hit the first attempt");
    let status_calls = world.mk.requests()[before..]
        .iter()
        .filter(|r| r.path.ends_with("/members/status.json"))
        .count();
    assert_eq!(
        status_calls, 0,
        "nothing written to the program on the retry"
    );
    let dead = world.outcomes(OutcomeResult::Dead).await;
    assert!(dead.is_empty(), "{dead:?}");
}

/// A member Marketo has at "Attended" whom a Salesforce user moved back to "Registered":
/// Marketo keeps "Attended" (1037), so the mirror's sides disagree. Returns the lead.
async fn moved_back(world: &World, email: &str) -> i64 {
    let (lead, sf_lead) = world.person(email);
    world.mk_sets(lead, "Attended");
    world.settle().await;
    let member = world.sf_member_id(&sf_lead).unwrap();
    world
        .sf
        .update_member(crate::world::USER, &member, "Registered")
        .unwrap();
    world.settle().await;
    assert_eq!(world.mk_status(lead).as_deref(), Some("Attended"));
    lead
}
