//! What senders do to `/metrics`: label values they choose stay bounded (every method HTTP does
//! not define counts as `other`, so a client cannot add series, kept for good), and a
//! notification delivered again is not counted twice.

use std::io::{Read, Write};

use crate::salesforce_inbound::fixture;
use crate::service_config::{INBOUND_TOKEN, child_config};
use crate::service_process::ServiceProcess;
use crate::test_app::TestApp;

#[tokio::test]
async fn a_made_up_method_is_counted_as_other() {
    let app = TestApp::spawn().await;
    let address = app.address;
    tokio::task::spawn_blocking(move || {
        for method in ["QWERTYMETHOD", "ZXCVBMETHOD"] {
            let mut stream = std::net::TcpStream::connect(address).unwrap();
            let request = format!(
                "{method} /v1/marketo/webhooks HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            );
            stream.write_all(request.as_bytes()).unwrap();
            let mut answer = String::new();
            let _ = stream.read_to_string(&mut answer);
            assert!(answer.starts_with("HTTP/1.1 405"), "{answer}");
        }
    })
    .await
    .unwrap();
    let text = app.get("/metrics").await.text().await.unwrap();
    assert!(!text.contains("METHOD\""), "{text}");
    assert!(
        text.contains("method=\"other\",route=\"/v1/marketo/webhooks\",status=\"405\""),
        "{text}"
    );
}

/// A rejected notification Salesforce delivers again counts as a duplicate, not as a second
/// rejection, and is logged as rejected once: its own process, so the counts are exact.
#[tokio::test]
async fn a_redelivered_rejected_notification_is_a_duplicate() {
    const ORG: &str = "00D5g00000LmNoPEAV";
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("metrics.db").display());
    let sections = "[worker]\nenabled = false";
    let service = ServiceProcess::spawn(&child_config(&database, ORG, sections));
    let message = String::from_utf8(fixture("campaign_members_3.xml")).unwrap();
    let without_status = message.replacen("<sf:Status>Sent</sf:Status>", "", 1);
    let client = reqwest::Client::new();
    let url = service.url(&format!(
        "/v1/salesforce/outbound-messages?token={INBOUND_TOKEN}"
    ));
    for _ in 0..2 {
        let answer = client
            .post(&url)
            .header("content-type", "text/xml; charset=UTF-8")
            .body(without_status.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200, "{}", service.log_tail());
    }
    let metrics = client
        .get(service.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "outbound_notifications_rejected_total 1\n",
        "outbound_notifications_accepted_total{outcome=\"new\"} 2\n",
        "outbound_notifications_accepted_total{outcome=\"duplicate\"} 3\n",
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
    let log = service.log_tail();
    assert_eq!(
        log.matches("outbound notification rejected").count(),
        1,
        "{log}"
    );
}
