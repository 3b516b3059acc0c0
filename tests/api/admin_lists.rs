//! The admin lists of failures read alike: `/admin/dead-letters` and `/admin/retrying` name the
//! person by the same fields, list newest first and page with the same cursor.

use serde_json::Value;

use crate::admin_console::{get, synced_and_one_dead, world};

/// The person fields `/admin/retrying` (and the console's errors list) show.
const PERSON: [&str; 4] = [
    "email",
    "marketo_lead_id",
    "salesforce_person_id",
    "campaign_member_id",
];

#[tokio::test]
async fn a_dead_letter_names_its_person_as_the_retrying_list_does() {
    let world = world().await;
    let (lead, sf_lead) = synced_and_one_dead(&world).await;
    let listed = get(&world, "/admin/dead-letters").await;
    let item = &listed["items"][0];
    assert_eq!(item["state"], "dead", "{listed}");
    assert_eq!(item["email"], "ada@example.com", "{item}");
    assert_eq!(item["marketo_lead_id"], lead, "{item}");
    assert_eq!(item["salesforce_person_id"], Value::from(sf_lead), "{item}");
    assert!(item["campaign_member_id"].is_string(), "{item}");
    // The fields it had are kept.
    for field in [
        "id",
        "dedup_key",
        "kind",
        "payload",
        "attempts",
        "last_error",
    ] {
        assert!(!item[field].is_null(), "{field}: {item}");
    }
    assert_eq!(item["superseded"], false);
    // The same person, by the same names, as the errors list gives for this signal.
    let errors = world
        .app
        .store
        .failing(&campaign_sync::store::FailingFilter {
            state: Some("dead".into()),
            limit: 10,
            scopes: vec![campaign_sync::store::MappingScope {
                name: "webinar".into(),
                campaign_id: world.campaign.clone(),
                program_id: world.config.mappings[0].program_id,
            }],
            ..Default::default()
        })
        .await
        .unwrap();
    let errors = serde_json::to_value(&errors[0]).unwrap();
    for field in PERSON {
        assert_eq!(item[field], errors[field], "{field}");
    }
}
