//! Subscriptions for other systems: the admin API, signed deliveries in order per person,
//! retries, dead letters and replay. Deliveries are driven with `Deliverer::run_pending()`.

mod answers;
mod bodies;
mod console;
mod fair_share;
mod operational;
mod rotation;
mod subscriber;

use std::sync::Arc;

use campaign_sync::config::Config;
use campaign_sync::outbox::Deliverer;
use reqwest::Method;
use serde_json::{Value, json};

use crate::world::{Options, USER, World};
use subscriber::Subscriber;

const TOKEN: &str = "admin-secret";

async fn world() -> World {
    World::with(Options {
        admin_token: Some(TOKEN.into()),
        ..Options::default()
    })
    .await
}

async fn call(world: &World, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = world
        .app
        .client
        .request(method, world.app.url(path))
        .bearer_auth(TOKEN);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The delivery task as the app runs it, with the world's retry schedule (three immediate
/// retries).
fn deliverer(world: &World) -> Deliverer {
    let mut config = Config::default();
    config.worker.retry_schedule_secs = vec![0, 0, 0];
    config.worker.retry_jitter_percent = 0;
    // Only subscribers here: the Marketo destinations end as skipped.
    config.triggers.marketo_activities = false;
    Deliverer::new(
        world.app.store.clone(),
        Arc::new(config),
        world.app.worker.marketo().clone(),
        world.app.worker.salesforce().clone(),
    )
    .unwrap()
}

async fn subscribe(world: &World, subscriber: &Subscriber, types: &[&str]) -> i64 {
    let (status, created) = call(
        world,
        Method::POST,
        "/admin/subscriptions",
        Some(json!({ "url": subscriber.url, "event_types": types })),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let secret = created["secret"].as_str().expect("a generated secret");
    assert!(secret.starts_with("whsec_"), "{secret}");
    subscriber.set_secret(secret);
    created["id"].as_i64().unwrap()
}

#[tokio::test]
async fn subscriptions_are_created_listed_paused_and_deleted() {
    let world = world().await;
    let url = "https://example.com/hooks";
    let (status, _) = call(&world, Method::GET, "/admin/subscriptions", None).await;
    assert_eq!(status, 200);
    let refused = [
        json!({ "url": url, "event_types": ["added_to_nowhere"] }),
        json!({ "url": url, "event_types": [] }),
        json!({ "url": "ftp://example.com", "event_types": ["signal_dead"] }),
        json!({ "url": url, "event_types": ["signal_dead"], "secret": "plain" }),
        json!({ "url": "https://example.com/x\r\nX-Injected: y", "event_types": ["signal_dead"] }),
        json!({ "url": format!("{url}/{}", "x".repeat(3000)), "event_types": ["signal_dead"] }),
    ];
    for body in refused {
        let (status, answer) = call(&world, Method::POST, "/admin/subscriptions", Some(body)).await;
        assert_eq!(status, 400, "{answer}");
    }
    // A body that does not say it is JSON is refused as every JSON endpoint refuses it.
    let valid = json!({ "url": url, "event_types": ["signal_dead"] }).to_string();
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let mut request = world
            .app
            .client
            .post(world.app.url("/admin/subscriptions"))
            .bearer_auth(TOKEN)
            .body(valid.clone());
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 415, "{content_type:?}");
    }
    let (_, listed) = call(&world, Method::GET, "/admin/subscriptions", None).await;
    assert_eq!(listed["items"], json!([]), "nothing refused was stored");
    let given = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let body =
        json!({ "url": url, "event_types": ["signal_dead", "mapping_held"], "secret": given });
    let (status, created) = call(&world, Method::POST, "/admin/subscriptions", Some(body)).await;
    assert_eq!(status, 201, "{created}");
    assert!(
        created.get("secret").is_none(),
        "a given secret is not echoed"
    );
    assert_eq!(
        created["event_types"],
        json!(["mapping_held", "signal_dead"])
    );
    let id = created["id"].as_i64().unwrap();

    let (_, listed) = call(&world, Method::GET, "/admin/subscriptions", None).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert!(!listed.to_string().contains("whsec_"), "{listed}");
    let path = format!("/admin/subscriptions/{id}/pause");
    let (status, paused) = call(&world, Method::POST, &path, None).await;
    assert_eq!((status, paused["paused"].clone()), (200, json!(true)));
    let (_, listed) = call(&world, Method::GET, "/admin/subscriptions", None).await;
    assert_eq!(listed["items"][0]["paused"], json!(true));
    let path = format!("/admin/subscriptions/{id}/resume");
    assert_eq!(call(&world, Method::POST, &path, None).await.0, 200);

    let path = format!("/admin/subscriptions/{id}");
    assert_eq!(call(&world, Method::DELETE, &path, None).await.0, 204);
    assert_eq!(call(&world, Method::DELETE, &path, None).await.0, 404);
    let (_, listed) = call(&world, Method::GET, "/admin/subscriptions", None).await;
    assert_eq!(listed["items"], json!([]));
    let unauthorised = world.app.get("/admin/subscriptions").await;
    assert_eq!(unauthorised.status(), 401);
}

