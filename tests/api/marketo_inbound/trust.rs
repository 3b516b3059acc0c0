//! Who may call: the static token (in `Authorization` or a custom header), Standard Webhooks
//! signatures checked against vectors computed here with hmac + sha2 directly, and the network
//! allowlist. A refused request stores nothing.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use campaign_sync::config::Secret;
use campaign_sync::http::inbound::marketo::render_program_member;
use campaign_sync::store::now_millis;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::{PATH, TOKEN, accepted, json, spawn, spawn_with, stored};
use crate::test_app::{TestApp, TestDb};

const OLD_KEY: &[u8] = b"previous signing key, still accepted";
const NEW_KEY: &[u8] = b"current signing key";

fn whsec(key: &[u8]) -> Secret {
    Secret::new(format!("whsec_{}", STANDARD.encode(key)))
}

/// `v1,<base64 HMAC-SHA256(key, id.timestamp.body)>`, computed without the service's code.
fn sign(key: &[u8], id: &str, timestamp: i64, body: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap();
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// A service that takes only signatures (no token configured), with two keys for rotation.
async fn signing_app() -> TestApp {
    TestApp::spawn_with(TestDb::sqlite(), |c| {
        c.marketo.webhook_signing_secrets = vec![whsec(OLD_KEY), whsec(NEW_KEY)];
    })
    .await
}

async fn post_signed(
    app: &TestApp,
    id: &str,
    timestamp: i64,
    signature: &str,
    body: &str,
) -> reqwest::Response {
    app.client
        .post(app.url(PATH))
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

async fn post_with(app: &TestApp, header: &str, value: &str) -> reqwest::Response {
    app.client
        .post(app.url(PATH))
        .header(header, value)
        .body(render_program_member(1, 1001, None, None))
        .send()
        .await
        .unwrap()
}

async fn assert_refused(response: reqwest::Response, status: u16) {
    assert_eq!(response.status(), status);
    let body = json(response).await;
    assert!(body["error"]["code"].is_string(), "{body}");
}

#[tokio::test]
async fn missing_or_wrong_tokens_are_401_and_store_nothing() {
    let app = spawn().await;
    let no_header = app
        .client
        .post(app.url(PATH))
        .body(render_program_member(1, 1001, None, None))
        .send()
        .await
        .unwrap();
    assert_eq!(no_header.headers()["www-authenticate"], "Bearer");
    assert_refused(no_header, 401).await;
    assert_refused(post_with(&app, "authorization", "Bearer wrong").await, 401).await;
    assert_refused(post_with(&app, "authorization", TOKEN).await, 401).await;
    assert_refused(
        post_with(&app, "authorization", &format!("Basic {TOKEN}")).await,
        401,
    )
    .await;
    assert!(stored(&app).await.is_empty());
    accepted(post_with(&app, "authorization", &format!("bearer {TOKEN}")).await).await;
}

#[tokio::test]
async fn a_custom_header_carries_the_bare_token() {
    let app = spawn_with(TestDb::sqlite(), |c| {
        c.marketo.webhook_header = "X-Marketo-Token".into()
    })
    .await;
    accepted(post_with(&app, "x-marketo-token", TOKEN).await).await;
    assert_refused(
        post_with(&app, "authorization", &format!("Bearer {TOKEN}")).await,
        401,
    )
    .await;
    assert_refused(
        post_with(&app, "x-marketo-token", &format!("Bearer {TOKEN}")).await,
        401,
    )
    .await;
    assert_eq!(stored(&app).await.len(), 1);
}

#[tokio::test]
async fn an_unset_token_lets_nobody_in() {
    let app = TestApp::spawn().await;
    assert_refused(post_with(&app, "authorization", "Bearer ").await, 401).await;
    assert!(stored(&app).await.is_empty());
}

#[tokio::test]
async fn signatures_from_either_key_are_accepted_and_dedup_by_webhook_id() {
    let app = signing_app().await;
    let now = now_millis() / 1000;
    let body = render_program_member(8, 1001, Some("d@example.com"), None);
    let signature = sign(OLD_KEY, "msg_old", now, &body);
    accepted(post_signed(&app, "msg_old", now, &signature, &body).await).await;
    let several = format!("v1,bm90IGl0 {}", sign(NEW_KEY, "msg_new", now - 200, &body));
    accepted(post_signed(&app, "msg_new", now - 200, &several, &body).await).await;
    let redelivery = sign(NEW_KEY, "msg_new", now, &body);
    let again = json(post_signed(&app, "msg_new", now, &redelivery, &body).await).await;
    assert_eq!(again["duplicate"], true);
    let keys: Vec<String> = stored(&app)
        .await
        .into_iter()
        .map(|c| c.dedup_key)
        .collect();
    assert_eq!(keys, ["mkto:webhook:msg_old", "mkto:webhook:msg_new"]);
}

#[tokio::test]
async fn bad_signatures_are_401_and_store_nothing() {
    let app = signing_app().await;
    let now = now_millis() / 1000;
    let body = render_program_member(9, 1001, None, None);
    let good = sign(NEW_KEY, "msg_1", now, &body);
    let tampered = body.replace("\"9\"", "\"10\"");
    assert_refused(post_signed(&app, "msg_1", now, &good, &tampered).await, 401).await;
    assert_refused(post_signed(&app, "msg_2", now, &good, &body).await, 401).await;
    // A timestamp out of tolerance is the sender's clock, and it is told so; a signature that
    // does not match is told nothing more than that the credentials are wrong.
    let message = |response: reqwest::Response| async move {
        assert_eq!(response.status(), 401);
        json(response).await["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    for skew in [-301, 301] {
        let signed = sign(NEW_KEY, "msg_1", now + skew, &body);
        let said = message(post_signed(&app, "msg_1", now + skew, &signed, &body).await).await;
        assert!(
            said.contains("webhook-timestamp is more than 300 s away"),
            "{skew}: {said}"
        );
    }
    let foreign = sign(b"someone else's key", "msg_1", now, &body);
    let said = message(post_signed(&app, "msg_1", now, &foreign, &body).await).await;
    assert_eq!(said, "missing or wrong credentials");
    let v2_only = good.replacen("v1,", "v2,", 1);
    assert_refused(post_signed(&app, "msg_1", now, &v2_only, &body).await, 401).await;
    assert!(stored(&app).await.is_empty());
}

#[tokio::test]
async fn client_networks_outside_the_allowlist_are_403() {
    let outside = spawn_with(TestDb::sqlite(), |c| {
        c.marketo.allowed_networks = vec!["192.28.144.0/20".parse().unwrap()];
    })
    .await;
    let refused = post_with(&outside, "authorization", &format!("Bearer {TOKEN}")).await;
    assert_refused(refused, 403).await;
    assert!(stored(&outside).await.is_empty());
    let inside = spawn_with(TestDb::sqlite(), |c| {
        c.marketo.allowed_networks = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    accepted(post_with(&inside, "authorization", &format!("Bearer {TOKEN}")).await).await;
}
