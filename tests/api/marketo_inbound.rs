//! `POST /v1/marketo/webhooks` through the real router: payload kinds, lenient input, bad input,
//! trust (token, Standard Webhooks signatures, networks) and deduplication.

mod bad_input;
mod config;
mod dedup;
mod payloads;
mod trust;

use campaign_sync::config::{Config, Secret};
use campaign_sync::store::{Claimed, now_millis};
use serde_json::Value;

use crate::test_app::{TestApp, TestDb};

const TOKEN: &str = "marketo-webhook-token";
const PATH: &str = "/v1/marketo/webhooks";

/// The service with a webhook token set, after `adjust`.
async fn spawn_with(db: TestDb, adjust: impl FnOnce(&mut Config)) -> TestApp {
    TestApp::spawn_with(db, |config| {
        config.marketo.webhook_token = Secret::new(TOKEN);
        adjust(config);
    })
    .await
}

async fn spawn() -> TestApp {
    spawn_with(TestDb::sqlite(), |_| {}).await
}

/// Posts `body` as Marketo does by default: the bearer token and no Content-Type at all.
async fn post(app: &TestApp, body: impl Into<reqwest::Body>) -> reqwest::Response {
    app.client
        .post(app.url(PATH))
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(body)
        .send()
        .await
        .expect("request")
}

/// Every stored signal, oldest first.
async fn stored(app: &TestApp) -> Vec<Claimed> {
    app.store
        .claim("marketo-inbound-test", 1000, 60_000, now_millis())
        .await
        .expect("claim")
}

async fn json(response: reqwest::Response) -> Value {
    response.json().await.expect("JSON body")
}

/// Asserts a 202 with the documented body and returns the signal id.
async fn accepted(response: reqwest::Response) -> i64 {
    assert_eq!(response.status(), 202);
    let body = json(response).await;
    assert_eq!(body["accepted"], true, "{body}");
    body["id"].as_i64().expect("numeric id")
}
