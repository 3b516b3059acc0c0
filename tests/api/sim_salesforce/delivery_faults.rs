//! Outbound delivery's configured faults: duplicate delivery and reordering, and an
//! acknowledged notification delivered again on request.

use serde_json::json;

use super::listener::{ACK, Listener};
use super::outbound::sim_sending_to;
use super::{USER, seed};

#[tokio::test]
async fn a_duplicate_probability_of_one_delivers_each_notification_twice() {
    let (listener, url) = Listener::start(&[ACK]).await;
    let sim = sim_sending_to(&url, |o| o.duplicate_probability = 1.0).await;
    let (campaign, lead) = seed(&sim);
    sim.add_member(USER.0, &campaign, &lead, None)
        .expect("member");
    assert_eq!(sim.deliver_outbound_now().await.duplicated, 1);
    assert_eq!(sim.deliver_outbound_now().await.duplicated, 0);
    assert_eq!(sim.outbound_queue_len(), 0);
    let bodies = listener.bodies();
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[0], bodies[1], "the same notification, id and all");
}

#[tokio::test]
async fn a_reorder_probability_of_one_shuffles_a_round() {
    let (listener, url) = Listener::start(&[ACK]).await;
    let sim = sim_sending_to(&url, |o| o.reorder_probability = 1.0).await;
    let (campaign, _) = seed(&sim);
    let mut members = Vec::new();
    for n in 0..8 {
        let lead = sim
            .create_lead(json!({"LastName": format!("L{n}"), "Company": "C"}))
            .expect("lead");
        members.push(
            sim.add_member(USER.0, &campaign, &lead, None)
                .expect("member"),
        );
    }
    assert_eq!(sim.deliver_outbound_now().await.acked, 8);
    let body = listener.bodies().concat();
    let mut sent: Vec<(usize, &String)> = members
        .iter()
        .map(|m| (body.find(m.as_str()).expect("sent"), m))
        .collect();
    sent.sort();
    let order: Vec<&String> = sent.into_iter().map(|(_, m)| m).collect();
    assert_ne!(
        order,
        members.iter().collect::<Vec<_>>(),
        "seeded shuffle changes the order"
    );
}

/// Salesforce's delivery is at least once, even after an Ack: `POST /__sim/outbound/redeliver`
/// sends an acknowledged notification again, with its own notification id.
#[tokio::test]
async fn an_acknowledged_notification_is_delivered_again_on_request() {
    let (listener, url) = Listener::start(&[ACK]).await;
    let sim = sim_sending_to(&url, |_| {}).await;
    let (campaign, lead) = seed(&sim);
    sim.add_member(USER.0, &campaign, &lead, None)
        .expect("member");
    assert_eq!(sim.deliver_outbound_now().await.acked, 1);
    let state = sim.state();
    let acknowledged = &state["outboundAcknowledged"];
    let id = acknowledged[0]["notificationId"]
        .as_str()
        .expect("remembered");
    let control = format!("{}/__sim/outbound/redeliver", sim.base_url());
    let http = reqwest::Client::new();
    let unknown = http
        .post(&control)
        .json(&json!({"notificationIds": ["04l000000000000AAA"]}))
        .send()
        .await
        .expect("redeliver");
    assert_eq!(unknown.status(), 404);
    let asked: serde_json::Value = http
        .post(&control)
        .json(&json!({"notificationIds": [id]}))
        .send()
        .await
        .expect("redeliver")
        .json()
        .await
        .expect("json");
    assert_eq!(asked, json!({"requeued": [id]}));
    assert_eq!(sim.deliver_outbound_now().await.acked, 1);
    let bodies = listener.bodies();
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[0], bodies[1], "the same notification, id and all");
    // Acknowledged again, so it may be asked for again; an empty body asks for every one.
    let every = http.post(&control).send().await.expect("redeliver");
    assert_eq!(every.status(), 200);
    assert_eq!(sim.deliver_outbound_now().await.acked, 1);
    assert_eq!(sim.outbound_queue_len(), 0);
}
