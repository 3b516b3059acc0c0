//! `POST /v1/salesforce/outbound-messages` through the real router: acknowledgement envelope,
//! signals stored once per notification, and every refusal answered with a SOAP fault and
//! nothing stored.

use campaign_sync::config::Secret;
use campaign_sync::http::inbound::salesforce::{
    ACK_ENVELOPE, NotifiedObject, OutboundMessage, parse_notifications, render_outbound_message,
};
use campaign_sync::ids::SalesforceId;
use campaign_sync::signal::Signal;
use campaign_sync::store::{Store, now_millis};

use crate::test_app::{TestApp, TestDb};

pub(crate) const TOKEN: &str = "om-token-4f9c1e";
pub(crate) const ORG_15: &str = "00D5g00000LmNoP";
pub(crate) const PATH: &str = "/v1/salesforce/outbound-messages";

pub(crate) fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/salesforce/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub(crate) async fn spawn(db: TestDb) -> TestApp {
    TestApp::spawn_with(db, |config| {
        config.salesforce.organization_ids = vec![ORG_15.into()];
        config.salesforce.inbound_token = Secret::new(TOKEN);
    })
    .await
}

pub(crate) async fn post(app: &TestApp, token: Option<&str>, body: Vec<u8>) -> (u16, String) {
    let url = match token {
        Some(token) => app.url(&format!("{PATH}?token={token}")),
        None => app.url(PATH),
    };
    let response = app
        .client
        .post(url)
        .header("content-type", "text/xml; charset=UTF-8")
        .header("soapaction", "\"\"")
        .body(body)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/xml"),
        "every answer is SOAP"
    );
    (status, response.text().await.unwrap())
}

/// Every stored signal, oldest first.
pub(crate) async fn stored(store: &Store) -> Vec<(String, Signal)> {
    store
        .claim("test", 10_000, 60_000, now_millis())
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.dedup_key, c.signal))
        .collect()
}

pub(crate) fn assert_fault(body: &str, code: &str, mentions: &str) {
    assert!(body.contains("<soapenv:Fault>"), "not a fault: {body}");
    assert!(
        body.contains(&format!("<faultcode>soapenv:{code}</faultcode>")),
        "{body}"
    );
    assert!(
        body.contains(mentions),
        "{body:?} should mention {mentions:?}"
    );
}

#[tokio::test]
async fn campaign_members_are_acknowledged_after_they_are_stored_once_each() {
    for db in TestDb::all().await {
        let label = db.label;
        let app = spawn(db).await;
        let (status, body) = post(&app, Some(TOKEN), fixture("campaign_members_3.xml")).await;
        assert_eq!(status, 200, "{label}: {body}");
        assert_eq!(body, ACK_ENVELOPE);

        let signals = stored(&app.store).await;
        let keys: Vec<_> = signals.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "sf:notification:04l5g00000AbC01AAF",
                "sf:notification:04l5g00000AbC02AAF",
                "sf:notification:04l5g00000AbC03AAF"
            ],
            "{label}"
        );
        let Signal::SalesforceMember(second) = &signals[1].1 else {
            panic!("{label}: not a SalesforceMember signal");
        };
        assert_eq!(second.organization_id, "00D5g00000LmNoPEAV");
        assert_eq!(second.member_id, "00v5g00000Qw1abAAB");
        assert_eq!(second.campaign_id.as_deref(), Some("7015g000000Zx9kAAC"));
        assert_eq!(second.contact_id.as_deref(), Some("0035g00000Kk2uUAAR"));
        assert_eq!(second.lead_id, None);
        assert_eq!(second.email.as_deref(), Some("grace.hopper@example.org"));
        assert_eq!(second.status.as_deref(), Some("Responded"));
        assert_eq!(second.has_responded, Some(true));
        assert_eq!(
            second.created_date.as_deref(),
            Some("2026-10-30T17:02:44.000Z")
        );
        assert_eq!(
            second.last_modified_date.as_deref(),
            Some("2026-11-02T09:16:12.000Z")
        );
        assert_eq!(
            second.system_modstamp.as_deref(),
            Some("2026-11-02T09:16:12.000Z")
        );
        app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn a_redelivery_is_acknowledged_and_stored_once_even_with_other_content() {
    for db in TestDb::all().await {
        let app = spawn(db).await;
        let original = fixture("campaign_members_3.xml");
        assert_eq!(post(&app, Some(TOKEN), original.clone()).await.0, 200);
        let changed = String::from_utf8(original).unwrap().replace(
            "<sf:Status>Sent</sf:Status>",
            "<sf:Status>Attended</sf:Status>",
        );
        let (status, body) = post(&app, Some(TOKEN), changed.into_bytes()).await;
        assert_eq!(status, 200);
        assert_eq!(body, ACK_ENVELOPE);
        let signals = stored(&app.store).await;
        assert_eq!(signals.len(), 3);
        let Signal::SalesforceMember(first) = &signals[0].1 else {
            panic!("not a SalesforceMember signal");
        };
        assert_eq!(
            first.status.as_deref(),
            Some("Sent"),
            "the first delivery is kept"
        );
        app.stop().await.unwrap();
    }
}

