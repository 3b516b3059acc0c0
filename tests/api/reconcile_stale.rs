//! A Salesforce stamp the sync's state holds as newer than the record's own (a notification
//! from ahead of the record, within the minutes taken as believable): the reconciliation finds
//! the sides apart and plans no write (the record reads as older than what was synced). It
//! names the person as diverged, rather than counting a difference it neither lists nor
//! repairs (`1 difference(s), 0 repaired, 0 failed`, exit 0, the sides apart on every run).

use campaign_sync::http::inbound::salesforce::{
    CampaignMemberFields, Notification, NotifiedObject, OutboundMessage, render_outbound_message,
};
use campaign_sync::sim::salesforce::SalesforceSimConfig;
use campaign_sync::sync::time::format_millis;

use crate::world::{INBOUND_TOKEN, World};

#[tokio::test]
async fn a_difference_no_write_is_planned_for_is_named_as_diverged() {
    let world = World::new().await;
    let (lead, sf_lead, member) = world.synced_person("ahead@example.com", "Registered").await;
    let ahead = render_outbound_message(&OutboundMessage {
        organization_id: SalesforceSimConfig::default().organization_id,
        action_id: "04k000000000001AAA".into(),
        session_id: None,
        enterprise_url: None,
        partner_url: None,
        notifications: vec![Notification {
            id: "04l000000000088AAA".into(),
            object: NotifiedObject::CampaignMember(CampaignMemberFields {
                id: member.clone(),
                campaign_id: Some(world.campaign.clone()),
                lead_id: Some(sf_lead.clone()),
                status: Some("Attended".into()),
                system_modstamp: Some(format_millis(world.sf.now() + 120_000)),
                ..CampaignMemberFields::default()
            }),
            raw: None,
        }],
        rejected: Vec::new(),
        repeats: 0,
    });
    let answered = world
        .app
        .client
        .post(world.app.url(&format!(
            "/v1/salesforce/outbound-messages?token={INBOUND_TOKEN}"
        )))
        .header("content-type", "text/xml; charset=UTF-8")
        .body(ahead)
        .send()
        .await
        .unwrap();
    assert_eq!(answered.status(), 200);
    world.settle().await;
    assert_eq!(world.mk_status(lead).as_deref(), Some("Attended"));
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Registered")
    );

    let mapping = world.app.worker.mappings().all()[0].clone();
    for dry_run in [true, false] {
        let report = world
            .app
            .worker
            .reconcile_mapping(&mapping, dry_run)
            .await
            .unwrap();
        assert!(report.changes.is_empty(), "{report:?}");
        assert_eq!(report.differences, 0, "{report:?}");
        assert_eq!(report.diverged.len(), 1, "{report:?}");
        // Nothing is queued, and nothing is counted as queued.
        assert_eq!(
            (report.salesforce_changed, report.signals_queued),
            (0, 0),
            "{report:?}"
        );
        let apart = &report.diverged[0];
        assert_eq!(apart.person, "ahead@example.com");
        assert_eq!(apart.salesforce_status.as_deref(), Some("Registered"));
        assert_eq!(apart.marketo_status.as_deref(), Some("Attended"));
    }
}
