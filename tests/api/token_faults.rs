//! Token endpoints that misbehave: a 200 without `access_token` and a 429 are retryable with a
//! floor under the back-off, for both connectors, never the end of a change; refused
//! credentials pause the side until someone fixes them (also when revoked mid-run), and changes
//! wait without dying.

use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use campaign_sync::config::Secret;
use campaign_sync::config::{MarketoConfig, SalesforceConfig};
use campaign_sync::connectors::CallError;
use campaign_sync::connectors::marketo::MarketoClient;
use campaign_sync::connectors::salesforce::SalesforceClient;
use campaign_sync::store::now_millis;
use serde_json::json;

use crate::test_app::{TestApp, TestDb};
use crate::world::{INTEGRATION, PROGRAM, WEBHOOK_TOKEN, World};

/// A server whose token endpoints answer `status` with `body`.
async fn token_server(status: StatusCode, body: &'static str) -> String {
    let answer = move || async move { (status, body) };
    let app = Router::new()
        .route("/services/oauth2/token", post(answer))
        .route("/identity/oauth/token", get(answer).post(answer));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

fn retried_with_a_floor(result: Result<impl std::fmt::Debug, CallError>) {
    match result {
        Err(CallError::Retry {
            after: Some(after), ..
        }) => assert!(after >= Duration::from_secs(10), "{after:?}"),
        other => panic!("expected a retry with a back-off floor, got {other:?}"),
    }
}

#[tokio::test]
async fn a_token_answer_without_a_token_or_a_429_is_retried_for_both_connectors() {
    let cases = [
        (
            StatusCode::OK,
            r#"{"token_type":"bearer","expires_in":3599}"#,
        ),
        (StatusCode::OK, "<html>maintenance</html>"),
        (StatusCode::TOO_MANY_REQUESTS, r#"{"error":"rate"}"#),
    ];
    for (status, body) in cases {
        let url = token_server(status, body).await;
        let marketo = MarketoClient::new(&MarketoConfig {
            base_url: url.clone(),
            ..MarketoConfig::default()
        })
        .expect("client");
        retried_with_a_floor(marketo.program(1001).await);
        let salesforce = SalesforceClient::new(&SalesforceConfig {
            login_url: url,
            ..SalesforceConfig::default()
        })
        .expect("client");
        retried_with_a_floor(salesforce.query("SELECT Id FROM Campaign").await);
    }
}

/// The service with the world's configuration but a Marketo secret that was rotated elsewhere.
async fn with_refused_marketo_secret(world: &World) -> TestApp {
    let db = TestDb::sqlite();
    let mut config = world.config.clone();
    config.database_url = Secret::new(&db.url);
    config.marketo.client_secret = Secret::new("rotated-elsewhere");
    config.admin.token = Secret::new("admin");
    TestApp::spawn_with(db, move |c| *c = config).await
}

#[tokio::test]
async fn refused_credentials_pause_the_side_and_changes_wait_without_using_retries() {
    let world = World::new().await;
    let app = with_refused_marketo_secret(&world).await;
    let (lead, _) = world.person("wait@example.com");
    let response = app
        .client
        .post(app.url("/v1/marketo/webhooks"))
        .bearer_auth(WEBHOOK_TOKEN)
        .json(&json!({ "leadId": lead, "programId": PROGRAM }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let id = response.json::<serde_json::Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();
    for _ in 0..3 {
        app.worker.run_pending().await.unwrap();
    }
    let (state, attempts, _) = app.store.signal_state(id).await.unwrap().unwrap();
    assert_eq!(
        (state.as_str(), attempts),
        ("pending", 0),
        "waits, no retry used"
    );
    let backlog = app.store.backlog(now_millis()).await.unwrap();
    assert_eq!(
        (backlog.postponed, backlog.due, backlog.retrying),
        (1, 0, 0),
        "the waiting change shows as postponed: {backlog:?}"
    );
    // Listed with the changes waiting for another try, as postponed.
    let (status, waiting) = app
        .admin(reqwest::Method::GET, "/admin/retrying", "admin")
        .await;
    assert_eq!(status, 200, "{waiting}");
    let items = waiting["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{waiting}");
    assert_eq!(
        (items[0]["id"].as_i64(), items[0]["state"].as_str()),
        (Some(id), Some("postponed"))
    );
    let why = items[0]["last_error"].as_str().unwrap_or_default();
    assert!(
        why.contains("marketo") && why.contains("paused"),
        "says which side's pause holds it: {why}"
    );
    let pause = app
        .worker
        .marketo()
        .quota()
        .paused(now_millis())
        .expect("Marketo is paused");
    assert!(
        pause.reason.contains("credentials refused"),
        "{}",
        pause.reason
    );
    assert!(
        !pause.reason.contains("rotated-elsewhere"),
        "{}",
        pause.reason
    );
    // The side's health says so too: refused credentials are not "up".
    let health = campaign_sync::upstream::health("marketo", &world.mk.base_url());
    assert_eq!(
        (health.up, health.consecutive_auth_failures),
        (Some(false), 1),
        "{health:?}"
    );
    assert!(
        health
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("credentials refused")),
        "{health:?}"
    );
    let identity_calls = world
        .mk
        .requests()
        .iter()
        .filter(|r| r.kind == "identity")
        .count();
    assert_eq!(
        identity_calls, 1,
        "one refusal, then nothing until the pause ends"
    );
    let dead = app.store.dead(0, 10).await.unwrap();
    assert!(dead.is_empty(), "{dead:?}");
    // The overview says until when, and why.
    let (status, overview) = app
        .admin(reqwest::Method::GET, "/admin/status", "admin")
        .await;
    assert_eq!(status, 200, "{overview}");
    let marketo = &overview["upstreams"]["marketo"];
    assert!(marketo["pausedUntil"].is_i64(), "{marketo}");
    assert!(
        marketo["pauseReason"]
            .as_str()
            .is_some_and(|r| r.starts_with("credentials refused")),
        "{marketo}"
    );
    // `upstream_paused_until_seconds` is read in `health.rs`, from a service in its own
    // process: here the recorder is the test process's, which the apps of tests running
    // alongside set too.
}

#[tokio::test]
async fn a_refused_token_request_pauses_each_connector() {
    let url = token_server(StatusCode::UNAUTHORIZED, r#"{"error":"unauthorized"}"#).await;
    let marketo = MarketoClient::new(&MarketoConfig {
        base_url: url.clone(),
        ..MarketoConfig::default()
    })
    .expect("client");
    let salesforce = SalesforceClient::new(&SalesforceConfig {
        login_url: url,
        ..SalesforceConfig::default()
    })
    .expect("client");
    let results = [
        marketo.program(1001).await.err(),
        salesforce.query("SELECT Id FROM Campaign").await.err(),
    ];
    for (result, quota) in results
        .into_iter()
        .zip([marketo.quota(), salesforce.quota()])
    {
        match result {
            Some(CallError::Paused { reason, until_ms }) => {
                assert!(reason.contains("credentials refused"), "{reason}");
                assert!(until_ms > now_millis() + 60_000, "a pause of minutes");
            }
            other => panic!("expected a pause, got {other:?}"),
        }
        assert!(quota.paused(now_millis()).is_some());
    }
}

/// Credentials revoked mid-run (the simulator's `POST /__sim/credentials/revoke`): the live
/// token ends, the new token request is refused with `invalid_grant`, and the Salesforce side
/// pauses as for a rotated secret; the change waits, nothing dies.
#[tokio::test]
async fn credentials_revoked_mid_run_pause_the_side_and_the_change_waits() {
    let world = World::new().await;
    let (lead, sf_lead, _) = world.synced_person("revoked@example.com", "Invited").await;
    let revoked = reqwest::Client::new()
        .post(format!("{}/__sim/credentials/revoke", world.sf.base_url()))
        .json(&json!({ "clientId": INTEGRATION }))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 204);
    world.mk_sets(lead, "Registered");
    world.settle().await;
    let refused = world
        .sf
        .requests()
        .into_iter()
        .filter(|r| r.kind == "token" && r.client.as_deref() == Some(INTEGRATION))
        .filter_map(|r| r.error_code)
        .collect::<Vec<_>>();
    assert_eq!(refused, ["invalid_grant"], "one refusal, then the pause");
    let pause = world
        .app
        .worker
        .salesforce()
        .quota()
        .paused(now_millis())
        .expect("Salesforce is paused");
    assert!(
        pause.reason.contains("credentials refused"),
        "{}",
        pause.reason
    );
    assert!(world.app.store.dead(0, 10).await.unwrap().is_empty());
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Invited"),
        "the change waits"
    );
}
