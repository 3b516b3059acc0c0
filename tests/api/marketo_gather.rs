//! Marketo's rows gather before they go: changes a few seconds apart share one custom-activity
//! call instead of taking one call each from the instance's shared quota, and a full call's
//! worth goes at once.

use campaign_sync::connectors::marketo::MarketoClient;
use campaign_sync::outbox::{MARKETO_GATHER, provision};
use campaign_sync::store::{TO_MARKETO_ACTIVITY, now_millis};

use crate::marketo_activities::{config, deliverer};
use crate::world::World;

const ACTIVITIES_PATH: &str = "/rest/v1/activities/external.json";

fn gather_ms() -> i64 {
    i64::try_from(MARKETO_GATHER.as_millis()).unwrap()
}

#[tokio::test]
async fn changes_seconds_apart_share_one_activity_call_once_the_earliest_has_waited() {
    let world = World::new().await;
    let config = config(&world);
    provision::provision(&MarketoClient::new(&config.marketo).unwrap())
        .await
        .unwrap();
    let deliverer = deliverer(&world, config);
    let posts = || {
        let requests = world.mk.requests();
        let posted = requests.iter();
        posted
            .filter(|r| r.method == "POST" && r.path == ACTIVITIES_PATH)
            .count()
    };
    let before = posts();
    let first = now_millis();
    for i in 0..3 {
        let (lead, _) = world.person(&format!("gather{i}@example.com"));
        world.mk_sets(lead, "Registered");
        world.settle().await;
        // The running task's round any time before the earliest has waited: nothing goes.
        assert_eq!(
            deliverer.round_at(first + gather_ms() - 1).await.unwrap(),
            0
        );
    }
    assert_eq!(posts(), before, "no call while the activities gather");
    assert!(world.mk.custom_activities().is_empty());

    let last = now_millis();
    assert_eq!(
        deliverer.round_at(last + gather_ms()).await.unwrap(),
        6,
        "three activities and three campaign requests (none configured: skipped)"
    );
    assert_eq!(world.mk.custom_activities().len(), 3);
    assert_eq!(posts() - before, 1, "three changes, one call");
}

#[tokio::test]
async fn a_full_calls_worth_is_ready_without_waiting() {
    let world = World::new().await;
    for i in 0..3 {
        let (lead, _) = world.person(&format!("full{i}@example.com"));
        world.mk_sets(lead, "Registered");
    }
    world.settle().await;
    let store = &world.app.store;
    let now = now_millis();
    let gathered = |full| store.gathered(TO_MARKETO_ACTIVITY, now, gather_ms(), full);
    assert!(!gathered(300).await.unwrap(), "3 of 300, just queued");
    assert!(gathered(3).await.unwrap(), "a full call's worth");
    let later = store.gathered(TO_MARKETO_ACTIVITY, now + gather_ms(), gather_ms(), 300);
    assert!(later.await.unwrap(), "the earliest has waited");
}

/// Marketo's rows go from the replica that leads: its worker's client holds the one rate window
/// and set of permits every Marketo call draws from, however many replicas there are.
#[tokio::test]
async fn only_the_leading_replica_posts_to_marketo() {
    let world = World::new().await;
    let config = config(&world);
    provision::provision(&MarketoClient::new(&config.marketo).unwrap())
        .await
        .unwrap();
    let liveness = campaign_sync::liveness::Liveness::default();
    let follower = deliverer(&world, config).marketo_only_when_leading(liveness.clone());
    let (lead, _) = world.person("leader@example.com");
    world.mk_sets(lead, "Registered");
    world.settle().await;
    let later = now_millis() + gather_ms();
    assert_eq!(follower.round_at(later).await.unwrap(), 0, "not leading");
    assert!(world.mk.custom_activities().is_empty());
    liveness.set_leader(true);
    assert_eq!(follower.round_at(later).await.unwrap(), 2, "leading now");
    assert_eq!(world.mk.custom_activities().len(), 1);
}
