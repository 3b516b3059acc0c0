//! Inputs mean only what they say: an outbound message whose CampaignMember has no `Status`
//! is never a removal.

use campaign_sync::http::inbound::salesforce::{
    CampaignMemberFields, Notification, NotifiedObject, OutboundMessage, render_outbound_message,
};
use campaign_sync::sim::salesforce::SalesforceSimConfig;

use crate::world::{INBOUND_TOKEN, PROGRAM, World};

/// One notification for this member, with the status given (or none).
fn message(member_id: &str, person: &str, status: Option<&str>) -> String {
    render_outbound_message(&OutboundMessage {
        organization_id: SalesforceSimConfig::default().organization_id,
        action_id: "04k000000000001AAA".into(),
        session_id: None,
        enterprise_url: None,
        partner_url: None,
        notifications: vec![Notification {
            id: "04l000000000077AAA".into(),
            object: NotifiedObject::CampaignMember(CampaignMemberFields {
                id: member_id.into(),
                lead_id: Some(person.into()),
                status: status.map(Into::into),
                system_modstamp: Some("2099-01-01T00:00:00.000Z".into()),
                ..CampaignMemberFields::default()
            }),
        }],
        rejected: Vec::new(),
    })
}

#[tokio::test]
async fn a_campaign_member_without_status_is_never_a_removal() {
    let world = World::new().await;
    let (lead, sf_lead) = world.person("nostatus@example.com");
    world
        .mk
        .set_status_as_user(PROGRAM, lead, "Registered")
        .unwrap();
    world.settle().await;
    let member = world.sf_member_id(&sf_lead).expect("synced to Salesforce");
    assert_eq!(world.mk_status(lead).as_deref(), Some("Registered"));

    let response = world
        .app
        .client
        .post(world.app.url(&format!(
            "/v1/salesforce/outbound-messages?token={INBOUND_TOKEN}"
        )))
        .header("content-type", "text/xml; charset=UTF-8")
        .body(message(&member, &sf_lead, None))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        200,
        "acknowledged: a redelivery would not help"
    );
    world.settle().await;
    assert_eq!(
        world.mk_status(lead).as_deref(),
        Some("Registered"),
        "still a member of the program"
    );
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Registered")
    );
    let metrics = world.app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("outbound_notifications_rejected_total 1"),
        "kept aside as a dead letter, not dropped: {metrics}"
    );
}