#[tokio::test]
async fn a_subscriber_receives_signed_trigger_events_once_each_in_order_per_person() {
    let world = world().await;
    let subscriber = Subscriber::spawn().await;
    // A Salesforce user's change is written to Marketo: program events.
    let types = ["added_to_program", "program_status_changed"];
    subscribe(&world, &subscriber, &types).await;
    let (_, ada) = world.person("ada@example.com");
    let (_, alan) = world.person("alan@example.com");
    let ada_member = world.sf_adds(&ada, Some("Invited"));
    world.sf_adds(&alan, Some("Invited"));
    world.settle().await;
    world
        .sf
        .update_member(USER, &ada_member, "Registered")
        .unwrap();
    world.settle().await;
    world
        .sf
        .update_member(USER, &ada_member, "Attended")
        .unwrap();
    world.settle().await;

    deliverer(&world).run_pending().await.unwrap();
    let received = subscriber.received();
    assert!(received.iter().all(|r| r.verified), "{received:?}");
    let mut ids: Vec<&str> = received.iter().map(|r| r.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), received.len(), "each event once");
    let events = world.app.store.trigger_events(0, 100).await.unwrap();
    let wanted: Vec<_> = events
        .iter()
        .filter(|e| types.contains(&e.kind.as_str()))
        .collect();
    assert_eq!(received.len(), wanted.len(), "{received:?}");
    for person in wanted.iter().map(|e| e.person.as_str()) {
        let sent: Vec<i64> = wanted
            .iter()
            .filter(|e| e.person == person)
            .map(|e| e.id)
            .collect();
        let got: Vec<i64> = received
            .iter()
            .filter(|r| r.body["data"]["person"] == person)
            .map(|r| r.body["data"]["event_id"].as_i64().unwrap())
            .collect();
        assert_eq!(got, sent, "in order for {person}");
    }
    let changed = received
        .iter()
        .filter(|r| r.body["type"] == "program_status_changed")
        .count();
    assert_eq!(changed, 2, "{received:?}");
    // Each event names the person as each system knows them, not only by the internal key.
    let about_ada: Vec<&Value> = received
        .iter()
        .map(|r| &r.body["data"])
        .filter(|d| d["email"] == "ada@example.com")
        .collect();
    assert_eq!(about_ada.len(), 3, "{received:?}");
    for data in about_ada {
        assert!(data["marketo_lead_id"].as_i64().is_some(), "{data}");
        assert_eq!(data["salesforce_lead_id"], json!(ada), "{data}");
        assert!(data["salesforce_contact_id"].is_null(), "{data}");
    }
    assert_eq!(
        deliverer(&world).run_pending().await.unwrap(),
        0,
        "nothing twice"
    );
}

#[tokio::test]
async fn a_failing_subscriber_gets_retries_then_a_dead_letter_that_replays() {
    let world = world().await;
    let subscriber = Subscriber::spawn().await;
    let id = subscribe(&world, &subscriber, &["added_to_program"]).await;
    subscriber.answer(500);
    let (_, sf_lead) = world.person("grace@example.com");
    world.sf_adds(&sf_lead, Some("Invited"));
    world.settle().await;

    // Paused: queued, not sent.
    let pause = format!("/admin/subscriptions/{id}/pause");
    assert_eq!(call(&world, Method::POST, &pause, None).await.0, 200);
    deliverer(&world).run_pending().await.unwrap();
    assert!(subscriber.received().is_empty(), "paused");
    let resume = format!("/admin/subscriptions/{id}/resume");
    assert_eq!(call(&world, Method::POST, &resume, None).await.0, 200);

    deliverer(&world).run_pending().await.unwrap();
    let received = subscriber.received();
    assert_eq!(received.len(), 4, "the first try and three retries");
    assert!(
        received
            .iter()
            .all(|r| r.verified && r.id == received[0].id)
    );
    let dead_path = format!("/admin/subscriptions/{id}/deliveries?state=dead");
    let (status, dead) = call(&world, Method::GET, &dead_path, None).await;
    assert_eq!(status, 200);
    let items = dead["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{dead}");
    assert_eq!(items[0]["attempts"], 4);
    let reason = items[0]["last_error"].as_str().unwrap();
    assert!(
        reason.contains("gave up after 4 attempts") && reason.contains("500"),
        "{reason}"
    );

    subscriber.answer(204);
    let replay = format!("/admin/subscriptions/{id}/replay");
    let (status, replayed) = call(&world, Method::POST, &replay, None).await;
    assert_eq!((status, replayed["replayed"].clone()), (200, json!(1)));
    assert_eq!(deliverer(&world).run_pending().await.unwrap(), 1);
    assert_eq!(subscriber.received().len(), 5);
    let (_, dead) = call(&world, Method::GET, &dead_path, None).await;
    assert_eq!(dead["items"], json!([]));
    let delivered = format!("/admin/subscriptions/{id}/deliveries?state=delivered");
    let (_, delivered) = call(&world, Method::GET, &delivered, None).await;
    assert_eq!(delivered["items"].as_array().unwrap().len(), 1);
}
