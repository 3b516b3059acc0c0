//! Outbound messages: batching, state at send time, retry until Ack (a redirect is none), drop
//! after max age, deletes and the integration client sending nothing.

use std::time::Duration;

use campaign_sync::sim::salesforce::{OutboundConfig, SalesforceSim, SalesforceSimConfig};
use reqwest::StatusCode;
use serde_json::json;

use super::listener::{ACK, Listener};
use super::{INTEGRATION, USER, login, seed, start};

pub async fn sim_sending_to(url: &str, adjust: impl FnOnce(&mut OutboundConfig)) -> SalesforceSim {
    let mut outbound = OutboundConfig::to(url);
    outbound.retry_initial = Duration::from_secs(3600);
    adjust(&mut outbound);
    start(SalesforceSimConfig {
        outbound: Some(outbound),
        ..SalesforceSimConfig::default()
    })
    .await
}

fn notifications(body: &str) -> usize {
    body.matches("<Notification>").count()
}

#[tokio::test]
async fn user_changes_are_sent_in_batches_of_at_most_100_with_the_state_at_send_time() {
    let (listener, url) = Listener::start(&[ACK]).await;
    let sim = sim_sending_to(&url, |_| {}).await;
    let (campaign, _) = seed(&sim);
    let mut members = Vec::new();
    for n in 0..250 {
        let lead = sim.create_lead(json!({"LastName": format!("L{n}"), "Company": "C", "Email": format!("l{n}@example.com")})).expect("lead");
        members.push(
            sim.add_member(USER.0, &campaign, &lead, Some("Registered"))
                .expect("member"),
        );
    }
    sim.update_member(USER.0, &members[0], "Attended")
        .expect("update");
    let report = sim.deliver_outbound_now().await;
    assert_eq!(
        (
            report.messages,
            report.notifications,
            report.acked,
            report.failed
        ),
        (3, 251, 251, 0)
    );
    assert_eq!(sim.outbound_queue_len(), 0);
    let bodies = listener.bodies();
    assert_eq!(
        bodies.iter().map(|b| notifications(b)).collect::<Vec<_>>(),
        [100, 100, 51]
    );

    let (headers, first) = listener.received.lock().expect("lock")[0].clone();
    assert_eq!(headers["content-type"], "text/xml; charset=UTF-8");
    assert_eq!(headers["soapaction"], "\"\"");
    let org = &sim.config().organization_id;
    for needle in [
        format!("<OrganizationId>{org}</OrganizationId>"),
        "<SessionId xsi:nil=\"true\"/>".to_owned(),
        format!("/services/Soap/c/62.0/{}</EnterpriseUrl>", &org[..15]),
        "<notifications xmlns=\"http://soap.sforce.com/2005/09/outbound\">".to_owned(),
        "<sObject xsi:type=\"sf:CampaignMember\" xmlns:sf=\"urn:sobject.enterprise.soap.sforce.com\">".to_owned(),
        format!("<sf:Id>{}</sf:Id>", members[0]),
        "<ActionId>04k".to_owned(),
        "<sf:Email>l0@example.com</sf:Email>".to_owned(),
    ] {
        assert!(first.contains(&needle), "{needle} not in {first}");
    }
    assert!(!first.contains("<sf:ContactId>"), "null fields are omitted");
    // Both notifications of the first member carry its state at send time.
    let first_member = format!("<sf:Id>{}</sf:Id>\n     <sf:CampaignId>", members[0]);
    let all = bodies.concat();
    assert_eq!(all.matches(&first_member).count(), 2);
    assert_eq!(all.matches("<sf:Status>Attended</sf:Status>").count(), 2);
    let action = |body: &String| {
        body.split("<ActionId>")
            .nth(1)
            .map(|rest| rest[..18].to_owned())
    };
    assert!(
        bodies.iter().all(|b| action(b) == action(&bodies[0])),
        "one OM definition, one ActionId"
    );
    assert_eq!(
        all.matches("<sf:HasResponded>true</sf:HasResponded>")
            .count(),
        2
    );
}

#[tokio::test]
async fn unacknowledged_messages_are_retried_until_the_exact_ack() {
    let nack = ACK.replace("<Ack>true</Ack>", "<Ack>false</Ack>");
    let (listener, url) = Listener::start(&[&nack, "OK", ACK]).await;
    let sim = sim_sending_to(&url, |_| {}).await;
    let (campaign, lead) = seed(&sim);
    sim.add_member(USER.0, &campaign, &lead, None)
        .expect("member");
    for expected_failures in [1, 1] {
        let report = sim.deliver_outbound_now().await;
        assert_eq!((report.failed, report.acked), (expected_failures, 0));
        assert_eq!(sim.outbound_queue_len(), 1);
    }
    let report = sim.deliver_outbound_now().await;
    assert_eq!((report.failed, report.acked), (0, 1));
    assert_eq!(sim.outbound_queue_len(), 0);
    let bodies = listener.bodies();
    assert_eq!(bodies.len(), 3);
    // Each attempt is in the call log, as Marketo's webhook calls are in its own.
    let sent: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|c| c.kind == "outbound")
        .collect();
    assert_eq!(
        sent.iter().map(|c| c.status).collect::<Vec<_>>(),
        [Some(200), Some(200), Some(200)]
    );
    assert_eq!(
        sent.iter().map(|c| c.error.is_some()).collect::<Vec<_>>(),
        [true, true, false],
        "a 200 without the Ack is an error: {sent:?}"
    );
    assert!(
        sent.iter()
            .all(|c| c.records == 1 && c.path == "/om" && !c.write)
    );
    assert_eq!(
        sent[0].query.as_deref(),
        Some("token=***"),
        "the receiver's token is masked"
    );
    assert!(
        sent[0]
            .body
            .as_deref()
            .is_some_and(|b| b.contains("<Notification>"))
    );
    let id = |body: &str| {
        body.split("<Notification>\n    <Id>")
            .nth(1)
            .map(|rest| rest[..18].to_owned())
    };
    assert!(
        bodies.iter().all(|b| id(b) == id(&bodies[0])),
        "a retry keeps the notification id"
    );
}

