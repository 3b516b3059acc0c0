//! How a subscriber's answers steer its deliveries: `410 Gone` pauses it after one attempt, a
//! `429`/`503` with `Retry-After` holds its whole queue (lifted by resuming it), a hung one holds
//! only its own, and a stop lets the deliveries in flight record their end.

use reqwest::Method;

use super::subscriber::Subscriber;
use super::{call, deliverer, subscribe, world};

#[tokio::test]
async fn a_subscriber_answering_410_gone_is_paused_after_one_attempt() {
    let world = world().await;
    let subscriber = Subscriber::spawn().await;
    let id = subscribe(&world, &subscriber, &["added_to_program"]).await;
    subscriber.answer(410);
    for email in ["gone1@example.com", "gone2@example.com"] {
        let (_, sf_lead) = world.person(email);
        world.sf_adds(&sf_lead, Some("Invited"));
    }
    world.settle().await;
    deliverer(&world).run_pending().await.unwrap();
    // Both people's first events went out at once; neither is tried again.
    assert_eq!(subscriber.received().len(), 2);
    let (_, listed) = call(&world, Method::GET, "/admin/subscriptions", None).await;
    let listed = listed["items"].as_array().unwrap().clone();
    let mine = listed.iter().find(|s| s["id"] == id).unwrap();
    assert_eq!(mine["paused"], true, "{mine}");
    let dead_path = format!("/admin/subscriptions/{id}/deliveries?state=dead");
    let (_, dead) = call(&world, Method::GET, &dead_path, None).await;
    let reason = dead["items"][0]["last_error"].as_str().unwrap_or_default();
    assert!(reason.contains("410"), "{dead}");

    // The endpoint is back: resuming and replaying delivers.
    subscriber.answer(204);
    let resume = format!("/admin/subscriptions/{id}/resume");
    assert_eq!(call(&world, Method::POST, &resume, None).await.0, 200);
    let replay = format!("/admin/subscriptions/{id}/replay");
    assert_eq!(call(&world, Method::POST, &replay, None).await.0, 200);
    deliverer(&world).run_pending().await.unwrap();
    assert_eq!(subscriber.received().len(), 4);
}

