//! A read the write depended on that fails for good is named as the read: the dead letter says
//! what was being read and in which mapping (it read as if a write had failed, or named
//! nothing).

use serde_json::json;

use crate::world::World;

#[tokio::test]
async fn a_read_that_fails_for_good_is_named_as_the_read() {
    let world = World::new().await;
    let (lead, _, _) = world
        .synced_person("read.fails@example.com", "Registered")
        .await;
    // Marketo refuses the API user (603) from now on: a Marketo user's change reaches the
    // service by its webhook, and the read of the member it names fails for good.
    world.mk_fault(json!({ "error_code": "603" })).await;
    world.mk_sets(lead, "Attended");
    world.settle().await;
    let dead = world.app.store.dead(0, 10).await.unwrap();
    assert_eq!(dead.len(), 1, "{dead:?}");
    let error = dead[0].last_error.as_deref().unwrap_or_default();
    assert!(
        error.starts_with("reading the Marketo program member (mapping webinar): ")
            && error.contains("603"),
        "{error}"
    );
}
