//! After a message with a bad notification, the sync goes on: the next Salesforce change, the
//! good notifications beside the bad one, and a notification naming fifteen-character ids.

use crate::poison::{PATH, three_members};
use crate::world::{INBOUND_TOKEN, INTEGRATION, USER, World};
use campaign_sync::http::inbound::salesforce::{
    ACK_ENVELOPE, CampaignMemberFields, Notification, NotifiedObject, parse_notifications,
    render_outbound_message,
};

#[tokio::test]
async fn after_the_poison_message_the_next_salesforce_change_is_synced() {
    let world = World::new().await;
    let (lead, sf_lead) = world.person("ada@example.com");
    let mut poison = parse_notifications(three_members().as_bytes()).unwrap();
    poison.organization_id = world.sf.config().organization_id.clone();
    poison.notifications.truncate(1);
    if let NotifiedObject::CampaignMember(member) = &mut poison.notifications[0].object {
        member.campaign_id = Some("aaaaaaaaaaaaaaé".into());
    }
    let response = world
        .app
        .client
        .post(world.app.url(&format!("{PATH}?token={INBOUND_TOKEN}")))
        .header("content-type", "text/xml; charset=UTF-8")
        .body(render_outbound_message(&poison))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), ACK_ENVELOPE);
    world.settle().await;

    let member = world.sf_adds(&sf_lead, Some("Invited"));
    world.settle().await;
    assert_eq!(world.mk_status(lead).as_deref(), Some("Invited"));
    world.sf.update_member(USER, &member, "Registered").unwrap();
    world.settle().await;
    assert_eq!(world.mk_status(lead).as_deref(), Some("Registered"));

    let listed = world.app.store.dead(0, 10).await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].state, "rejected");
}

/// Sends `notifications` to the world's service as one outbound message from its org; the
/// answer's status.
async fn send_notifications(world: &World, notifications: Vec<Notification>) -> u16 {
    let mut message = parse_notifications(three_members().as_bytes()).unwrap();
    message.organization_id = world.sf.config().organization_id.clone();
    message.notifications = notifications;
    let response = world
        .app
        .client
        .post(world.app.url(&format!("{PATH}?token={INBOUND_TOKEN}")))
        .header("content-type", "text/xml; charset=UTF-8")
        .body(render_outbound_message(&message))
        .send()
        .await
        .unwrap();
    response.status().as_u16()
}

/// A Notification for a CampaignMember as the simulator holds it now.
fn notification_of(world: &World, id: &str, member_id: &str) -> Notification {
    let record = world.sf.record(member_id).expect("the member exists");
    let text = |name: &str| {
        record
            .get(name)
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    Notification {
        id: id.into(),
        object: NotifiedObject::CampaignMember(CampaignMemberFields {
            id: member_id.into(),
            campaign_id: text("CampaignId"),
            lead_id: text("LeadId"),
            contact_id: text("ContactId"),
            email: text("Email"),
            status: text("Status"),
            has_responded: record.get("HasResponded").and_then(|v| v.as_bool()),
            created_date: text("CreatedDate"),
            last_modified_date: text("LastModifiedDate"),
            system_modstamp: text("SystemModstamp"),
        }),
        raw: None,
    }
}

#[tokio::test]
async fn the_two_good_notifications_beside_a_bad_one_sync() {
    let world = World::new().await;
    let (ada, sf_ada) = world.person("ada@example.com");
    let (grace, sf_grace) = world.person("grace@example.com");
    let (alan, sf_alan) = world.person("alan@example.com");
    // Added by the integration user, so the simulator sends no outbound message of its own:
    // the message below is the only news of these members.
    let mut members = Vec::new();
    for (person, status) in [
        (&sf_ada, "Invited"),
        (&sf_alan, "Invited"),
        (&sf_grace, "Registered"),
    ] {
        members.push(
            world
                .sf
                .add_member(INTEGRATION, &world.campaign, person, Some(status))
                .unwrap(),
        );
    }
    let mut notifications = vec![
        notification_of(&world, "04l000000000101", &members[0]),
        notification_of(&world, "04l000000000102", &members[1]),
        notification_of(&world, "04l000000000103", &members[2]),
    ];
    if let NotifiedObject::CampaignMember(bad) = &mut notifications[1].object {
        bad.email = Some(format!("{}@example.com", "a".repeat(900)));
    }
    assert_eq!(send_notifications(&world, notifications).await, 200);
    world.settle().await;
    assert_eq!(world.mk_status(ada).as_deref(), Some("Invited"));
    assert_eq!(world.mk_status(grace).as_deref(), Some("Registered"));
    assert_eq!(
        world.mk_status(alan),
        None,
        "the rejected notification is not synced"
    );
    let listed = world.app.store.dead(0, 10).await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].dedup_key, "sf:notification:04l000000000102AAA");
    assert!(
        listed[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("Email is 912 characters"),
        "{listed:?}"
    );
}

/// Salesforce's 15-character ids name the same records as the 18-character ones the REST API
/// answers: a notification carrying them finds the person the sync already knows.
#[tokio::test]
async fn a_notification_with_fifteen_character_ids_finds_the_known_person() {
    let world = World::new().await;
    let (lead, _, member) = world.synced_person("short@example.com", "Invited").await;
    world
        .sf
        .update_member(INTEGRATION, &member, "Registered")
        .unwrap();
    let mut notification = notification_of(&world, "04l000000000201", &member);
    let NotifiedObject::CampaignMember(fields) = &mut notification.object else {
        unreachable!()
    };
    fields.id = fields.id[..15].to_string();
    fields.campaign_id = fields.campaign_id.as_ref().map(|c| c[..15].to_string());
    fields.lead_id = fields.lead_id.as_ref().map(|l| l[..15].to_string());
    fields.email = None;
    assert_eq!(send_notifications(&world, vec![notification]).await, 200);
    world.settle().await;
    assert_eq!(world.mk_status(lead).as_deref(), Some("Registered"));
    let dead = world.app.store.dead(0, 10).await.unwrap();
    assert!(dead.is_empty(), "{dead:?}");
}
