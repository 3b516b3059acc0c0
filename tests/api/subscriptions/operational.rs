//! Operational events with no change waiting: a side paused while nothing was synced (a token
//! refused during a poll) is still told to subscribers.

use campaign_sync::store::now_millis;
use reqwest::Method;

use super::subscriber::Subscriber;
use super::{call, subscribe, world};

#[tokio::test]
async fn a_pause_set_while_no_change_waits_is_announced_once() {
    let world = world().await;
    let subscriber = Subscriber::spawn().await;
    let id = subscribe(&world, &subscriber, &["side_paused"]).await;
    let until = now_millis() + 300_000;
    world
        .app
        .worker
        .quota()
        .salesforce
        .pause(until, "credentials refused: invalid_client");
    // No signal is due, so no round runs; the leader's periodic look announces it.
    world.app.worker.catch_up_after_pauses().await;
    world.app.worker.catch_up_after_pauses().await;
    let pending = format!("/admin/subscriptions/{id}/deliveries?state=pending");
    let (status, queued) = call(&world, Method::GET, &pending, None).await;
    assert_eq!(status, 200, "{queued}");
    let items = queued["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "once per pause: {queued}");
    assert_eq!(items[0]["event_type"], "side_paused", "{queued}");
    let data = &items[0]["payload"]["data"];
    assert_eq!(data["system"], "salesforce", "{queued}");
    assert_eq!(data["until_ms"], until, "{queued}");
}
