//! `POST /v1/salesforce/outbound-messages` refusals through the real router: each answered with
//! the documented status and a SOAP fault, in the documented order (network, token, size, body),
//! with nothing stored.

use campaign_sync::config::Secret;
use campaign_sync::http::inbound::salesforce::render_outbound_message;

use crate::salesforce_inbound::{
    ORG_15, PATH, TOKEN, assert_fault, fixture, notifications, post, spawn, stored,
};
use crate::test_app::{TestApp, TestDb};

/// Token, body, expected status, fault code and a text the fault string must contain.
type Refusal<'a> = (Option<&'a str>, Vec<u8>, u16, &'a str, &'a str);

#[tokio::test]
async fn refused_messages_answer_a_fault_and_store_nothing() {
    let app = spawn(TestDb::sqlite()).await;
    let good = fixture("campaign_members_3.xml");
    let text = String::from_utf8(good.clone()).unwrap();
    let other_org = text.replace("00D5g00000LmNoPEAV", "00D5g00000LmNoQEAV");
    let cases: Vec<Refusal> = vec![
        (None, good.clone(), 401, "Client", "token"),
        (Some("wrong"), good.clone(), 401, "Client", "token"),
        (
            Some(TOKEN),
            other_org.into_bytes(),
            401,
            "Client",
            "00D5g00000LmNoQEAV",
        ),
        (
            Some(TOKEN),
            fixture("empty_notifications.xml"),
            400,
            "Client",
            "OrganizationId",
        ),
        (
            Some(TOKEN),
            good[..good.len() / 2].to_vec(),
            400,
            "Client",
            "ends",
        ),
        (
            Some(TOKEN),
            b"<html>nope</html>".to_vec(),
            400,
            "Client",
            "Envelope",
        ),
        (
            Some(TOKEN),
            text.replace("00D5g00000LmNoPEAV", "00D5g00000LmNoPAAA")
                .into_bytes(),
            400,
            "Client",
            "do not match its first 15",
        ),
        (
            Some(TOKEN),
            render_outbound_message(&notifications(101, 'N')).into_bytes(),
            400,
            "Client",
            "more than 100",
        ),
    ];
    for (token, body, expected, code, mentions) in cases {
        let (status, answer) = post(&app, token, body).await;
        assert_eq!(status, expected, "{answer}");
        assert_fault(&answer, code, mentions);
    }
    assert!(stored(&app.store).await.is_empty());
}

#[tokio::test]
async fn clients_outside_the_allowed_networks_get_403() {
    let app = TestApp::spawn_with(TestDb::sqlite(), |config| {
        config.salesforce.organization_ids = vec![ORG_15.into()];
        config.salesforce.inbound_token = Secret::new(TOKEN);
        config.salesforce.allowed_networks = vec!["10.0.0.0/8".parse().unwrap()];
    })
    .await;
    let (status, body) = post(&app, Some(TOKEN), fixture("campaign_members_3.xml")).await;
    assert_eq!(status, 403);
    assert_fault(&body, "Client", "allowed_networks");
    assert!(stored(&app.store).await.is_empty());
}

