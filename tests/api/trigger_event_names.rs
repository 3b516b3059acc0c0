//! `/v1/trigger-events` names each event's person as the service knew them when it recorded the
//! event, as the event's deliveries to subscribers did: ids the person gains later (a Contact
//! created since) name the later events only.

use serde_json::{Value, json};

use crate::admin_console::{get, world};

#[tokio::test]
async fn an_events_person_is_named_as_they_were_when_it_was_recorded() {
    let world = world().await;
    let (lead, sf_lead) = world.person("then@example.com");
    world.mk_sets(lead, "Registered");
    world.settle().await;
    let before = get(&world, "/v1/trigger-events").await["items"]
        .as_array()
        .expect("items")
        .clone();
    assert!(!before.is_empty());
    // The person gains a Contact after those events.
    let contact = world
        .sf
        .create_contact(json!({ "LastName": "Then", "Email": "then@example.com" }))
        .unwrap();
    world
        .app
        .store
        .link_identity(
            Some(lead),
            Some(&contact),
            None,
            campaign_sync::store::now_millis(),
        )
        .await
        .unwrap();
    world.mk_sets(lead, "Attended");
    world.settle().await;
    let items = get(&world, "/v1/trigger-events").await["items"]
        .as_array()
        .expect("items")
        .clone();
    let (old, new): (Vec<&Value>, Vec<&Value>) = items
        .iter()
        .partition(|item| before.iter().any(|b| b["id"] == item["id"]));
    assert!(!new.is_empty(), "{items:?}");
    for item in old {
        assert_eq!(item["salesforce_lead_id"], json!(sf_lead), "{item}");
        assert_eq!(item["salesforce_contact_id"], Value::Null, "{item}");
    }
    for item in new {
        assert_eq!(item["salesforce_contact_id"], json!(contact), "{item}");
    }
}

/// `/v1/trigger-events` names each event's person as subscribers' deliveries do: by e-mail and
/// by the ids each system knows them by, beside the internal key.
#[tokio::test]
async fn trigger_events_name_their_person() {
    let world = world().await;
    let (lead, sf_lead) = world.person("named@example.com");
    world.mk_sets(lead, "Registered");
    world.settle().await;
    let events = get(&world, "/v1/trigger-events").await;
    let items = events["items"].as_array().expect("items");
    assert!(!items.is_empty(), "{events}");
    for item in items {
        assert_eq!(item["email"], "named@example.com", "{item}");
        assert_eq!(item["marketo_lead_id"], lead, "{item}");
        assert_eq!(item["salesforce_lead_id"], json!(sf_lead), "{item}");
        assert!(
            item["person"].is_string() && item["kind"].is_string(),
            "{item}"
        );
    }
    assert_eq!(events["next_after"], items.last().unwrap()["id"]);
}
