//! Inputs mean only what they say: an outbound message whose CampaignMember has no `Status`
//! is never a removal; webhooks with Marketo's Form/Url token encoding are decoded, and an
//! e-mail that is not an address is refused naming the field; names longer than Salesforce's
//! Lead fields are cut to fit; a new person is found by the address Marketo's record has, not
//! the webhook's; a dead change names the write and the record that failed.

use campaign_sync::http::inbound::salesforce::{
    CampaignMemberFields, Notification, NotifiedObject, OutboundMessage, render_outbound_message,
};
use campaign_sync::sim::marketo::{NewLead, TokenEncoding, WebhookConfig};
use campaign_sync::sim::salesforce::SalesforceSimConfig;

use crate::world::{INBOUND_TOKEN, Options, WEBHOOK_TOKEN, World};

const LIVE_SESSION: &str = "00D000000000001!AQ0AQLiveSessionToken";

/// One notification for this member, with the status given (or none).
fn message(member_id: &str, person: &str, status: Option<&str>) -> String {
    render_outbound_message(&OutboundMessage {
        organization_id: SalesforceSimConfig::default().organization_id,
        action_id: "04k000000000001AAA".into(),
        // As when "Send Session ID" is ticked: an org user's live session.
        session_id: Some(LIVE_SESSION.into()),
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
            raw: None,
        }],
        rejected: Vec::new(),
        repeats: 0,
    })
}

#[tokio::test]
async fn a_campaign_member_without_status_is_never_a_removal() {
    let world = World::new().await;
    let (lead, sf_lead) = world.person("nostatus@example.com");
    world.mk_sets(lead, "Registered");
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
    let kept = world.app.store.dead(0, 10).await.unwrap();
    assert_eq!(kept.len(), 1);
    let raw = kept[0].payload.to_string();
    assert!(raw.contains(&member), "the notification is kept: {raw}");
    assert!(!raw.contains(LIVE_SESSION), "never the session id: {raw}");
}

const JSON_QUOTED: &str = r#"{"leadId": "{{lead.Id}}", "programId": "{{program.id}}", "email": "{{lead.Email Address}}", "trigger": "{{trigger.Trigger Name}}"}"#;
const FORM: &str = "leadId={{lead.Id}}&programId={{program.id}}&email={{lead.Email Address}}&trigger={{trigger.Trigger Name}}";

/// A world whose only webhook uses Form/Url token encoding with this template, URL query and
/// extra header; returns the status the receiver answered and the e-mail the person got.
async fn form_url_webhook(
    template: &str,
    query: &str,
    header: Option<(&str, &str)>,
) -> (Option<u16>, Option<String>) {
    let world = World::with(Options {
        webhooks: false,
        ..Options::default()
    })
    .await;
    let mut headers = vec![(
        "Authorization".to_string(),
        format!("Bearer {WEBHOOK_TOKEN}"),
    )];
    headers.extend(header.map(|(k, v)| (k.to_string(), v.to_string())));
    world.mk.add_webhook(WebhookConfig {
        program_id: None,
        url: world.app.url(&format!("/v1/marketo/webhooks{query}")),
        template: template.to_string(),
        headers,
        token_encoding: TokenEncoding::FormUrl,
    });
    let (lead, _) = world.person("o+brien@example.com");
    world.mk_sets(lead, "Registered");
    let calls = world.mk.deliver_webhooks_now().await;
    assert_eq!(calls.len(), 1, "{calls:?}");
    world.settle().await;
    let identity = world
        .app
        .store
        .find_identity(Some(lead), None, None)
        .await
        .unwrap();
    (calls[0].status, identity.and_then(|i| i.email))
}

#[tokio::test]
async fn a_json_template_with_url_encoded_tokens_is_decoded_when_declared() {
    let (status, email) = form_url_webhook(JSON_QUOTED, "?encoding=form", None).await;
    assert_eq!(status, Some(202));
    assert_eq!(email.as_deref(), Some("o+brien@example.com"));
}