/// An endpoint URL set with a trailing slash is not found, and Salesforce is told so in SOAP.
#[tokio::test]
async fn a_trailing_slash_is_not_found_as_a_soap_fault() {
    let app = spawn(TestDb::sqlite()).await;
    let response = app
        .client
        .post(app.url(&format!("{PATH}/?token={TOKEN}")))
        .header("content-type", "text/xml")
        .body(fixture("campaign_members_3.xml"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let fault = response.text().await.unwrap();
    assert_fault(&fault, "Client", "without a trailing slash");
    assert!(
        !fault.contains("&quot;"),
        "words, not escaped JSON: {fault}"
    );
    assert!(stored(&app.store).await.is_empty());
}

#[tokio::test]
async fn a_body_over_the_limit_gets_413_with_a_fault_and_nothing_is_stored() {
    let app = TestApp::spawn_with(TestDb::sqlite(), |config| {
        config.salesforce.organization_ids = vec![ORG_15.into()];
        config.salesforce.inbound_token = Secret::new(TOKEN);
        config.http.body_limit_bytes = 4096;
    })
    .await;
    let body = render_outbound_message(&notifications(20, 'N'));
    let (status, answer) = post(&app, Some(TOKEN), body.into_bytes()).await;
    assert_eq!(status, 413);
    assert_fault(&answer, "Client", "larger than");
    assert!(stored(&app.store).await.is_empty());
}

/// The checks run in their documented order whatever the body's size: client network (403), then
/// token (401), then size (413).
#[tokio::test]
async fn network_and_token_are_checked_before_the_size() {
    let body = render_outbound_message(&notifications(20, 'N')).into_bytes();
    let outside = TestApp::spawn_with(TestDb::sqlite(), |config| {
        config.salesforce.organization_ids = vec![ORG_15.into()];
        config.salesforce.inbound_token = Secret::new(TOKEN);
        config.salesforce.allowed_networks = vec!["10.0.0.0/8".parse().unwrap()];
        config.http.body_limit_bytes = 4096;
    })
    .await;
    assert_eq!(post(&outside, Some(TOKEN), body.clone()).await.0, 403);
    let inside = TestApp::spawn_with(TestDb::sqlite(), |config| {
        config.salesforce.organization_ids = vec![ORG_15.into()];
        config.salesforce.inbound_token = Secret::new(TOKEN);
        config.http.body_limit_bytes = 4096;
    })
    .await;
    assert_eq!(post(&inside, Some("wrong"), body.clone()).await.0, 401);
    // The right token given twice is refused too, saying so (not "missing or wrong").
    let twice = format!("{TOKEN}&token={TOKEN}");
    let (status, fault) = post(&inside, Some(&twice), body.clone()).await;
    assert_eq!(status, 401);
    assert_fault(&fault, "Client", "given twice");
    assert_eq!(post(&inside, Some(TOKEN), body).await.0, 413);
    assert!(stored(&inside.store).await.is_empty());
}

/// A caller without the token is refused before its body is read: announced and never sent,
/// the body is not waited for. (One with the token and a body over the limit gets 413.)
#[tokio::test]
async fn the_token_is_checked_before_the_body_is_read() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn(TestDb::sqlite()).await;
    let mut stream = tokio::net::TcpStream::connect(app.address).await.unwrap();
    let head = format!(
        "POST {PATH}?token=wrong HTTP/1.1\r\nHost: test\r\nContent-Type: text/xml\r\n\
         Content-Length: 1000\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 12];
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        stream.read_exact(&mut answer),
    )
    .await;
    assert!(
        read.is_ok(),
        "the refusal waited for a body that never came"
    );
    assert_eq!(String::from_utf8_lossy(&answer), "HTTP/1.1 401");
    assert!(stored(&app.store).await.is_empty());
}

#[tokio::test]
async fn a_store_failure_answers_503_so_salesforce_retries() {
    for db in TestDb::all().await {
        let app = spawn(db).await;
        app.store.execute_raw("DROP TABLE signals").await.unwrap();
        let (status, body) = post(&app, Some(TOKEN), fixture("campaign_members_3.xml")).await;
        assert_eq!(status, 503, "{body}");
        assert_fault(&body, "Server", "retry");
    }
}

#[tokio::test]
async fn a_non_xml_content_type_is_refused() {
    let app = spawn(TestDb::sqlite()).await;
    let response = app
        .client
        .post(app.url(&format!("{PATH}?token={TOKEN}")))
        .header("content-type", "application/json")
        .body(fixture("campaign_members_3.xml"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
    assert_fault(&response.text().await.unwrap(), "Client", "text/xml");
    // XML in another charset is refused for it, before its bytes are read as UTF-8.
    let latin = app
        .client
        .post(app.url(&format!("{PATH}?token={TOKEN}")))
        .header("content-type", "text/xml; charset=ISO-8859-1")
        .body(fixture("campaign_members_3.xml"))
        .send()
        .await
        .unwrap();
    assert_eq!(latin.status(), 415);
    assert_fault(&latin.text().await.unwrap(), "Client", "only UTF-8");
    assert!(stored(&app.store).await.is_empty());
}

/// Salesforce never compresses an outbound message: a compressed body is refused for what it
/// is (415 naming the coding), not parsed as malformed XML; `identity` is no coding.
#[tokio::test]
async fn a_compressed_body_is_refused_naming_its_coding() {
    let app = spawn(TestDb::sqlite()).await;
    let send = |coding: &'static str| {
        app.client
            .post(app.url(&format!("{PATH}?token={TOKEN}")))
            .header("content-type", "text/xml; charset=UTF-8")
            .header("content-encoding", coding)
            .body(fixture("campaign_members_3.xml"))
            .send()
    };
    for coding in ["gzip", "br", "identity, gzip"] {
        let response = send(coding).await.unwrap();
        assert_eq!(response.status(), 415, "{coding}");
        let body = response.text().await.unwrap();
        assert_fault(&body, "Client", "uncompressed");
        assert!(body.contains(coding), "{body}");
    }
    assert!(stored(&app.store).await.is_empty());
    assert_eq!(send("Identity").await.unwrap().status(), 200);
}