#[tokio::test]
async fn a_redirect_is_not_followed_and_not_an_ack() {
    let (listener, target) = Listener::start(&[ACK]).await;
    let redirect = axum::Router::new().route(
        "/om",
        axum::routing::post(move || {
            let target = target.clone();
            async move {
                (
                    StatusCode::PERMANENT_REDIRECT,
                    [(reqwest::header::LOCATION, target)],
                )
            }
        }),
    );
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/om", socket.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(socket, redirect).await });
    let sim = sim_sending_to(&url, |_| {}).await;
    let (campaign, lead) = seed(&sim);
    sim.add_member(USER.0, &campaign, &lead, None)
        .expect("member");
    let report = sim.deliver_outbound_now().await;
    assert_eq!((report.failed, report.acked), (1, 0));
    assert_eq!(sim.outbound_queue_len(), 1, "kept for a retry");
    assert!(
        listener.bodies().is_empty(),
        "the redirect was not followed"
    );
}

#[tokio::test]
async fn the_background_sender_retries_on_its_schedule() {
    let (listener, url) = Listener::start(&["", ACK]).await;
    let sim = sim_sending_to(&url, |o| o.retry_initial = Duration::from_millis(40)).await;
    let (campaign, lead) = seed(&sim);
    sim.add_member(USER.0, &campaign, &lead, None)
        .expect("member");
    for _ in 0..200 {
        if sim.outbound_queue_len() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(sim.outbound_queue_len(), 0);
    assert_eq!(listener.bodies().len(), 2);
}

#[tokio::test]
async fn messages_older_than_max_age_are_dropped() {
    let (listener, url) = Listener::start(&["<html>busy</html>"]).await;
    let sim = sim_sending_to(&url, |o| o.max_age = Duration::from_secs(60)).await;
    let (campaign, lead) = seed(&sim);
    sim.add_member(USER.0, &campaign, &lead, None)
        .expect("member");
    assert_eq!(sim.deliver_outbound_now().await.failed, 1);
    sim.advance_clock(Duration::from_secs(61));
    let report = sim.deliver_outbound_now().await;
    assert_eq!((report.dropped, report.messages), (1, 0));
    assert_eq!(sim.outbound_queue_len(), 0);
    assert_eq!(listener.bodies().len(), 1);
}

#[tokio::test]
async fn deletes_and_the_integration_client_send_nothing() {
    let (listener, url) = Listener::start(&[ACK]).await;
    let sim = sim_sending_to(&url, |_| {}).await;
    let (campaign, lead) = seed(&sim);
    let integration = login(&sim, INTEGRATION).await;
    let (status, created) = super::answer(
        integration
            .post(
                "sobjects/CampaignMember",
                json!({"CampaignId": campaign, "LeadId": lead}),
            )
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let path = format!(
        "sobjects/CampaignMember/{}",
        created["id"].as_str().expect("id")
    );
    assert_eq!(
        integration
            .patch(&path, json!({"Status": "Attended"}))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(sim.outbound_queue_len(), 0);

    let user = login(&sim, USER).await;
    assert_eq!(
        user.patch(&path, json!({"Status": "Registered"}))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(sim.outbound_queue_len(), 1);
    assert_eq!(sim.deliver_outbound_now().await.acked, 1);
    assert_eq!(user.delete(&path).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(sim.outbound_queue_len(), 0);
    assert_eq!(sim.deliver_outbound_now().await.messages, 0);
    assert_eq!(listener.bodies().len(), 1);
}

#[tokio::test]
async fn a_member_deleted_before_delivery_is_sent_without_data() {
    let (listener, url) = Listener::start(&[ACK]).await;
    let sim = sim_sending_to(&url, |_| {}).await;
    let (campaign, lead) = seed(&sim);
    let member = sim
        .add_member(USER.0, &campaign, &lead, Some("Registered"))
        .expect("member");
    sim.delete_member(USER.0, &member).expect("delete");
    assert_eq!(sim.deliver_outbound_now().await.acked, 1);
    let body = listener.bodies().concat();
    // "The notification contains no data": an empty sObject, not even the record's Id.
    assert!(body.contains("<Notification>"), "{body}");
    assert!(!body.contains(&member) && !body.contains("<sf:"), "{body}");
}

/// A delivery that found no listener is logged as such, without the receiver's URL: its query
/// holds the service's token, masked in `query` but written out whole in the error's text.
#[tokio::test]
async fn a_refused_connection_is_logged_without_the_receivers_token() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/om?token=om-secret", closed.local_addr().unwrap());
    drop(closed);
    let sim = sim_sending_to(&url, |_| {}).await;
    let (campaign, lead) = seed(&sim);
    sim.add_member(USER.0, &campaign, &lead, None)
        .expect("member");
    let report = sim.deliver_outbound_now().await;
    assert_eq!((report.failed, report.acked), (1, 0));
    let sent: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|c| c.kind == "outbound")
        .collect();
    let error = sent[0].error.as_deref().unwrap_or_default();
    assert!(error.starts_with("could not connect"), "{error}");
    assert!(!error.contains("om-secret"), "{error}");
}
