//! Salesforce delivers an outbound message at least once, even after it was acknowledged: the
//! service acknowledges the repeat, stores it once and writes nothing more for it.

use crate::test_app::TestDb;
use crate::world::{Options, World};

#[tokio::test]
async fn an_acknowledged_outbound_message_delivered_again_is_stored_once() {
    for db in TestDb::all().await {
        delivered_again_is_stored_once(db).await;
    }
}

async fn delivered_again_is_stored_once(db: TestDb) {
    let world = World::with(Options {
        db: Some(db),
        ..Options::default()
    })
    .await;
    let (lead, sf_lead) = world.person("again@example.com");
    world.sf_adds(&sf_lead, Some("Registered"));
    world.settle().await;
    assert_eq!(world.mk_status(lead).as_deref(), Some("Registered"));
    let writes = world.writes();

    let delivered = |world: &World| {
        world
            .sf
            .requests()
            .iter()
            .filter(|r| r.kind == "outbound" && r.status == Some(200) && r.error.is_none())
            .count()
    };
    let acknowledged = delivered(&world);
    let requeued = world.sf.redeliver_acknowledged(&[]).expect("redeliver");
    assert_eq!(requeued.len(), 1, "the user's one notification");
    // The background sender may take it first; either way it leaves the queue once acked.
    world.sf.deliver_outbound_now().await;
    for _ in 0..500 {
        if world.sf.outbound_queue_len() == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(
        world.sf.outbound_queue_len(),
        0,
        "the repeat is acknowledged"
    );
    assert_eq!(delivered(&world), acknowledged + 1);
    let due = world
        .app
        .store
        .claim_count_due(campaign_sync::store::now_millis())
        .await
        .unwrap();
    assert_eq!(due, 0, "the repeat is not stored again");
    let report = world.app.worker.run_pending().await.unwrap();
    assert_eq!(report.claimed, 0);
    assert_eq!(world.writes(), writes, "nothing written for the repeat");
    // The notification can be asked for by its id too, once acknowledged again.
    let again = world.sf.redeliver_acknowledged(&requeued).expect("again");
    assert_eq!(again, requeued);
}
