//! Admin request bodies that are not what a call takes: a body that is not JSON names no field
//! (there is none to name), a replay of an id that cannot be one is refused, and no message names
//! a type of the code's.

use reqwest::Method;
use serde_json::{Value, json};

use super::subscriber::Subscriber;
use super::{TOKEN, call, subscribe, world};
use crate::world::World;

/// Posts `body` as JSON text, as written.
async fn post_text(world: &World, path: &str, body: &str) -> (u16, Value) {
    let response = world
        .app
        .client
        .post(world.app.url(path))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_body_that_is_not_json_names_no_field() {
    let world = world().await;
    let subscriber = Subscriber::spawn().await;
    let id = subscribe(&world, &subscriber, &["added_to_program"]).await;
    let rotate = format!("/admin/subscriptions/{id}/rotate-secret");
    for (path, body) in [
        (rotate.as_str(), "{\"secret"),
        (rotate.as_str(), "{\"secret\": \"whsec_AAAA\",}"),
        ("/admin/subscriptions", "{\"url\": "),
        (
            "/admin/subscriptions",
            "{\"url\": \"http://x\" \"event_types\"}",
        ),
    ] {
        let (status, refused) = post_text(&world, path, body).await;
        assert_eq!(status, 400, "{path} {body}: {refused}");
        assert!(
            refused["error"].get("field").is_none(),
            "{path} {body}: {refused}"
        );
    }
    // A value of the wrong type still names its field.
    let (status, refused) = post_text(&world, &rotate, "{\"secret\": 5}").await;
    assert_eq!(
        (status, &refused["error"]["field"]),
        (400, &json!("secret"))
    );
    let (_, listed) = call(&world, Method::GET, "/admin/subscriptions", None).await;
    assert_eq!(
        listed["items"].as_array().map(Vec::len),
        Some(1),
        "{listed}"
    );
    assert_eq!(
        listed["items"][0]["previous_secret_until"],
        Value::Null,
        "nothing rotated: {listed}"
    );
}

#[tokio::test]
async fn a_bulk_replay_refuses_ids_that_cannot_be_ids() {
    let world = world().await;
    for ids in [json!([-1]), json!([3, 0])] {
        let (status, refused) = call(
            &world,
            Method::POST,
            "/admin/dead-letters/replay",
            Some(json!({ "ids": ids })),
        )
        .await;
        assert_eq!(status, 400, "{ids}: {refused}");
        assert_eq!(refused["error"]["field"], "ids", "{refused}");
    }
    let (status, refused) = post_text(&world, "/admin/dead-letters/replay", "null").await;
    assert_eq!(status, 400, "{refused}");
    let message = refused["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("expected a JSON object"), "{refused}");
    assert!(!message.contains("BulkReplay"), "{refused}");
}