#[tokio::test]
async fn a_subscriber_asking_to_wait_holds_its_whole_queue_without_using_attempts() {
    let world = world().await;
    let subscriber = Subscriber::spawn().await;
    let id = subscribe(&world, &subscriber, &["added_to_program"]).await;
    subscriber.answer_with_retry_after(429, "120");
    let (_, first) = world.person("wait1@example.com");
    world.sf_adds(&first, Some("Invited"));
    world.settle().await;
    deliverer(&world).run_pending().await.unwrap();
    assert_eq!(subscriber.received().len(), 1, "asked once, told to wait");
    let (_, listed) = call(&world, Method::GET, "/admin/subscriptions", None).await;
    let mine = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .cloned()
        .unwrap();
    let until = mine["throttled_until"].as_i64().expect("throttled");
    let now = campaign_sync::store::now_millis();
    assert!(until > now + 100_000 && until <= now + 120_000, "{mine}");
    // Another person's event meanwhile waits too: the subscriber asked the whole endpoint.
    let (_, second) = world.person("wait2@example.com");
    world.sf_adds(&second, Some("Invited"));
    world.settle().await;
    deliverer(&world).run_pending().await.unwrap();
    assert_eq!(subscriber.received().len(), 1, "nothing more sent");
    let pending = format!("/admin/subscriptions/{id}/deliveries?state=pending");
    let (_, waiting) = call(&world, Method::GET, &pending, None).await;
    let attempts: Vec<i64> = waiting["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["attempts"].as_i64().unwrap())
        .collect();
    assert_eq!(attempts, [1, 0], "the held one used no attempt");
    // Once the wait it asked for has passed, it is no longer shown as throttled.
    let store = &world.app.store;
    let past = campaign_sync::store::now_millis() - 1;
    store
        .execute_raw(&format!(
            "UPDATE subscriptions SET throttled_until = {past}"
        ))
        .await
        .unwrap();
    let shown = store.subscription(id).await.unwrap().unwrap();
    assert_eq!(shown.throttled_until, None);
    // Pausing takes no `delivery`: that names a delivery to replay.
    let (status, refused) = call(
        &world,
        Method::POST,
        &format!("/admin/subscriptions/{id}/pause?delivery=2"),
        None,
    )
    .await;
    assert_eq!(
        (status, refused["error"]["field"].as_str()),
        (400, Some("delivery"))
    );
}

/// A subscriber that asked to wait (up to an hour) is ready sooner: resuming it lifts the wait
/// and its queue goes at once.
#[tokio::test]
async fn resuming_a_subscriber_lifts_the_wait_it_asked_for() {
    let world = world().await;
    let subscriber = Subscriber::spawn().await;
    let id = subscribe(&world, &subscriber, &["added_to_program"]).await;
    subscriber.answer_with_retry_after(503, "3600");
    let (_, person) = world.person("ready@example.com");
    world.sf_adds(&person, Some("Invited"));
    world.settle().await;
    let deliverer = deliverer(&world);
    deliverer.run_pending().await.unwrap();
    assert_eq!(subscriber.received().len(), 1, "asked once, told to wait");
    subscriber.answer(200);
    let (status, _) = call(
        &world,
        Method::POST,
        &format!("/admin/subscriptions/{id}/resume"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let shown = world.app.store.subscription(id).await.unwrap().unwrap();
    assert_eq!(shown.throttled_until, None);
    deliverer.run_pending().await.unwrap();
    assert_eq!(subscriber.received().len(), 2, "delivered at once");
}

/// A subscriber that does not answer holds its own delivery, not the others': the running
/// task's round starts every delivery and returns, each records its own end, and a later event
/// reaches another subscriber while the hung one still waits.
#[tokio::test]
async fn a_hung_subscriber_does_not_hold_the_others() {
    use campaign_sync::store::{Queue, now_millis};
    let world = world().await;
    let (hung, other) = (Subscriber::spawn().await, Subscriber::spawn().await);
    let hung_id = subscribe(&world, &hung, &["added_to_program"]).await;
    subscribe(&world, &other, &["added_to_program"]).await;
    hung.hold();
    let deliverer = deliverer(&world);
    let wait_for = async |subscriber: &Subscriber, count: usize| {
        for _ in 0..250 {
            if subscriber.received().len() >= count {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!(
            "{count} deliveries never arrived: {:?}",
            subscriber.received()
        );
    };
    for (n, email) in ["ada@example.com", "alan@example.com"].iter().enumerate() {
        let (_, sf_lead) = world.person(email);
        world.sf_adds(&sf_lead, Some("Invited"));
        world.settle().await;
        deliverer.round_at(now_millis()).await.unwrap();
        wait_for(&other, n + 1).await;
    }
    // Both events reached the other subscriber while the hung one's first attempt is still
    // in flight: claimed (an attempt counted), no end recorded for it yet.
    let hung_rows = world
        .app
        .store
        .deliveries(Queue::subscription(hung_id), None, 0, 10)
        .await
        .unwrap();
    assert_eq!(
        (
            hung_rows[0].state.as_str(),
            hung_rows[0].last_error.as_deref()
        ),
        ("pending", None),
        "{hung_rows:?}"
    );
    hung.release();
    deliverer.run_pending().await.unwrap();
    wait_for(&hung, 2).await;
}

/// A stop waits for the subscriber deliveries in flight (within an attempt's timeout): each
/// records how it ended, instead of staying leased, with the person's later events behind it.
#[tokio::test]
async fn a_stop_lets_the_deliveries_in_flight_record_their_end() {
    use campaign_sync::store::Queue;
    let world = world().await;
    let slow = Subscriber::spawn().await;
    let id = subscribe(&world, &slow, &["added_to_program"]).await;
    slow.hold();
    let (_, sf_lead) = world.person("in.flight@example.com");
    world.sf_adds(&sf_lead, Some("Invited"));
    world.settle().await;
    let shutdown = tokio_util::sync::CancellationToken::new();
    let running = tokio::spawn(deliverer(&world).run(shutdown.clone()));
    for _ in 0..250 {
        if !slow.received().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(slow.received().len(), 1, "the delivery is in flight");
    shutdown.cancel();
    // The subscriber answers a moment after the stop began.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    slow.release();
    running.await.unwrap();
    let rows = world
        .app
        .store
        .deliveries(Queue::subscription(id), None, 0, 10)
        .await
        .unwrap();
    assert_eq!(rows[0].state, "delivered", "{rows:?}");
}
