//! Every error answer has the documented shape — `{"error": {"code", "message"}}`, or a SOAP
//! fault on the Salesforce path — whoever produced it, and every answered request is counted in
//! `http_requests_total`, timed-out ones and 413s included (a timed-out outbound message in
//! `outbound_messages_total` too).

use std::time::Duration;

use campaign_sync::config::Secret;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::test_app::{TestApp, TestDb};

pub(crate) const ADMIN: &str = "admin-shapes";
const WEBHOOK: &str = "webhook-shapes";

/// The Salesforce receiver's token (its body is read only once the token is right).
const OM_TOKEN: &str = "om-token";

pub(crate) async fn spawn() -> TestApp {
    TestApp::spawn_with(TestDb::sqlite(), |c| {
        c.admin.token = Secret::new(ADMIN);
        c.marketo.webhook_token = Secret::new(WEBHOOK);
        c.salesforce.inbound_token = Secret::new(OM_TOKEN);
        c.http.body_limit_bytes = 1024;
        c.http.request_timeout_secs = 1;
    })
    .await
}

/// The answer's status and `error` object, failing unless the body is the documented JSON.
pub(crate) async fn json_error(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("application/json"),
        "{status}: {content_type}"
    );
    let body: Value = response.json().await.expect("a JSON body");
    let error = body["error"].clone();
    assert!(error["code"].is_string(), "{body}");
    assert!(
        !error["message"].as_str().expect("a message").is_empty(),
        "{body}"
    );
    (status, error)
}

#[tokio::test]
async fn rejections_and_router_answers_are_json_errors() {
    let app = spawn().await;
    let admin = |method: reqwest::Method, path: &str| {
        app.client
            .request(method, app.url(path))
            .bearer_auth(ADMIN)
            .send()
    };
    let (status, error) = json_error(
        admin(reqwest::Method::GET, "/admin/dead-letters?limit=many")
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, error["code"].as_str()), (400, Some("bad_request")));
    assert!(
        error["message"].as_str().unwrap().contains("limit"),
        "{error}"
    );

    // Every listing names the parameter it could not read, and refuses a page size outside
    // the documented 1 to 1000 rather than quietly changing it.
    for (path, field) in [
        ("/admin/dead-letters?limit=0", "limit"),
        ("/admin/dead-letters?limit=1001", "limit"),
        ("/v1/trigger-events?limit=abc", "limit"),
        ("/v1/trigger-events?after=x", "after"),
        ("/v1/trigger-events?after=-1", "after"),
        ("/admin/dead-letters?after=-5", "after"),
        ("/admin/outcomes?before=abc", "before"),
        ("/admin/outcomes?before=-5", "before"),
        ("/admin/outcomes?after=-1", "after"),
        ("/admin/retrying?before=-2", "before"),
        ("/admin/people/1/timeline?limit=0", "limit"),
        // The feed form takes `result` alone: another filter beside `after` is refused.
        ("/admin/outcomes?after=0&email=grace@example.com", "email"),
        ("/admin/outcomes?after=0&before=3", "before"),
        ("/admin/retrying?limit=5000", "limit"),
        ("/admin/outbox/marketo_activity?limit=-1", "limit"),
        ("/admin/outbox/marketo_activity?after=-1", "after"),
        ("/admin/subscriptions/1/deliveries?after=-1", "after"),
    ] {
        let (status, error) = json_error(admin(reqwest::Method::GET, path).await.unwrap()).await;
        assert_eq!(
            (status, error["field"].as_str()),
            (400, Some(field)),
            "{path}: {error}"
        );
    }
    // A misspelt or unknown parameter is refused, naming it, rather than ignored (which
    // answered every outcome for `resutl=dead`, from the start for `afterr=5`).
    for (path, unknown) in [
        ("/admin/outcomes?resutl=dead", "resutl"),
        ("/admin/dead-letters?state=dead", "state"),
        ("/v1/trigger-events?afterr=5", "afterr"),
        ("/v1/member-of?campaign=701000000000001AAA", "campaign"),
        ("/admin/people?query=ada", "query"),
        ("/admin/retrying?qq=x", "qq"),
        ("/admin/outbox/marketo_activity?stat=dead", "stat"),
        ("/admin/subscriptions/1/deliveries?sate=dead", "sate"),
        ("/admin/people/1/timeline?before=5", "before"),
        ("/admin/subscriptions?limit=5", "limit"),
    ] {
        let (status, error) = json_error(admin(reqwest::Method::GET, path).await.unwrap()).await;
        let message = error["message"].as_str().unwrap_or_default();
        assert!(
            status == 400 && message.contains(&format!("unknown field `{unknown}`")),
            "{path}: {status} {error}"
        );
    }
    let listed = admin(reqwest::Method::GET, "/admin/dead-letters?limit=1000").await;
    assert_eq!(listed.unwrap().status(), 200);
    // So does a path whose id is not a number.
    for (method, path) in [
        (reqwest::Method::POST, "/admin/dead-letters/abc/replay"),
        (reqwest::Method::POST, "/admin/subscriptions/1.5/pause"),
        (
            reqwest::Method::DELETE,
            "/admin/subscriptions/9223372036854775808",
        ),
        (reqwest::Method::GET, "/admin/subscriptions/x/deliveries"),
        (reqwest::Method::GET, "/admin/jobs/-"),
    ] {
        let (status, error) = json_error(admin(method, path).await.unwrap()).await;
        assert_eq!(
            (status, error["field"].as_str()),
            (400, Some("id")),
            "{path}: {error}"
        );
    }
    // A JSON body of the wrong shape is 400, as every bad request is, not axum's 422.
    let wrong_shape = app
        .client
        .post(app.url("/admin/dead-letters/replay"))
        .bearer_auth(ADMIN)
        .json(&serde_json::json!({ "ids": "1" }))
        .send()
        .await
        .unwrap();
    let (status, error) = json_error(wrong_shape).await;
    assert_eq!((status, error["code"].as_str()), (400, Some("bad_request")));
    assert_eq!(
        error["field"], "ids",
        "the field it could not read: {error}"
    );
    let message = error["message"].as_str().unwrap();
    assert!(
        message.starts_with("ids: invalid type"),
        "without axum's preamble: {message}"
    );
    let unknown = app
        .client
        .post(app.url("/admin/subscriptions"))
        .bearer_auth(ADMIN)
        .json(&serde_json::json!({ "url": "http://127.0.0.1:9/h", "event_types": ["added_to_campaign"], "extra": 1 }))
        .send()
        .await
        .unwrap();
    let (status, error) = json_error(unknown).await;
    assert_eq!(
        (status, error["field"].as_str()),
        (400, Some("extra")),
        "{error}"
    );

    let (status, error) = json_error(
        admin(reqwest::Method::POST, "/admin/dead-letters/seven/replay")
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, error["code"].as_str()), (400, Some("bad_request")));

    let (status, error) = json_error(app.get("/no/such/route").await).await;
    assert_eq!((status, error["code"].as_str()), (404, Some("not_found")));

    let wrong_method = app.client.delete(app.url("/healthz")).send().await.unwrap();
    let (status, error) = json_error(wrong_method).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (405, Some("method_not_allowed"))
    );
    app.stop().await.unwrap();
}

