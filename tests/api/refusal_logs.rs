//! A refused Marketo webhook is logged at WARN with why, as a refused outbound message is, at
//! most once a second (the others counted on the next line): an operator reading the log after
//! "the webhook did not arrive" finds the reason, and a flood of bad calls stays readable.

use crate::service_config::{WEBHOOK_TOKEN, child_config};
use crate::service_process::ServiceProcess;

#[tokio::test]
async fn a_refused_marketo_webhook_is_logged_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("refusals.db").display());
    let sections = "[worker]\nenabled = false\n[http]\nbody_limit_bytes = 2048";
    let service = ServiceProcess::spawn(&child_config(&database, "00D000000000001", sections));
    let client = reqwest::Client::new();
    let url = service.url("/v1/marketo/webhooks");
    let send = async |body: String, encoding: Option<&str>| {
        let mut request = client
            .post(&url)
            .bearer_auth(WEBHOOK_TOKEN)
            .header("content-type", "application/json")
            .body(body);
        if let Some(encoding) = encoding {
            request = request.header("content-encoding", encoding);
        }
        request.send().await.unwrap().status().as_u16()
    };
    assert_eq!(send("{\"leadId\": \"abc\"}".into(), None).await, 400);
    // More within the second are counted, not each told (a flood stays readable)...
    assert_eq!(send("x".repeat(4096), None).await, 413);
    assert_eq!(send("{}".into(), Some("gzip")).await, 415);
    let log = service.log_tail();
    assert_eq!(log.matches("marketo webhook refused").count(), 1, "{log}");
    assert!(log.contains("leadId"), "the reason names the field: {log}");
    // ...and told with the next one logged.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(send("{}".into(), Some("gzip")).await, 415);
    let log = service.log_tail();
    assert_eq!(log.matches("marketo webhook refused").count(), 2, "{log}");
    assert!(log.contains("and 2 more since the last told"), "{log}");
}
