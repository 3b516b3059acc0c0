//! Deliveries to Marketo beyond the first: activities refused before provisioning go dead and
//! are replayed, a burst shares full activity calls, deliveries wait out a pause without using
//! attempts, a flow action is one activity, and `marketo provision` with a wrong secret says
//! only what to check.

use campaign_sync::connectors::marketo::MarketoClient;
use campaign_sync::outbox::provision;
use serde_json::Value;

use crate::marketo_activities::{activities_of, config, deliverer};
use crate::world::World;

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