/// A notification refused on its own (no `Status`) and a redelivery of it that is understood
/// share its notification id: stored once, in either order, as the first delivery had it.
#[tokio::test]
async fn a_refused_notification_and_its_redelivery_are_stored_once() {
    let app = spawn(TestDb::sqlite()).await;
    let original = String::from_utf8(fixture("campaign_members_3.xml")).unwrap();
    let without_status = original.replacen("<sf:Status>Sent</sf:Status>", "", 1);
    let changed = original.replacen(
        "<sf:Status>Sent</sf:Status>",
        "<sf:Status>Attended</sf:Status>",
        1,
    );
    let rows = |app: &TestApp| {
        let store = app.store.clone();
        async move {
            let filter = campaign_sync::store::FailingFilter {
                state: Some("rejected".into()),
                limit: 100,
                ..Default::default()
            };
            store.failing(&filter).await.unwrap().len()
        }
    };
    assert_eq!(
        post(&app, Some(TOKEN), without_status.clone().into_bytes())
            .await
            .0,
        200
    );
    assert_eq!(
        post(&app, Some(TOKEN), original.clone().into_bytes())
            .await
            .0,
        200
    );
    assert_eq!(rows(&app).await, 1, "the refused one stands");
    assert_eq!(stored(&app.store).await.len(), 2, "the two others");
    app.stop().await.unwrap();

    let app = spawn(TestDb::sqlite()).await;
    assert_eq!(post(&app, Some(TOKEN), changed.into_bytes()).await.0, 200);
    assert_eq!(
        post(&app, Some(TOKEN), without_status.into_bytes()).await.0,
        200
    );
    assert_eq!(rows(&app).await, 0, "the understood one stands");
    let signals = stored(&app.store).await;
    assert_eq!(signals.len(), 3);
    let Signal::SalesforceMember(first) = &signals[0].1 else {
        panic!("not a SalesforceMember signal");
    };
    assert_eq!(first.status.as_deref(), Some("Attended"));
    app.stop().await.unwrap();
}

/// `count` CampaignMember notifications whose ids carry `tag`.
pub(crate) fn notifications(count: usize, tag: char) -> OutboundMessage {
    let mut message = parse_notifications(&fixture("campaign_members_3.xml")).unwrap();
    let template = message.notifications[0].clone();
    message.notifications = (0..count)
        .map(|i| {
            let mut notification = template.clone();
            notification.id = long_id(&format!("04l5g00000{tag}{i:04}"));
            if let NotifiedObject::CampaignMember(member) = &mut notification.object {
                member.id = long_id(&format!("00v5g00000M{i:04}"));
            }
            notification
        })
        .collect();
    message
}

fn long_id(short: &str) -> String {
    SalesforceId::parse(short)
        .expect("a 15-character id")
        .long()
}

#[tokio::test]
async fn messages_of_one_and_of_one_hundred_notifications_store_each_once() {
    for db in TestDb::all().await {
        let app = spawn(db).await;
        for (count, tag) in [(1, 'P'), (100, 'N')] {
            let body = render_outbound_message(&notifications(count, tag));
            let (status, answer) = post(&app, Some(TOKEN), body.into_bytes()).await;
            assert_eq!((status, answer.as_str()), (200, ACK_ENVELOPE));
            // `stored` leases what it returns, so each round sees only its own signals.
            let signals = stored(&app.store).await;
            assert_eq!(signals.len(), count);
            assert!(signals.iter().all(|(key, _)| key.contains(tag)));
        }
        app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn session_id_bom_no_declaration_and_other_prefixes_are_accepted() {
    let app = TestApp::spawn_with(TestDb::sqlite(), |config| {
        config.salesforce.organization_ids = vec!["00D5g00000LmNoPEAV".into()];
        config.salesforce.inbound_token = Secret::new(TOKEN);
    })
    .await;
    let (status, body) = post(
        &app,
        Some(TOKEN),
        fixture("campaign_member_session_bom.xml"),
    )
    .await;
    assert_eq!((status, body.as_str()), (200, ACK_ENVELOPE));
    let signals = stored(&app.store).await;
    assert_eq!(signals.len(), 1);
    let Signal::SalesforceMember(member) = &signals[0].1 else {
        panic!("not a SalesforceMember signal");
    };
    assert_eq!(member.email.as_deref(), Some("o'brien&co@example.com"));
    assert_eq!(member.has_responded, None, "absent means unknown");
}

#[tokio::test]
async fn other_object_types_are_acknowledged_counted_and_not_stored() {
    let app = spawn(TestDb::sqlite()).await;
    let (status, body) = post(&app, Some(TOKEN), fixture("mixed_objects.xml")).await;
    assert_eq!((status, body.as_str()), (200, ACK_ENVELOPE));
    let signals = stored(&app.store).await;
    assert_eq!(signals.len(), 1);
    assert_eq!(signals[0].0, "sf:notification:04l5g00000AbC22AAF");
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("outbound_notifications_ignored_total{sobject=\"Event_Booking__c\"}"),
        "{metrics}"
    );
}
