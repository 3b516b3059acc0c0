//! The admin lists of failures read alike: `/admin/dead-letters` and `/admin/retrying` name the
//! person by the same fields, list newest first and page with the same cursor.

use campaign_sync::config::Secret;
use campaign_sync::signal::{MarketoMember, NewSignal, Signal};
use campaign_sync::store::now_millis;
use serde_json::Value;

use crate::admin_console::{get, synced_and_one_dead, world};
use crate::test_app::{TestApp, TestDb};
use crate::world::{Options, World};

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

/// Three signals of one store, each ended by `end` (dead, or waiting to be retried).
async fn three_failed(app: &TestApp, dead: bool) -> Vec<i64> {
    let now = now_millis();
    let signals = (1..=3)
        .map(|lead_id| {
            NewSignal::new(
                format!("k{lead_id}"),
                Signal::MarketoMember(MarketoMember {
                    lead_id,
                    program_id: 1001,
                    email: None,
                    status: None,
                    trigger: None,
                }),
            )
        })
        .collect();
    let ids: Vec<i64> = app
        .store
        .record(signals, now)
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    for claimed in app.store.claim("t", 10, 60_000, now).await.unwrap() {
        if dead {
            app.store.bury(claimed.id, "t", "603", now).await.unwrap();
        } else {
            let later = now + 3_600_000;
            app.store
                .retry_at(claimed.id, "t", later, "604", now)
                .await
                .unwrap();
        }
    }
    ids
}

async fn listed(app: &TestApp, path: &str) -> Value {
    let response = app
        .client
        .get(app.url(path))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

fn ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect()
}

async fn app() -> TestApp {
    TestApp::spawn_with(TestDb::sqlite(), |c| c.admin.token = Secret::new(ADMIN)).await
}

const ADMIN: &str = "admin-secret";

#[tokio::test]
async fn dead_letters_list_newest_first_paged_with_before() {
    let app = app().await;
    let made = three_failed(&app, true).await;
    let first = listed(&app, "/admin/dead-letters?limit=2").await;
    assert_eq!(ids(&first), vec![made[2], made[1]], "{first}");
    assert_eq!(first["next_before"], made[1], "a full page has older ones");
    let older = listed(
        &app,
        &format!("/admin/dead-letters?limit=2&before={}", made[1]),
    )
    .await;
    assert_eq!(ids(&older), vec![made[0]], "{older}");
    assert_eq!(older["next_before"], Value::Null, "the last page");
    // The feed form stays oldest first.
    let feed = listed(&app, "/admin/dead-letters?after=0&limit=2").await;
    assert_eq!(ids(&feed), vec![made[0], made[1]], "{feed}");
    assert_eq!(feed["next_after"], made[1]);
    let both = app
        .client
        .get(app.url("/admin/dead-letters?after=0&before=9"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(both.status(), 400);
}

#[tokio::test]
async fn retrying_pages_with_before_and_next_before_as_dead_letters_do() {
    let app = app().await;
    let made = three_failed(&app, false).await;
    let first = listed(&app, "/admin/retrying?limit=2").await;
    assert_eq!(ids(&first), vec![made[2], made[1]], "{first}");
    assert_eq!(first["next_before"], made[1], "{first}");
    let older = listed(&app, &format!("/admin/retrying?limit=2&before={}", made[1])).await;
    assert_eq!(ids(&older), vec![made[0]], "{older}");
    assert_eq!(older["next_before"], Value::Null, "{older}");
}

/// `?mapping=` naming no mapping answers 404 naming it, as `/admin/mappings/{name}/...` does;
/// a mapping since removed from the configuration still lists its outcomes.
#[tokio::test]
async fn outcomes_of_an_unknown_mapping_are_a_404_naming_it() {
    let app = app().await;
    let unknown = app
        .client
        .get(app.url("/admin/outcomes?mapping=nosuch"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let body: Value = unknown.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("mapping \"nosuch\"")),
        "{body}"
    );
    let switch = app
        .client
        .post(app.url("/admin/mappings/nosuch/enable"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(switch.status(), 404, "the switches answer alike");

    let retired = campaign_sync::store::Outcome {
        id: 0,
        signal_id: None,
        mapping: Some("retired".into()),
        person: Some("1".into()),
        connector: campaign_sync::kinds::Connector::Salesforce,
        action: campaign_sync::kinds::Action::SetStatus,
        result: campaign_sync::kinds::OutcomeResult::Applied,
        reason: Some("written".into()),
        recorded_at: now_millis(),
    };
    app.store.record_outcome(&retired).await.unwrap();
    let kept = listed(&app, "/admin/outcomes?mapping=retired").await;
    assert_eq!(kept["items"].as_array().unwrap().len(), 1, "{kept}");
}

/// A change waiting for another try says which object failed, as a dead letter does: what was
/// being read or written, the status and the mapping before the system's words.
#[tokio::test]
async fn a_retrying_change_names_the_write_that_failed() {
    let world = World::with(Options {
        admin_token: Some(crate::admin_console::TOKEN.into()),
        configure: |c| c.worker.retry_schedule_secs = vec![3600; 3],
        ..Options::default()
    })
    .await;
    let (lead, _) = world.person("retry.named@example.com");
    world.mk_sets(lead, "Registered");
    world.settle().await;
    world
        .sf_fault(serde_json::json!({ "http_status": 503, "calls": 100 }))
        .await;
    world.mk_sets(lead, "Attended");
    world.settle().await;
    let listed = get(&world, "/admin/retrying").await;
    let error = listed["items"][0]["last_error"]
        .as_str()
        .unwrap_or_default();
    assert!(
        error.contains("(mapping webinar)")
            && error.contains("writing the Salesforce campaign member to \"Attended\"")
            && error.contains("503"),
        "{listed}"
    );
}
