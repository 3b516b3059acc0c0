//! The sync worker under failure: expired tokens and transient faults retried until they
//! converge, and permanent refusals ending dead with their reason, replayed once fixed.

use campaign_sync::store::{OutcomeResult, now_millis};

use crate::sync_edges::reasons;
use crate::world::{USER, World};

#[tokio::test]
async fn expired_tokens_and_transient_faults_are_retried_and_converge() {
    let world = World::new().await;
    let (lead, sf_lead) = world.person("faults@example.com");
    world.mk_sets(lead, "Invited");
    world.settle().await;
    world.sf.expire_tokens();
    world.mk.expire_tokens();
    world.mk.inject_faults(&["713", "604"]).unwrap();
    world.mk_sets(lead, "Registered");
    world.settle().await;
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Registered")
    );
    world.sf.revoke_tokens();
    let member = world.sf_member_id(&sf_lead).unwrap();
    world.sf.update_member(USER, &member, "Attended").unwrap();
    world.settle().await;
    assert_eq!(world.mk_status(lead).as_deref(), Some("Attended"));
    assert!(world.app.store.dead(0, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_permanent_error_ends_dead_with_its_reason_and_replays_once_fixed() {
    let world = World::new().await;
    let (lead, sf_lead) = world.person("dead@example.com");
    world.mk_sets(lead, "Registered");
    world.settle().await;
    // Someone removes "No Show" from the campaign; Marketo then moves the person there.
    world.remove_no_show();
    world.mk_sets(lead, "No Show");
    world.settle().await;
    let dead = world.app.store.dead(0, 10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert!(
        dead[0].last_error.as_deref().unwrap().contains("No Show"),
        "{dead:?}"
    );
    assert!(!reasons(&world, OutcomeResult::Dead).await.is_empty());
    // Fixed: the status is back. Replay through the admin API.
    world.restore_no_show();
    let replayed = world
        .app
        .store
        .replay(dead[0].id, now_millis())
        .await
        .unwrap();
    assert!(replayed);
    world.settle().await;
    assert_eq!(world.sf_member_status(&sf_lead).as_deref(), Some("No Show"));
}

/// Marketo's 603 (the API user's role lacks a permission, or its address is not allowed) cannot
/// be retried away: the change ends dead naming it, and replays once the role is fixed.
#[tokio::test]
async fn access_denied_by_marketo_ends_dead_naming_it_and_replays_once_fixed() {
    let world = World::new().await;
    let (lead, sf_lead) = world.person("denied@example.com");
    let denied = serde_json::json!({ "error_code": "603" });
    let http = reqwest::Client::new();
    let faults = format!("{}/__sim/faults", world.mk.base_url());
    let added = http.post(&faults).json(&denied).send().await.unwrap();
    assert!(added.status().is_success(), "{}", added.status());
    world.sf_adds(&sf_lead, Some("Invited"));
    world.settle().await;
    let dead = world.app.store.dead(0, 10).await.unwrap();
    assert_eq!(dead.len(), 1, "{dead:?}");
    let error = dead[0].last_error.as_deref().unwrap();
    assert!(
        error.contains("603") && error.contains("Access denied"),
        "{error}"
    );
    assert_eq!(world.mk_status(lead), None);
    // The role is fixed.
    assert!(
        http.delete(&faults)
            .send()
            .await
            .unwrap()
            .status()
            .is_success()
    );
    assert!(
        world
            .app
            .store
            .replay(dead[0].id, now_millis())
            .await
            .unwrap()
    );
    world.settle().await;
    assert_eq!(world.mk_status(lead).as_deref(), Some("Invited"));
}
