//! Dead letters marked superseded: a later write for the same person in the same mapping
//! landed since the death listed, so replaying it changes nothing. Only the signal's last
//! death counts: a signal revived by a later delivery that died again is not superseded by
//! what landed between its deaths.

use campaign_sync::store::cursors::MARKETO_ACTIVITIES;

use crate::sync_failures::in_state;
use crate::world::{Options, USER, World};

async fn dead_letters(world: &World) -> serde_json::Value {
    world
        .app
        .admin(reqwest::Method::GET, "/admin/dead-letters", "admin")
        .await
        .1
}

/// A dead letter whose person's later change landed since is marked superseded where dead
/// letters are listed (the admin API, the console's errors page and its CSV): replaying it
/// would change nothing. The status counts already leave it out.
#[tokio::test]
async fn a_dead_letter_whose_person_moved_on_is_marked_superseded() {
    let world = World::with(crate::world::Options {
        admin_token: Some("admin".into()),
        ..crate::world::Options::default()
    })
    .await;
    let (lead, sf_lead) = world.person("moved.on@example.com");
    world.mk_sets(lead, "Registered");
    world.settle().await;
    // Marketo refuses the API user (603) when a Salesforce user's change reaches it: dead.
    world
        .mk_fault(serde_json::json!({ "error_code": "603" }))
        .await;
    let member = world.sf_member_id(&sf_lead).unwrap();
    world.sf.update_member(USER, &member, "No Show").unwrap();
    world.settle().await;
    let before = dead_letters(&world).await;
    assert_eq!(before["items"][0]["superseded"], false, "{before}");
    // The role is fixed, and a Marketo user moves the person on; that change lands.
    world.mk_faults_cleared().await;
    world.mk_sets(lead, "Attended");
    world.settle().await;
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Attended")
    );

    let after = dead_letters(&world).await;
    assert_eq!(after["items"][0]["superseded"], true, "{after}");
    let failing = in_state(&world, "dead").await;
    assert!(failing[0].superseded, "{failing:?}");
}

/// The activity feed's signal of a lead and program is revived by its later readings: one that
/// died, then carried a change that landed, then died again is a failure to look at, not one
/// the person has moved past.
#[tokio::test]
async fn a_revived_signal_that_died_again_is_not_superseded() {
    let world = World::with(Options {
        admin_token: Some("admin".into()),
        webhooks: false,
        ..Options::default()
    })
    .await;
    let worker = &world.app.worker;
    worker.read_marketo_activities().await.unwrap();
    assert!(
        world
            .app
            .store
            .cursor(MARKETO_ACTIVITIES)
            .await
            .unwrap()
            .is_some()
    );
    let (lead, sf_lead) = world.person("revived@example.com");
    let refuse =
        serde_json::json!({ "error_code": "FIELD_CUSTOM_VALIDATION_EXCEPTION", "calls": 100 });
    let read = |status: &'static str, refused: bool| {
        let refuse = refuse.clone();
        let world = &world;
        async move {
            if refused {
                world.sf_fault(refuse).await;
            } else {
                world.sf_faults_cleared().await;
            }
            // The feed reads whole seconds: each change in a second of its own.
            tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
            world.mk_sets(lead, status);
            assert_eq!(worker.read_marketo_activities().await.unwrap(), 1);
            world.settle().await;
        }
    };
    read("Invited", true).await;
    let first = dead_letters(&world).await;
    let id = first["items"][0]["id"].clone();
    assert_eq!(first["items"][0]["superseded"], false, "{first}");
    read("Registered", false).await;
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Registered")
    );
    read("Attended", true).await;
    let again = dead_letters(&world).await;
    assert_eq!(
        again["items"][0]["id"], id,
        "the same signal, revived: {again}"
    );
    assert_eq!(again["items"][0]["superseded"], false, "{again}");
    let failing = in_state(&world, "dead").await;
    assert!(!failing[0].superseded, "{failing:?}");
}