#[tokio::test]
async fn a_form_body_is_decoded_by_its_content_type() {
    let form = ("Content-Type", "application/x-www-form-urlencoded");
    let (status, email) = form_url_webhook(FORM, "", Some(form)).await;
    assert_eq!(status, Some(202));
    assert_eq!(email.as_deref(), Some("o+brien@example.com"));
}

#[tokio::test]
async fn an_undeclared_url_encoding_is_refused_naming_the_email() {
    let (status, email) = form_url_webhook(JSON_QUOTED, "", None).await;
    assert_eq!(
        status,
        Some(400),
        "o%2Bbrien%40example.com is not an address"
    );
    assert_eq!(email, None, "nothing was stored");
}

#[tokio::test]
async fn names_longer_than_the_lead_fields_are_cut_to_fit() {
    let world = World::new().await;
    let lead = world.mk.add_lead(NewLead {
        first_name: Some("F".repeat(60)),
        last_name: Some("L".repeat(100)),
        ..NewLead::email("long.names@example.com")
    });
    world.mk_sets(lead, "Registered");
    world.settle().await;
    let identity = world
        .app
        .store
        .find_identity(Some(lead), None, None)
        .await
        .unwrap()
        .expect("known");
    let person = identity.sf_lead_id.expect("a Lead was created");
    assert_eq!(
        world.sf_member_status(&person).as_deref(),
        Some("Registered")
    );
    let created = world.sf.record(&person).expect("the Lead");
    assert_eq!(created["FirstName"], "F".repeat(40));
    assert_eq!(created["LastName"], "L".repeat(80));
}

