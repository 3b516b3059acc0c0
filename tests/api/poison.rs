//! Poison input at the Salesforce receiver: a notification that cannot be understood is
//! acknowledged with its message, kept as a `rejected` signal with its raw XML and reason under
//! the dead letters, and never claimed; the good notifications beside it are stored, and the
//! sync goes on.

use campaign_sync::config::Secret;
use campaign_sync::http::inbound::salesforce::ACK_ENVELOPE;
use campaign_sync::store::now_millis;
use serde_json::Value;

use crate::test_app::{TestApp, TestDb};

pub(crate) const TOKEN: &str = "om-token-poison";
const ADMIN: &str = "admin-poison";
pub(crate) const PATH: &str = "/v1/salesforce/outbound-messages";

pub(crate) fn three_members() -> String {
    let path = format!(
        "{}/tests/fixtures/salesforce/campaign_members_3.xml",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

async fn spawn(db: TestDb) -> TestApp {
    TestApp::spawn_with(db, |config| {
        config.salesforce.organization_ids = vec!["00D5g00000LmNoP".into()];
        config.salesforce.inbound_token = Secret::new(TOKEN);
        config.admin.token = Secret::new(ADMIN);
    })
    .await
}

async fn deliver(app: &TestApp, body: String) -> (u16, String) {
    let response = app
        .client
        .post(app.url(&format!("{PATH}?token={TOKEN}")))
        .header("content-type", "text/xml; charset=UTF-8")
        .body(body)
        .send()
        .await
        .expect("request");
    (
        response.status().as_u16(),
        response.text().await.expect("body"),
    )
}

async fn dead_letters(app: &TestApp) -> Vec<Value> {
    let list: Value = app
        .client
        .get(app.url("/admin/dead-letters"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON");
    list["items"].as_array().expect("items").clone()
}

/// Keys of the signals the worker would claim now (leasing them).
async fn claimable(app: &TestApp) -> Vec<String> {
    let mut keys: Vec<String> = app
        .store
        .claim("test", 1000, 60_000, now_millis())
        .await
        .expect("claim")
        .into_iter()
        .map(|c| c.dedup_key)
        .collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn the_poison_campaign_id_is_acknowledged_and_listed_with_its_reason() {
    for db in TestDb::all().await {
        let app = spawn(db).await;
        let body = three_members().replacen(
            "<sf:CampaignId>7015g000000Zx9kAAC</sf:CampaignId>",
            "<sf:CampaignId>aaaaaaaaaaaaaaé</sf:CampaignId>",
            1,
        );
        let (status, answer) = deliver(&app, body).await;
        assert_eq!((status, answer.as_str()), (200, ACK_ENVELOPE));

        let listed = dead_letters(&app).await;
        let [poison] = listed.as_slice() else {
            panic!("exactly the poison notification should be listed: {listed:?}");
        };
        assert_eq!(poison["state"], "rejected");
        assert_eq!(poison["kind"], "salesforce_notification");
        assert_eq!(poison["dedup_key"], "sf:notification:04l5g00000AbC01AAF");
        let reason = poison["last_error"].as_str().expect("a reason");
        assert!(
            reason.contains("CampaignId \"aaaaaaaaaaaaaaé\" is not a Salesforce id"),
            "{reason}"
        );
        let raw = poison["payload"]["raw"].as_str().expect("raw XML");
        assert!(raw.contains("aaaaaaaaaaaaaaé"), "{raw}");

        // A rejected signal is never claimed and cannot be replayed into the worker.
        let keys = claimable(&app).await;
        assert_eq!(
            keys,
            [
                "sf:notification:04l5g00000AbC02AAF",
                "sf:notification:04l5g00000AbC03AAF"
            ]
        );
        let id = poison["id"].as_i64().expect("id");
        let replay = app
            .client
            .post(app.url(&format!("/admin/dead-letters/{id}/replay")))
            .bearer_auth(ADMIN)
            .send()
            .await
            .expect("request");
        assert_eq!(replay.status(), 404);
        let refusal: serde_json::Value = replay.json().await.expect("JSON");
        let message = refusal["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("was rejected on arrival")
                && message.contains("is not a Salesforce id"),
            "the refusal says why: {refusal}"
        );
        app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn one_bad_and_two_good_notifications_store_two_signals_and_one_rejected() {
    for db in TestDb::all().await {
        let app = spawn(db).await;
        // The second notification lacks its sObject/Id.
        let body = three_members().replacen("<sf:Id>00v5g00000Qw1abAAB</sf:Id>", "", 1);
        assert_ne!(body, three_members(), "the fixture names the second member");
        for _delivery in 0..2 {
            let (status, answer) = deliver(&app, body.clone()).await;
            assert_eq!((status, answer.as_str()), (200, ACK_ENVELOPE));
        }
        assert_eq!(
            claimable(&app).await,
            [
                "sf:notification:04l5g00000AbC01AAF",
                "sf:notification:04l5g00000AbC03AAF"
            ]
        );
        let listed = dead_letters(&app).await;
        assert_eq!(listed.len(), 1, "a redelivery is kept once: {listed:?}");
        assert_eq!(listed[0]["state"], "rejected");
        assert!(
            listed[0]["last_error"]
                .as_str()
                .unwrap()
                .contains("missing required element sObject/Id")
        );
        let depth = app.store.inbox_depth().await.unwrap();
        assert!(depth.contains(&("rejected".to_string(), 1)), "{depth:?}");
        app.stop().await.unwrap();
    }
}

/// A member without its campaign cannot be placed: set aside saying which field the outbound
/// message lacks, not skipped as a campaign nobody mapped. Values padded with whitespace (a
/// pretty-printed body) are the compact ones: a redelivery written compactly is stored once, as
/// is the set-aside notification's.
#[tokio::test]
async fn a_member_without_campaign_is_set_aside_and_padded_values_are_the_compact_ones() {
    for db in TestDb::all().await {
        let app = spawn(db).await;
        let compact = three_members()
            .replacen("<sf:CampaignId>7015g000000Zx9kAAC</sf:CampaignId>", "", 1)
            .replacen(
                "<Id>04l5g00000AbC02AAF</Id>",
                "<Id>\n      04l5g00000AbC02AAF\n    </Id>",
                1,
            );
        let (status, answer) = deliver(&app, compact).await;
        assert_eq!((status, answer.as_str()), (200, ACK_ENVELOPE));
        let (status, _) = deliver(&app, three_members()).await;
        assert_eq!(status, 200);
        // The set-aside notification's redelivery is stored once too: the first stands.
        assert_eq!(
            claimable(&app).await,
            [
                "sf:notification:04l5g00000AbC02AAF",
                "sf:notification:04l5g00000AbC03AAF"
            ],
            "the padded id is the compact one, stored once"
        );
        let listed = dead_letters(&app).await;
        assert_eq!(listed.len(), 1, "{listed:?}");
        let reason = listed[0]["last_error"].as_str().unwrap();
        assert!(
            reason.contains("no CampaignId") && reason.contains("outbound message's fields"),
            "{reason}"
        );
        app.stop().await.unwrap();
    }
}

/// "If the record is deleted before the notification is delivered, the notification contains no
/// data": an empty `sObject` is acknowledged, stored nowhere and no dead letter (the
/// deleted-records poll removes the member). One with its `Id` alone may be that, or an outbound
/// message whose fields leave out `Status`: it is kept aside, its reason naming both.
#[tokio::test]
async fn an_empty_notification_is_a_member_deleted_before_delivery_and_an_id_alone_is_kept_aside() {
    for db in TestDb::all().await {
        let app = spawn(db).await;
        let fixture = three_members();
        let (head, rest) = fixture
            .split_once("<sf:Id>00v5g00000Qw1abAAB</sf:Id>")
            .unwrap();
        let (_, tail) = rest.split_once("</sObject>").unwrap();
        let only_id = format!("{head}<sf:Id>00v5g00000Qw1abAAB</sf:Id>\n    </sObject>{tail}");
        let (head, rest) = only_id
            .split_once("<sf:Id>00v5g00000Qw1acAAB</sf:Id>")
            .unwrap();
        let (_, tail) = rest.split_once("</sObject>").unwrap();
        let body = format!("{head}</sObject>{tail}");
        assert!(
            !body.contains("Hh7tUEAR") && !body.contains("grace"),
            "{body}"
        );
        // The notification as it is in the message, byte for byte.
        let sent = {
            let at = body.find("<sf:Id>00v5g00000Qw1abAAB</sf:Id>").unwrap();
            let start = body[..at].rfind("<Notification>").unwrap();
            let end = at + body[at..].find("</Notification>").unwrap() + "</Notification>".len();
            body[start..end].to_string()
        };
        let before = without_data(&app).await;
        let (status, answer) = deliver(&app, body).await;
        assert_eq!((status, answer.as_str()), (200, ACK_ENVELOPE));
        assert_eq!(
            claimable(&app).await,
            ["sf:notification:04l5g00000AbC01AAF"]
        );
        let listed = dead_letters(&app).await;
        assert_eq!(listed.len(), 1, "the Id alone is kept aside: {listed:?}");
        let reason = listed[0]["last_error"].as_str().unwrap();
        assert!(
            reason.contains("without a Status field") && reason.contains("deleted before"),
            "{reason}"
        );
        // The records it names are kept beside it, for the errors list and its search.
        assert_eq!(listed[0]["payload"]["member_id"], "00v5g00000Qw1abAAB");
        // Kept as the notification alone, as a refused notification is: not the message.
        let raw = listed[0]["payload"]["raw"].as_str().expect("raw XML");
        assert_eq!(raw, sent, "kept as sent, not written anew");
        assert!(raw.contains("<sf:Id>00v5g00000Qw1abAAB</sf:Id>"), "{raw}");
        assert!(
            !raw.contains("Envelope") && !raw.contains("OrganizationId"),
            "{raw}"
        );
        // One recorder serves the whole test process: the count rose by at least this one.
        assert!(without_data(&app).await >= before + 1.0);
        app.stop().await.unwrap();
    }
}

/// `outbound_notifications_without_data_total` as `/metrics` shows it (0 before any).
async fn without_data(app: &TestApp) -> f64 {
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("text");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("outbound_notifications_without_data_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn a_body_that_is_not_soap_is_still_refused_whole() {
    let app = spawn(TestDb::sqlite()).await;
    let (status, answer) = deliver(&app, "{\"not\": \"soap\"}".into()).await;
    assert_eq!(status, 400);
    assert!(answer.contains("<soapenv:Fault>"), "{answer}");
    assert!(dead_letters(&app).await.is_empty());
    assert!(claimable(&app).await.is_empty());
    app.stop().await.unwrap();
}
