//! A flow action on a mapped campaign counts once in `/admin/status`, as the mapping's own
//! change does: it reaches both sides as one change.

use serde_json::json;

use crate::admin_console::{get, world};

#[tokio::test]
async fn a_flow_action_on_a_mapped_campaign_counts_once_in_the_status() {
    let world = world().await;
    let (lead, sf_lead) = world.person("counted@example.com");
    world
        .marketo_webhook(json!({ "action": "add_to_campaign", "leadId": lead, "email": "counted@example.com", "campaignId": world.campaign, "status": "Registered" }))
        .await;
    world.settle().await;
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Registered")
    );
    assert_eq!(world.mk_status(lead).as_deref(), Some("Registered"));
    let status = get(&world, "/admin/status").await;
    let changes = &status["mappings"][0]["changes"]["lastHour"];
    assert_eq!(changes["added"], 1, "{status}");
    world
        .marketo_webhook(json!({ "action": "change_campaign_status", "leadId": lead, "email": "counted@example.com", "campaignId": world.campaign, "status": "Attended" }))
        .await;
    world.settle().await;
    let status = get(&world, "/admin/status").await;
    let changes = &status["mappings"][0]["changes"]["lastHour"];
    assert_eq!(changes["added"], 1, "{status}");
    assert_eq!(changes["status_changed"], 1, "{status}");
    // Both sides' events are still recorded (subscribers get both).
    let events = get(&world, "/v1/trigger-events").await;
    assert_eq!(events["items"].as_array().unwrap().len(), 4, "{events}");
}
