//! Every refused Marketo webhook is logged once at WARN with why, as a refused outbound message
//! is: an operator reading the log after "the webhook did not arrive" finds the reason.

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
    assert_eq!(send("x".repeat(4096), None).await, 413);
    assert_eq!(send("{}".into(), Some("gzip")).await, 415);
    let log = service.log_tail();
    assert_eq!(log.matches("marketo webhook refused").count(), 3, "{log}");
    assert!(log.contains("leadId"), "the reason names the field: {log}");
}