#[tokio::test]
async fn the_marketo_413_is_a_json_error_and_counted() {
    let app = spawn().await;
    let response = app
        .client
        .post(app.url("/v1/marketo/webhooks"))
        .header("content-type", "application/json")
        .bearer_auth(WEBHOOK)
        .body(vec![b' '; 4096])
        .send()
        .await
        .unwrap();
    let (status, error) = json_error(response).await;
    assert_eq!((status, error["code"].as_str()), (413, Some("too_large")));
    assert!(
        error["message"].as_str().unwrap().contains("1024"),
        "{error}"
    );
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains(
            r#"http_requests_total{method="POST",route="/v1/marketo/webhooks",status="413"}"#
        ),
        "{metrics}"
    );
    app.stop().await.unwrap();
}

/// Sends headers announcing a body, then never sends it; returns the raw answer.
async fn stalled_upload(app: &TestApp, path: &str, content_type: &str) -> String {
    let mut socket = TcpStream::connect(app.address).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: {content_type}\r\n\
         Authorization: Bearer {WEBHOOK}\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{{"
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), socket.read_to_end(&mut answer))
        .await
        .expect("the request timeout answers within its bound")
        .unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn a_timed_out_request_gets_its_route_shape_and_is_counted() {
    let app = spawn().await;
    let answer = stalled_upload(&app, "/v1/marketo/webhooks", "application/json").await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("application/json"), "{answer}");
    assert!(answer.contains(r#""code":"timeout""#), "{answer}");

    let unavailable = || async {
        let metrics = app.get("/metrics").await.text().await.unwrap();
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(r#"outbound_messages_total{outcome="unavailable"} "#))
            .map_or(0, |n| n.parse::<u64>().unwrap())
    };
    let before = unavailable().await;
    let path = format!("/v1/salesforce/outbound-messages?token={OM_TOKEN}");
    let answer = stalled_upload(&app, &path, "text/xml").await;
    // With the right token the receiver reads the body, so this request waits for it.
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(
        answer.contains("<faultcode>soapenv:Server</faultcode>"),
        "{answer}"
    );

    // Counted as unanswered messages are: Salesforce sends it again.
    assert!(unavailable().await > before, "counted as unavailable");
    let metrics = app.get("/metrics").await.text().await.unwrap();
    for route in ["/v1/marketo/webhooks", "/v1/salesforce/outbound-messages"] {
        let line = format!(r#"http_requests_total{{method="POST",route="{route}",status="503"}}"#);
        assert!(metrics.contains(&line), "{line} missing from {metrics}");
    }
    app.stop().await.unwrap();
}
