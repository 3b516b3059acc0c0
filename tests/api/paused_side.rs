//! A change that waits for one side's pause spends none of the other side's calls: a mapping's
//! share is postponed before it reads either side (it read Marketo for every webhook and feed
//! entry while Salesforce was paused, and again after), and syncs once the pause ends.

use campaign_sync::store::now_millis;

use crate::world::World;

#[tokio::test]
async fn a_change_waiting_for_salesforce_spends_no_marketo_call() {
    let world = World::new().await;
    let (lead, sf_lead, _) = world.synced_person("paused@example.com", "Invited").await;
    let salesforce = &world.app.worker.quota().salesforce;
    salesforce.pause(
        now_millis() + 3_600_000,
        "Salesforce REQUEST_LIMIT_EXCEEDED",
    );
    let marketo_calls = || {
        world
            .mk
            .requests()
            .iter()
            .filter(|r| r.kind == "rest")
            .count()
    };
    let before = marketo_calls();
    world.mk_sets(lead, "Registered");
    world.settle().await;
    assert_eq!(
        marketo_calls(),
        before,
        "no Marketo call while Salesforce is paused"
    );
    assert!(world.app.store.dead(0, 10).await.unwrap().is_empty());
    assert_eq!(world.sf_member_status(&sf_lead).as_deref(), Some("Invited"));

    salesforce.end_pause(now_millis());
    world.app.store.catch_up(now_millis()).await.unwrap();
    world.settle().await;
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Registered")
    );
}
