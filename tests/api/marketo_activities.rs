//! Trigger events into Marketo: the types provisioned as the sandbox does at start, then a
//! Salesforce user's add, status change and removal read back as three custom activities on
//! the person through the Marketo activities API; Request Campaign with tokens.

use std::sync::Arc;

use campaign_sync::config::{Config, MappingTriggers, RequestCampaigns, Secret};
use campaign_sync::connectors::marketo::MarketoClient;
use campaign_sync::outbox::{Deliverer, provision};
use serde_json::Value;

use crate::world::{INTEGRATION, USER, World};

/// The service's configuration as the world gives it, for the delivery task.
pub(crate) fn config(world: &World) -> Config {
    let mut config = Config::default();
    world
        .sf
        .configure_service(&mut config.salesforce, INTEGRATION)
        .unwrap();
    let client = world.mk.config().clients[0].clone();
    config.marketo.base_url = world.mk.base_url();
    config.marketo.client_id = client.client_id;
    config.marketo.client_secret = Secret::new(client.client_secret);
    config.worker.retry_schedule_secs = vec![0, 0, 0];
    config
}

/// The delivery task of the world's service, with this configuration and its clients.
pub(crate) fn deliverer(world: &World, config: Config) -> Deliverer {
    Deliverer::new(
        world.app.store.clone(),
        Arc::new(config),
        world.app.worker.marketo().clone(),
        world.app.worker.salesforce().clone(),
    )
    .unwrap()
}

