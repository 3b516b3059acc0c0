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
async fn activities_of(world: &World, lead: i64, type_ids: &[i64]) -> Vec<Value> {
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
            activities: Some(campaign_sync::config::ActivityChoice {
                added: false,
                removed: true,
                status_changed: true,
            }),
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

#[tokio::test]
async fn activities_refused_before_provisioning_are_dead_then_replayed() {
    let world = World::with(crate::world::Options {
        admin_token: Some("admin".into()),
        ..Default::default()
    })
    .await;
    let config = config(&world);
    let mut leads = Vec::new();
    for email in ["grace@example.com", "alan@example.com", "ada@example.com"] {
        let (lead, _) = world.person(email);
        world.mk_sets(lead, "Registered");
        leads.push(lead);
    }
    world.settle().await;
    let deliverer = deliverer(&world, config.clone());
    deliverer.run_pending().await.unwrap();
    // The types were read once for the round, not once per activity waiting for one.
    let type_reads = world
        .mk
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/activities/external/types.json"))
        .count();
    assert_eq!(type_reads, 1);
    let admin = |method: reqwest::Method, path: &str| {
        world
            .app
            .client
            .request(method, world.app.url(path))
            .bearer_auth("admin")
            .send()
    };
    let dead: Value = admin(
        reqwest::Method::GET,
        "/admin/outbox/marketo_activity?state=dead",
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let items = dead["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{dead}");
    let reason = items[0]["last_error"].as_str().unwrap();
    assert!(
        reason.contains("csAddedToSalesforceCampaign")
            && reason.contains("campaign-sync marketo provision"),
        "the reason names the missing type and the cure: {reason}"
    );
    // The overview counts them, so an operator sees them without knowing where to look.
    let status: Value = admin(reqwest::Method::GET, "/admin/status")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["outbox"]["marketo_activity"]["dead"], 3, "{status}");
    let text = campaign_sync::terminal::status::render(
        "http://x",
        &serde_json::from_value(status).unwrap(),
    );
    assert!(
        text.contains("marketo_activity: 0 waiting, 3 dead"),
        "{text}"
    );
    let console = crate::admin_console::console_client();
    let signed_in = console
        .post(world.app.url("/console/sign-in"))
        .form(&[("token", "admin")])
        .send()
        .await
        .unwrap();
    let cookie =
        crate::admin_console::cookie_pair(signed_in.headers()["set-cookie"].to_str().unwrap());
    let page =
        crate::admin_console::console_page(&console, world.app.url("/console"), &cookie).await;
    assert!(
        page.contains("Custom activities to Marketo")
            && page.contains("replay: POST /admin/outbox/marketo_activity/replay"),
        "{page}"
    );

    provision::provision(&MarketoClient::new(&config.marketo).unwrap())
        .await
        .unwrap();
    let replayed: Value = admin(
        reqwest::Method::POST,
        "/admin/outbox/marketo_activity/replay",
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(replayed["replayed"], 3, "{replayed}");
    deliverer.run_pending().await.unwrap();
    let mut posted: Vec<_> = world
        .mk
        .custom_activities()
        .iter()
        .map(|a| a.lead_id)
        .collect();
    posted.sort_unstable();
    leads.sort_unstable();
    assert_eq!(posted, leads);
    let unknown = admin(reqwest::Method::GET, "/admin/outbox/elsewhere")
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    // The delivery just replayed is no longer dead: naming it again finds nothing to replay.
    let delivery = items[0]["id"].as_i64().unwrap();
    let again = admin(
        reqwest::Method::POST,
        &format!("/admin/outbox/marketo_activity/replay?delivery={delivery}"),
    )
    .await
    .unwrap();
    assert_eq!(again.status(), 404);
}

#[tokio::test]
async fn a_burst_of_changes_shares_full_activity_calls() {
    const PEOPLE: usize = 250;
    let world = World::new().await;
    let config = config(&world);
    let client = MarketoClient::new(&config.marketo).unwrap();
    provision::provision(&client).await.unwrap();
    for i in 0..PEOPLE {
        let (lead, _) = world.person(&format!("burst{i}@example.com"));
        world.mk_sets(lead, "Registered");
    }
    world.settle().await;
    let deliverer = deliverer(&world, config);
    let posts = || {
        world
            .mk
            .requests()
            .iter()
            .filter(|r| r.method == "POST" && r.path == "/rest/v1/activities/external.json")
            .count()
    };
    let before = posts();
    deliverer.run_pending().await.unwrap();
    assert_eq!(world.mk.custom_activities().len(), PEOPLE);
    assert_eq!(posts() - before, 1, "{PEOPLE} activities in one call");
}

/// A delivery meeting Marketo paused (its daily quota, refused credentials) waits for the
/// pause without using an attempt, instead of spending its retries on calls never made and
/// dying; resuming the side makes it due at once.
#[tokio::test]
async fn deliveries_wait_out_a_marketo_pause_without_using_attempts() {
    let world = World::new().await;
    let config = config(&world);
    provision::provision(&MarketoClient::new(&config.marketo).unwrap())
        .await
        .unwrap();
    let (_, sf_lead) = world.person("paused@example.com");
    world.sf_adds(&sf_lead, Some("Invited"));
    world.settle().await;
    let marketo = world.app.worker.marketo().clone();
    let now = campaign_sync::store::now_millis;
    marketo
        .quota()
        .pause(now() + 3_600_000, "Marketo 607: Daily quota reached");
    let deliverer = deliverer(&world, config);
    for _ in 0..3 {
        deliverer.run_pending().await.unwrap();
    }
    assert!(world.mk.custom_activities().is_empty());
    let queue = campaign_sync::store::Queue {
        destination: campaign_sync::store::TO_MARKETO_ACTIVITY,
        subscription_id: None,
    };
    let rows = world
        .app
        .store
        .deliveries(queue, None, 0, 100)
        .await
        .unwrap();
    assert!(!rows.is_empty());
    for row in &rows {
        assert_eq!(
            (row.state.as_str(), row.attempts),
            ("pending", 0),
            "{row:?}"
        );
        let error = row.last_error.as_deref().unwrap_or_default();
        assert!(
            error.starts_with("postponed without using an attempt: ") && error.contains("607"),
            "{row:?}"
        );
    }
    marketo.quota().end_pause(now());
    world.app.store.catch_up(now()).await.unwrap();
    deliverer.run_pending().await.unwrap();
    assert_eq!(world.mk.custom_activities().len(), rows.len());
}

/// A Marketo flow action on a mapped campaign writes the campaign and mirrors the program: two
/// trigger events for subscribers, one activity for Marketo, so a marketer's campaign on
/// "Status Changed in Salesforce Campaign" runs once.
#[tokio::test]
async fn a_flow_action_on_a_mapped_campaign_is_one_activity_not_two() {
    let world = World::new().await;
    let config = config(&world);
    let client = MarketoClient::new(&config.marketo).unwrap();
    provision::provision(&client).await.unwrap();
    let (lead, _) = world.person("flow.once@example.com");
    world
        .marketo_webhook(serde_json::json!({ "action": "change_campaign_status", "leadId": lead, "campaignId": world.campaign, "status": "Registered" }))
        .await;
    world.settle().await;
    assert_eq!(world.mk_status(lead).as_deref(), Some("Registered"));
    let events = world.app.store.trigger_events(0, 10).await.unwrap();
    assert_eq!(
        events.len(),
        2,
        "the campaign's and the program's: {events:?}"
    );
    deliverer(&world, config).run_pending().await.unwrap();
    let type_ids: Vec<i64> = world
        .mk
        .custom_activity_types()
        .iter()
        .map(|t| t.id)
        .collect();
    let activities = activities_of(&world, lead, &type_ids).await;
    assert_eq!(activities.len(), 1, "{activities:?}");
}

/// A refused secret ends `marketo provision` naming the keys to check, without the service's
/// pause ("paused until …"), which means nothing to a command that exits: run again, it calls
/// at once.
#[tokio::test(flavor = "multi_thread")]
async fn marketo_provision_with_a_wrong_secret_says_only_what_to_check() {
    let world = World::new().await;
    let client = world.mk.config().clients[0].clone();
    let base = world.mk.base_url();
    let out = tokio::task::spawn_blocking(move || {
        crate::binary::output(
            &["marketo", "provision", "--config", crate::binary::EXAMPLE],
            &[
                ("CAMPAIGN_SYNC_MARKETO__BASE_URL", base.as_str()),
                (
                    "CAMPAIGN_SYNC_MARKETO__CLIENT_ID",
                    client.client_id.as_str(),
                ),
                ("CAMPAIGN_SYNC_MARKETO__CLIENT_SECRET", "wrong"),
            ],
        )
    })
    .await
    .unwrap();
    let text = crate::binary::text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("marketo.client_secret"), "{text}");
    assert!(!text.contains("paused until"), "{text}");
}
