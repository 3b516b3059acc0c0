//! A person's timeline: deliveries newest receipt first (a signal a later delivery revived, one
//! row per person and program, comes before a newer row received earlier), and the console's
//! events naming the campaign of a flow action no mapping covers.

use crate::admin_console::{get, world};
use crate::world::USER;

#[tokio::test]
async fn a_revived_delivery_is_listed_by_its_latest_receipt() {
    let world = world().await;
    let (lead, _, member) = world.synced_person("order@example.com", "Invited").await;
    // A Salesforce change, then a Marketo change that revives the person's webhook row.
    world.sf.update_member(USER, &member, "Registered").unwrap();
    world.settle().await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    world.mk_sets(lead, "Attended");
    world.settle().await;
    let person = get(&world, "/admin/people?q=order@example.com").await["items"][0]["id"].clone();
    let timeline = get(&world, &format!("/admin/people/{person}/timeline")).await;
    let deliveries = timeline["deliveries"].as_array().unwrap();
    let received: Vec<i64> = deliveries
        .iter()
        .map(|d| d["received_at"].as_i64().unwrap())
        .collect();
    let mut sorted = received.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(received, sorted, "newest receipt first: {timeline}");
    assert_eq!(deliveries[0]["kind"], "marketo_member", "{timeline}");
}

#[tokio::test]
async fn the_console_names_the_campaign_of_an_unmapped_flow_actions_event() {
    let world = world().await;
    let (lead, _) = world.person("unmapped@example.com");
    let other = world
        .sf
        .create_campaign(
            serde_json::json!({ "Name": "Unmapped" }),
            &[campaign_sync::sim::salesforce::MemberStatus::new(
                "Sent", true, false,
            )],
        )
        .unwrap();
    world
        .marketo_webhook(serde_json::json!({ "action": "add_to_campaign", "leadId": lead, "campaignId": other, "status": "Sent" }))
        .await;
    world.settle().await;
    let client = crate::admin_console::console_client();
    let cookie =
        crate::admin_console::cookie_pair(&crate::admin_console::sign_in(&client, &world).await);
    let person =
        get(&world, "/admin/people?q=unmapped@example.com").await["items"][0]["id"].clone();
    let page = crate::admin_console::console_page(
        &client,
        world.app.url(&format!("/console/people/{person}")),
        &cookie,
    )
    .await;
    assert!(
        page.contains(&format!("campaign {other}: — → Sent")),
        "{page}"
    );
}

/// A change that waited for an earlier one of the same person, then went through, carries no
/// error in the timeline: the postponement was a note while it waited, not a failure.
#[tokio::test]
async fn a_delivery_done_after_waiting_its_turn_shows_no_error() {
    let world = world().await;
    let (lead, _) = world.person("turns@example.com");
    for status in ["Registered", "Attended"] {
        world
            .marketo_webhook(serde_json::json!({ "action": "add_to_campaign", "leadId": lead, "campaignId": world.campaign, "status": status }))
            .await;
    }
    world.settle().await;
    let person = get(&world, "/admin/people?q=turns@example.com").await["items"][0]["id"].clone();
    let timeline = get(&world, &format!("/admin/people/{person}/timeline")).await;
    let deliveries = timeline["deliveries"].as_array().unwrap();
    let waited = deliveries
        .iter()
        .filter(|d| d["payload"]["status"] == "Attended")
        .count();
    assert_eq!(waited, 1, "the second flow action is listed: {timeline}");
    for delivery in deliveries {
        assert_eq!(delivery["state"], "done", "{timeline}");
        assert_eq!(
            delivery["last_error"],
            serde_json::Value::Null,
            "{timeline}"
        );
    }
}