#[tokio::test]
async fn a_lead_converted_since_it_was_linked_is_followed_to_its_contact() {
    let world = World::new().await;
    let (lead, sf_lead) = world.person("converted@example.com");
    // Linked earlier (by native sync or a first reconciliation), converted since.
    world
        .app
        .store
        .link_identity(Some(lead), Some(&sf_lead), Some("converted@example.com"), 1)
        .await
        .unwrap();
    let contact = world.sf.convert_lead_to_contact(&sf_lead).unwrap();
    world.mk_sets(lead, "Registered");
    world.settle().await;
    assert_eq!(
        world.sf_member_status(&contact).as_deref(),
        Some("Registered"),
        "the member joined as the Contact"
    );
    let identity = world
        .app
        .store
        .find_identity(Some(lead), None, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(identity.sf_contact_id.as_deref(), Some(contact.as_str()));
    assert_eq!(identity.sf_lead_id.as_deref(), Some(sf_lead.as_str()));
}

#[tokio::test]
async fn among_duplicates_reconciliation_pairs_the_contact_and_names_the_others() {
    let world = World::with(Options {
        webhooks: false,
        ..Options::default()
    })
    .await;
    let (lead, sf_lead) = world.person("twice@example.com");
    let contact = world
        .sf
        .create_contact(serde_json::json!({ "LastName": "Twice", "Email": "Twice@example.com" }))
        .unwrap();
    for person in [&sf_lead, &contact] {
        world
            .sf
            .add_member(
                crate::world::INTEGRATION,
                &world.campaign,
                person,
                Some("Invited"),
            )
            .unwrap();
    }
    world.mk_sets(lead, "Invited");
    let mapping = world.app.worker.mappings().all()[0].clone();
    for _ in 0..2 {
        let report = world
            .app
            .worker
            .reconcile_mapping(&mapping, true)
            .await
            .unwrap();
        assert_eq!(report.linked, 1, "{report:?}");
        assert_eq!(report.warnings.len(), 1, "{report:?}");
        let warning = &report.warnings[0];
        assert!(warning.contains(&format!("to {contact}")), "{warning}");
        assert!(
            warning.contains(&format!("also matching: {sf_lead}")),
            "{warning}"
        );
        // The Lead passed over is named, not written: its address finds the Contact's
        // Marketo lead, which the Contact's membership already gives its status.
        assert!(report.changes.is_empty(), "{:?}", report.changes);
    }
}

#[tokio::test]
async fn a_hidden_channel_status_does_not_hold_a_mapping() {
    use campaign_sync::config::MappingConfig;
    use campaign_sync::sim::marketo::{NewProgram, ProgressionStatus};
    use campaign_sync::sim::salesforce::MemberStatus;
    use campaign_sync::worker::{Mappings, compat};

    let world = World::new().await;
    let mut retired = ProgressionStatus::new("Waitlisted", 15, false);
    retired.hidden = true;
    let statuses = vec![
        ProgressionStatus::new("Invited", 10, false),
        retired,
        ProgressionStatus::new("Attended", 20, true),
    ];
    world.mk.add_channel("Roadshow", statuses).unwrap();
    world
        .mk
        .add_program(NewProgram {
            id: 1077,
            name: "Roadshow".into(),
            channel: "Roadshow".into(),
            ..NewProgram::default()
        })
        .unwrap();
    let labels = [
        MemberStatus::new("Invited", true, false),
        MemberStatus::new("Attended", false, true),
    ];
    let campaign = world
        .sf
        .create_campaign(serde_json::json!({ "Name": "Roadshow" }), &labels)
        .unwrap();
    let mappings = Mappings::new(&[MappingConfig::new("roadshow", 1077, &campaign)]);
    let worker = &world.app.worker;
    let problems = compat::problems(worker.salesforce(), worker.marketo(), &mappings.all()[0])
        .await
        .unwrap();
    assert_eq!(
        problems,
        Vec::<String>::new(),
        "the hidden Waitlisted needs no label"
    );

    // The running worker's check (channels read through its cache) agrees: the world's webinar
    // channel has a hidden status with no campaign label too.
    worker.check_statuses().await;
    let webinar = &worker.mappings().all()[0];
    assert!(
        !webinar.is_held(),
        "held over a hidden status: {:?}",
        webinar.problems()
    );
}

#[tokio::test]
async fn a_new_person_is_found_by_marketos_address_not_the_webhooks() {
    let world = World::with(Options {
        webhooks: false,
        ..Options::default()
    })
    .await;
    let lead = world.mk.add_lead(NewLead::email("Real.Person@example.com"));
    world.mk_sets(lead, "Registered");
    // Someone else holds the address the webhook carries (a stale or mistyped token).
    let other = world
        .sf
        .create_contact(serde_json::json!({ "LastName": "Other", "Email": "stale@example.com" }))
        .unwrap();
    world
        .marketo_webhook(serde_json::json!({
            "leadId": lead,
            "programId": crate::world::PROGRAM,
            "email": "stale@example.com",
        }))
        .await;
    world.settle().await;
    assert_eq!(world.sf_member_status(&other), None, "not the other person");
    let identity = world
        .app
        .store
        .find_identity(Some(lead), None, None)
        .await
        .unwrap()
        .expect("known");
    assert_eq!(identity.email.as_deref(), Some("real.person@example.com"));
    let person = identity.sf_lead_id.expect("a Lead was created");
    assert_eq!(
        world.sf_member_status(&person).as_deref(),
        Some("Registered")
    );
    let created = world.sf.record(&person).expect("the Lead");
    assert_eq!(created["Email"], "Real.Person@example.com");
}

#[tokio::test]
async fn a_dead_change_names_the_write_and_the_record_that_failed() {
    let world = World::new().await;
    // An address Marketo keeps and Salesforce refuses for a Lead.
    let lead = world.mk.add_lead(NewLead::email("bob@localhost"));
    world.mk_sets(lead, "Registered");
    world.settle().await;
    let dead = world.app.store.dead(0, 10).await.unwrap();
    assert_eq!(dead.len(), 1, "{dead:?}");
    let error = dead[0].last_error.as_deref().unwrap_or_default();
    assert!(
        error.starts_with(
            "writing the Salesforce campaign member to \"Registered\" (mapping webinar): creating the Salesforce Lead: "
        ) && error.contains("INVALID_EMAIL_ADDRESS"),
        "{error}"
    );
}
