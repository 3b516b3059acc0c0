//! Rotating a subscription's signing secret: the replaced secret keeps signing beside the new
//! one for the overlap asked for, so a subscriber verifies every delivery while it moves over.

use reqwest::Method;
use serde_json::json;

use super::subscriber::Subscriber;
use super::{call, deliverer, subscribe, world};
use crate::world::USER;

const OTHER_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

#[tokio::test]
async fn a_rotated_secret_signs_beside_the_new_one_until_its_overlap_ends() {
    let world = world().await;
    let subscriber = Subscriber::spawn().await;
    let types = ["added_to_program", "program_status_changed"];
    let id = subscribe(&world, &subscriber, &types).await;
    let rotate = format!("/admin/subscriptions/{id}/rotate-secret");

    let before = campaign_sync::store::now_millis();
    let (status, rotated) = call(&world, Method::POST, &rotate, None).await;
    assert_eq!(status, 200, "{rotated}");
    let new_secret = rotated["secret"].as_str().expect("a generated secret");
    assert!(new_secret.starts_with("whsec_"), "{rotated}");
    let until = rotated["previous_secret_until"]
        .as_i64()
        .expect("an overlap");
    assert!(
        until >= before + 86_400_000 && until < before + 86_460_000,
        "a day by default: {rotated}"
    );
    let (_, listed) = call(&world, Method::GET, "/admin/subscriptions", None).await;
    assert_eq!(
        listed["items"][0]["previous_secret_until"], until,
        "{listed}"
    );
    assert!(
        !listed.to_string().contains("whsec_"),
        "no secret is listed: {listed}"
    );

    // The subscriber still checks with the old secret: both sign.
    let (_, ada) = world.person("ada@example.com");
    let member = world.sf_adds(&ada, Some("Invited"));
    world.settle().await;
    deliverer(&world).run_pending().await.unwrap();
    let received = subscriber.received();
    assert_eq!(received.len(), 1, "{received:?}");
    assert!(received[0].verified, "the old secret still signs");
    assert_eq!(received[0].signatures, 2, "{received:?}");

    // It moves to the new secret; a second rotation, to a given secret, keeps no overlap.
    subscriber.set_secret(new_secret);
    let (status, again) = call(
        &world,
        Method::POST,
        &rotate,
        Some(json!({ "secret": OTHER_SECRET, "keep_previous_secs": 0 })),
    )
    .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["previous_secret_until"], serde_json::Value::Null);
    assert!(
        again.get("secret").is_none(),
        "a given secret is not echoed"
    );
    world.sf.update_member(USER, &member, "Registered").unwrap();
    world.settle().await;
    deliverer(&world).run_pending().await.unwrap();
    let last = subscriber.received().pop().unwrap();
    assert!(!last.verified, "the replaced secret signs no more");
    assert_eq!(last.signatures, 1, "{last:?}");
}

#[tokio::test]
async fn a_rotation_it_cannot_use_is_refused_and_changes_nothing() {
    let world = world().await;
    let subscriber = Subscriber::spawn().await;
    let id = subscribe(&world, &subscriber, &["added_to_program"]).await;
    let rotate = format!("/admin/subscriptions/{id}/rotate-secret");
    for (body, field) in [
        (
            json!({ "keep_previous_secs": 604_801 }),
            "keep_previous_secs",
        ),
        (json!({ "secret": "not-a-secret" }), "secret"),
        (json!({ "keep_previous_secs": -1 }), "keep_previous_secs"),
        (json!({ "secrets": OTHER_SECRET }), "secrets"),
    ] {
        let (status, refused) = call(&world, Method::POST, &rotate, Some(body.clone())).await;
        assert_eq!(status, 400, "{body}: {refused}");
        assert_eq!(refused["error"]["field"], field, "{body}: {refused}");
    }
    let (status, _) = call(
        &world,
        Method::POST,
        "/admin/subscriptions/999/rotate-secret",
        None,
    )
    .await;
    assert_eq!(status, 404);
    let not_json = world
        .app
        .client
        .post(world.app.url(&rotate))
        .bearer_auth(super::TOKEN)
        .header("content-type", "text/plain")
        .body("secret=x")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 415);
    let (_, listed) = call(&world, Method::GET, "/admin/subscriptions", None).await;
    assert_eq!(
        listed["items"][0]["previous_secret_until"],
        serde_json::Value::Null,
        "nothing rotated: {listed}"
    );
}