/// What a Marketo user's integration reads: the feed of these types since 2020, for a lead.
pub(crate) async fn activities_of(world: &World, lead: i64, type_ids: &[i64]) -> Vec<Value> {
    let http = reqwest::Client::new();
    let client = world.mk.config().clients[0].clone();
    let base = world.mk.base_url();
    let token: Value = http
        .get(format!("{base}/identity/oauth/token"))
        .query(&[
            ("grant_type", "client_credentials"),
            ("client_id", client.client_id.as_str()),
            ("client_secret", client.client_secret.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bearer = token["access_token"].as_str().unwrap().to_string();
    let get = |path: String| {
        let request = http.get(format!("{base}{path}")).bearer_auth(&bearer);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let paging =
        get("/rest/v1/activities/pagingtoken.json?sinceDatetime=2020-01-01T00:00:00Z".into()).await;
    let ids: Vec<String> = type_ids.iter().map(i64::to_string).collect();
    let feed = get(format!(
        "/rest/v1/activities.json?nextPageToken={}&activityTypeIds={}&leadIds={lead}",
        paging["nextPageToken"].as_str().unwrap(),
        ids.join(",")
    ))
    .await;
    feed["result"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn a_salesforce_users_add_change_and_removal_become_three_custom_activities() {
    let world = World::new().await;
    let config = config(&world);
    let client = MarketoClient::new(&config.marketo).unwrap();
    let first = provision::provision(&client).await.unwrap();
    assert!(first.iter().all(|l| l.contains("created")), "{first:?}");
    let again = provision::provision(&client).await.unwrap();
    assert!(
        again.iter().all(|l| l.contains("already existed")),
        "{again:?}"
    );
    let types = world.mk.custom_activity_types();
    assert_eq!(types.len(), 3);
    assert!(
        types
            .iter()
            .all(|t| t.draft.name.contains("Salesforce Campaign") && t.status() == "approved")
    );

    let (lead, sf_lead) = world.person("ada@example.com");
    let member = world.sf_adds(&sf_lead, Some("Invited"));
    world.settle().await;
    world.sf.update_member(USER, &member, "Registered").unwrap();
    world.settle().await;
    world.sf.delete_member(USER, &member).unwrap();
    world.sf.advance_clock(std::time::Duration::from_secs(90));
    let later = campaign_sync::store::now_millis() + 90_000;
    assert_eq!(world.app.worker.poll_deleted_at(later).await.unwrap(), 1);
    world.settle().await;
    assert_eq!(world.mk_status(lead), None, "removed from the program");

    let deliverer = deliverer(&world, config);
    deliverer.run_pending().await.unwrap();
    let type_ids: Vec<i64> = types.iter().map(|t| t.id).collect();
    let activities = activities_of(&world, lead, &type_ids).await;
    let name_of = |id: &Value| {
        types
            .iter()
            .find(|t| t.id == id.as_i64().unwrap())
            .map(|t| t.draft.name.clone())
            .unwrap()
    };
    let names: Vec<String> = activities
        .iter()
        .map(|a| name_of(&a["activityTypeId"]))
        .collect();
    assert_eq!(
        names,
        [
            "Added to Salesforce Campaign",
            "Status Changed in Salesforce Campaign",
            "Removed from Salesforce Campaign"
        ],
        "{activities:?}"
    );
    assert!(
        activities
            .iter()
            .all(|a| a["primaryAttributeValue"] == world.campaign.as_str())
    );
    let attribute = |activity: &Value, api: &str| {
        activity["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["apiName"] == api)
            .map(|a| a["value"].clone())
    };
    assert_eq!(
        attribute(&activities[0], "campaignName"),
        Some("Webinar Q4".into())
    );
    assert_eq!(
        attribute(&activities[1], "status"),
        Some("Registered".into())
    );
    assert_eq!(
        attribute(&activities[1], "previousStatus"),
        Some("Invited".into())
    );
    assert_eq!(
        deliverer.run_pending().await.unwrap(),
        0,
        "each posted once"
    );
    assert_eq!(world.mk.custom_activities().len(), 3);
}

#[tokio::test]
async fn a_mapping_requests_its_smart_campaign_with_tokens_and_can_turn_activities_off() {
    let world = World::new().await;
    let mut config = config(&world);
    config.triggers.mappings.insert(
        "webinar".into(),
        MappingTriggers {
            activities: campaign_sync::config::ActivityOverrides {
                added: Some(false),
                ..Default::default()
            },
            request_campaigns: RequestCampaigns {
                added: Some(7001),
                ..RequestCampaigns::default()
            },
        },
    );
    world
        .mk
        .add_requestable_campaign(7001, "Welcome to the webinar");
    provision::provision(&MarketoClient::new(&config.marketo).unwrap())
        .await
        .unwrap();
    let (lead, _) = world.person("grace@example.com");
    world.mk_sets(lead, "Registered");
    world.settle().await;
    let (_, sf_lead) = world.person("alan@example.com");
    world.sf_adds(&sf_lead, Some("Invited"));
    world.settle().await;
    deliverer(&world, config).run_pending().await.unwrap();
    assert!(
        world.mk.custom_activities().is_empty(),
        "added is off for this mapping"
    );
    // Skipped before any call: the rows say so, with no attempt counted.
    let queue = campaign_sync::store::Queue {
        destination: campaign_sync::store::TO_MARKETO_ACTIVITY,
        subscription_id: None,
    };
    let skipped = world
        .app
        .store
        .deliveries(queue, Some("skipped"), 0, 100)
        .await
        .unwrap();
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    for row in &skipped {
        assert_eq!(row.attempts, 0, "{row:?}");
        assert!(
            row.last_error
                .as_deref()
                .is_some_and(|e| e.contains("not posted")),
            "{row:?}"
        );
    }
    let requests = world.mk.campaign_requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert!(
        requests
            .iter()
            .all(|r| r.campaign_id == 7001 && r.lead_ids.len() == 1)
    );
    let tokens = |status: &str| {
        requests.iter().find(|r| {
            r.tokens
                .iter()
                .any(|t| t.name == "{{my.campaignStatus}}" && t.value == status)
        })
    };
    for status in ["Registered", "Invited"] {
        let request = tokens(status).unwrap_or_else(|| panic!("{status}: {requests:?}"));
        let name = request
            .tokens
            .iter()
            .find(|t| t.name == "{{my.campaignName}}");
        assert_eq!(name.map(|t| t.value.as_str()), Some("Webinar Q4"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn marketo_provision_creates_the_types_once_and_says_so() {
    let world = World::new().await;
    let client = world.mk.config().clients[0].clone();
    let base = world.mk.base_url();
    let run = move || {
        crate::binary::output(
            &["marketo", "provision", "--config", crate::binary::EXAMPLE],
            &[
                ("CAMPAIGN_SYNC_MARKETO__BASE_URL", base.as_str()),
                (
                    "CAMPAIGN_SYNC_MARKETO__CLIENT_ID",
                    client.client_id.as_str(),
                ),
                (
                    "CAMPAIGN_SYNC_MARKETO__CLIENT_SECRET",
                    client.client_secret.as_str(),
                ),
            ],
        )
    };
    let first = tokio::task::spawn_blocking(run.clone()).await.unwrap();
    let text = crate::binary::text(&first);
    assert_eq!(first.status.code(), Some(0), "{text}");
    assert_eq!(text.matches("created").count(), 3, "{text}");
    let again = tokio::task::spawn_blocking(run).await.unwrap();
    let text = crate::binary::text(&again);
    assert_eq!(again.status.code(), Some(0), "{text}");
    assert_eq!(text.matches("already existed").count(), 3, "{text}");
    assert_eq!(world.mk.custom_activity_types().len(), 3);
}

/// Without Marketo's credentials, provisioning is refused as an invalid configuration (exit
/// 2), naming only the keys it needs: the receivers' tokens are not asked for.
#[tokio::test]
async fn marketo_provision_names_the_marketo_keys_it_lacks() {
    let out = tokio::task::spawn_blocking(|| {
        crate::binary::output(
            &["marketo", "provision", "--config", crate::binary::EXAMPLE],
            &[
                ("CAMPAIGN_SYNC_MARKETO__BASE_URL", ""),
                ("CAMPAIGN_SYNC_MARKETO__CLIENT_ID", ""),
                ("CAMPAIGN_SYNC_MARKETO__CLIENT_SECRET", ""),
                ("CAMPAIGN_SYNC_MARKETO__WEBHOOK_TOKEN", ""),
                ("CAMPAIGN_SYNC_SALESFORCE__CLIENT_SECRET", ""),
            ],
        )
    })
    .await
    .unwrap();
    let text = crate::binary::text(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    for key in [
        "marketo.base_url",
        "marketo.client_id",
        "marketo.client_secret",
    ] {
        assert!(text.contains(key), "{key}: {text}");
    }
    for key in ["webhook_token", "salesforce."] {
        assert!(!text.contains(key), "{key}: {text}");
    }
}

/// With a status map, a change made in Salesforce (written to the program) is posted with the
/// campaign's statuses, as one made in Marketo is: *Status Changed in Salesforce Campaign*
/// carried Marketo's names for it, so a trigger on a campaign status missed it.
#[tokio::test]
async fn a_mapped_status_is_posted_as_the_campaign_names_it() {
    let world = World::with(crate::world::Options {
        status_map: [("Registered".to_string(), "Signed Up".to_string())].into(),
        ..crate::world::Options::default()
    })
    .await;
    let mut config = config(&world);
    config.mappings = world
        .app
        .worker
        .mappings()
        .all()
        .iter()
        .map(|m| m.config.clone())
        .collect();
    let client = MarketoClient::new(&config.marketo).unwrap();
    provision::provision(&client).await.unwrap();
    let (lead, _, member) = world.synced_person("mapped@example.com", "Invited").await;
    world.sf.update_member(USER, &member, "Signed Up").unwrap();
    world.settle().await;
    assert_eq!(world.mk_status(lead).as_deref(), Some("Registered"));

    deliverer(&world, config).run_pending().await.unwrap();
    let types = world.mk.custom_activity_types();
    let changed = types
        .iter()
        .find(|t| t.draft.name == "Status Changed in Salesforce Campaign")
        .unwrap()
        .id;
    let activities = activities_of(&world, lead, &[changed]).await;
    let values: Vec<(Value, Value)> = activities
        .iter()
        .map(|a| {
            let value = |api: &str| {
                a["attributes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|x| x["apiName"] == api)
                    .map_or(Value::Null, |x| x["value"].clone())
            };
            (value("status"), value("previousStatus"))
        })
        .collect();
    assert_eq!(
        values,
        [(Value::from("Signed Up"), Value::from("Invited"))],
        "{activities:?}"
    );
}
