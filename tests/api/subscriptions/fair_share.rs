//! Subscribers share the delivery slots: one that does not answer holds its share of them,
//! not all, so another's deliveries go on however many people's events wait for both.

use campaign_sync::store::now_millis;

use super::subscriber::Subscriber;
use super::{deliverer, subscribe, world};

#[tokio::test]
async fn a_hung_subscriber_holds_its_share_of_the_slots_not_all_of_them() {
    let world = world().await;
    let (hung, other) = (Subscriber::spawn().await, Subscriber::spawn().await);
    subscribe(&world, &hung, &["added_to_program"]).await;
    subscribe(&world, &other, &["added_to_program"]).await;
    hung.hold();
    // Twenty people's events: each person's queue of each subscriber has one due.
    for n in 0..20 {
        let (_, sf_lead) = world.person(&format!("share{n}@example.com"));
        world.sf_adds(&sf_lead, Some("Invited"));
    }
    world.settle().await;
    let deliverer = deliverer(&world);
    for _ in 0..100 {
        deliverer.round_at(now_millis()).await.unwrap();
        if other.received().len() == 20 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        other.received().len(),
        20,
        "the answering subscriber waited behind the hung one's attempts"
    );
    assert!(hung.received().len() <= 8, "{}", hung.received().len());
    hung.release();
}
