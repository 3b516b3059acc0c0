//! A person's timeline lists the deliveries about them, not those of another person who shares
//! their address (a duplicate Marketo lead): an e-mail alone never joins two people, so such an
//! address finds deliveries by the person's own ids only.

use campaign_sync::sim::marketo::NewLead;

use crate::admin_console::{get, world};

#[tokio::test]
async fn a_duplicate_leads_timeline_lists_only_its_own_deliveries() {
    let world = world().await;
    let (original, _, _) = world.synced_person("shared@example.com", "Invited").await;
    let duplicate = world.mk.add_lead(NewLead::email("shared@example.com"));
    world.mk_sets(duplicate, "Registered");
    world.settle().await;
    // The activity feed brings the same change again, for the duplicate lead itself.
    world
        .app
        .store
        .record(
            vec![crate::world::member_signal("mkto:feed:dup", duplicate)],
            campaign_sync::store::now_millis(),
        )
        .await
        .unwrap();
    world.settle().await;
    let people = get(&world, "/admin/people?q=shared@example.com").await;
    let ids: Vec<(i64, Option<i64>)> = people["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_i64().unwrap(), p["mkto_lead_id"].as_i64()))
        .collect();
    assert_eq!(ids.len(), 2, "{people}");
    // The duplicate's own timeline: its deliveries, none of the original lead's (the original's
    // may list the duplicate's webhook, whose outcome it is named in: "left alone").
    let (id, _) = ids
        .into_iter()
        .find(|(_, lead)| *lead == Some(duplicate))
        .expect("the duplicate lead is a person");
    let timeline = get(&world, &format!("/admin/people/{id}/timeline")).await;
    let deliveries = timeline["deliveries"].as_array().unwrap();
    assert!(!deliveries.is_empty(), "{timeline}");
    assert!(
        deliveries
            .iter()
            .all(|d| d["payload"]["lead_id"] != serde_json::json!(original)),
        "the duplicate lists lead {original}'s deliveries: {timeline}"
    );
}
